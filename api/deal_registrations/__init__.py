"""GraphQL for deal registrations."""
