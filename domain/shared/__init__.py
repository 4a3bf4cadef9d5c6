"""What every concept builds on: the declarative base, typed errors, money, text, pagination, versions."""
