"""People: a person's word about the bot's offers, and erasing what is held on them."""
