"""The channel: the partner network, leads, web forms and deal registrations."""
