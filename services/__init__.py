"""The service layer: units of work that own a transaction, and the use cases that span several concepts.

The API calls a use case here, or a domain use case inside `unit_of_work`; either way the unit of work opens the
session, commits when the block ends normally and rolls back on any error.
"""
