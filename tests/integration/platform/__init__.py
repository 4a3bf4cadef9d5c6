"""The platform: the GraphQL contract, limits, faults, idempotency, the CLI, migrations, the demo."""
