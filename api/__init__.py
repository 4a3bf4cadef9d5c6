"""The edge: Starlette app, GraphQL schema, authentication and the `crm` command line."""
