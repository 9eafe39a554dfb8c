"""Entry points for a terminal: `lead-gateway` and its subcommands."""
