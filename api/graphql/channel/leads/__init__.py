"""Leads, routing rules and web forms over GraphQL."""
