"""The ERP: the outbox, inbound status, the Tryton adapter, and faults."""
