"""The channel through the API: the partner network, leads and deal registrations."""
