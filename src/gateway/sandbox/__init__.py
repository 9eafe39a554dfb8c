"""Stand-ins for outside services that `make run` mounts (the Bot API); they import nothing of the app."""
