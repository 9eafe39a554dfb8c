"""Outreach: the messages the bot starts (reminders, notices, offers), when and how fast they go."""
