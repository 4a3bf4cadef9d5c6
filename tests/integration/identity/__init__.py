"""Signing in: passwords, second factors, sessions, invitations, mail and single sign-on."""
