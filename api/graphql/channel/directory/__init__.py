"""GraphQL for directory."""
