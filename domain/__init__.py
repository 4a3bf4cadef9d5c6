"""The business of channel-crm: models, rules, use cases and typed errors.

Nothing here knows about HTTP, GraphQL or Casbin.
"""
