"""GraphQL plumbing shared by every concept: context, Relay helpers, loaders, errors, limits."""
