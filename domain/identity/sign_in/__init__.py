"""Signing people in: passwords, second factors, sessions, e-mailed links and single sign-on."""
