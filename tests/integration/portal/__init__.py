"""The partner portal: its API needs, its shell, and the browser journeys."""
