"""Mail to people: the outbox it is written to, and the texts of each kind in English and Simplified Chinese."""
