"""GraphQL for pipelines."""
