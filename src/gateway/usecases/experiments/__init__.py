"""Experiments: who gets which variant, what was delivered, and what the owner may conclude."""
