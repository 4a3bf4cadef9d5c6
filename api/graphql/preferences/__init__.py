"""The GraphQL schema of people's own preferences: saved views."""
