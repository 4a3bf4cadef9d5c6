"""What people keep for themselves: saved views."""
