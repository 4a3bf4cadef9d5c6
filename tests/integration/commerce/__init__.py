"""Lead to cash through the API: quotes, orders, contracts and billing."""
