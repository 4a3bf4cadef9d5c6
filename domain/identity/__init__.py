"""Tenants, the people and machines that act in them, and how they sign in."""
