"""Alembic migrations for the channel-crm schema."""
