"""Entry points for queued work: the arq workers, their retry and dead-letter policy, Telegram polling."""
