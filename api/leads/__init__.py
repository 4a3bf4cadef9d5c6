"""GraphQL and public endpoints for leads, routing and web forms."""
