"""Saved views over GraphQL: a person's named list filters."""
