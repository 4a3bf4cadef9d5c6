"""Mail delivery: the outbox's messages handed to an SMTP server by the worker."""
