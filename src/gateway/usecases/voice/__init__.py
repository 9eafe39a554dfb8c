"""Voice: every text the bot says is read through `say`, so its wording can change in one place."""
