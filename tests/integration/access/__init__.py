"""Access: the table of roles, records and operations; field rules; explanations."""
