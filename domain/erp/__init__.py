"""What the CRM owes the ERP and what it heard back: the outbox and status changes."""
