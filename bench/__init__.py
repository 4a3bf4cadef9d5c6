"""Seeded data generation and benchmarks of the API against a raw-SQL floor."""
