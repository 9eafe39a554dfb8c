"""How fast, and when, the bot's own messages go: one pace per bot, under the platform's limit, and a
burst of reminders due at once spread out before their moment so that none arrives late."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain import DueReminder

PER_SECOND = 25.0  # per bot: under Telegram's ~30 messages a second, so a busy minute meets no 429
# A reminder may go this much before its moment when a burst needs it to, never more: «за 24 часа»
# a minute early reads the same; a minute late at the end of a 1,000-strong burst would not be.
EARLY_AT_MOST = timedelta(seconds=60)


@dataclass
class Pacer:
    """Spaces the messages of one bot `1 / per_second` apart (one drain runs at a time)."""

    per_second: float = PER_SECOND
    _next: dict[str, float] = field(default_factory=dict)

    async def wait(self, bot: str) -> None:
        now = time.monotonic()
        at = max(now, self._next.get(bot, now))
        self._next[bot] = at + 1 / self.per_second
        if at > now:
            await asyncio.sleep(at - now)


def send_moments(
    batch: Sequence[DueReminder], per_second: float, early_at_most: timedelta = EARLY_AT_MOST
) -> dict[int, datetime]:
    """When each reminder should go: at its moment, unless the ones after it on the same bot need it to go
    sooner for the bot's pace to finish them on time; never more than `early_at_most` early. Worked back
    from the last of each bot's run, so a lone reminder goes exactly at its moment."""
    gap = timedelta(seconds=1 / per_second)
    by_bot: dict[str, list[DueReminder]] = defaultdict(list)
    for due in batch:
        by_bot[due.sender].append(due)
    moments: dict[int, datetime] = {}
    for dues in by_bot.values():
        following: datetime | None = None
        for due in sorted(dues, key=lambda d: (d.due_at, d.id), reverse=True):
            at = due.due_at if following is None else min(due.due_at, following - gap)
            moments[due.id] = following = max(at, due.due_at - early_at_most)
    return moments
