"""GraphQL for opportunities."""
