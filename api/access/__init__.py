"""GraphQL for explaining access."""
