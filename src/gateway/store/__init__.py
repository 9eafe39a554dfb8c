"""Redis hot state: key names and lifetimes, the durable queue, conversations, dead letters, health."""
