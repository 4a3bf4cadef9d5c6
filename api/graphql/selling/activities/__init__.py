"""GraphQL for activities."""
