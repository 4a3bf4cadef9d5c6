"""The GraphQL schema of the channel: the partner network, leads and deal registrations."""
