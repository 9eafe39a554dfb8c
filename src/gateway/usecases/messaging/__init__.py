"""Messaging: one way out for every message meant for a person, whichever channel takes it."""
