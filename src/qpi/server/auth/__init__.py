"""Passwords, sessions, API tokens, CSRF and rate limits."""
