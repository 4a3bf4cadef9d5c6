"""Reads answered by one compiled SQL statement instead of field-by-field resolvers (see services.compiled_reads)."""
