"""GraphQL for audit."""
