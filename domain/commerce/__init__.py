"""Lead to cash: catalogue, quotes, orders, contracts, receivables and credit."""
