"""The GraphQL schema of identity: sign-in settings, sessions and single sign-on."""
