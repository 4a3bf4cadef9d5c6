"""Authentication: signing keys, bearer tokens, the request middleware and the OAuth2 token endpoint."""
