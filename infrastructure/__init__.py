"""Infrastructure: PostgreSQL engines and sessions, and migrations."""
