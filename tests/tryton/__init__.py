"""A real Tryton 8.2 server for tests: its virtual environment, a seeded template database, back-office steps."""
