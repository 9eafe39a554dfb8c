"""Conversation: a client's message answered at once, forms that name a known client, the ad a client came from."""
