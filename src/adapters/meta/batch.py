"""What one Meta webhook POST holds once read: the client messages, and what was set aside."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError

from domain import InboundMessage

logger = logging.getLogger("adapters.meta")


class MalformedPayload(ValueError):
    """The body is not the envelope the channel sends."""


@dataclass
class Batch:
    events: list[InboundMessage] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)  # reason -> count
    statuses: Counter[str] = field(default_factory=Counter)  # WhatsApp delivery status -> count

    def read(self, channel: str, build: Callable[[], InboundMessage | str]) -> None:
        """Add one event, or the reason it is ignored; a malformed one is counted, never sinks the batch."""
        try:
            event = build()
        except (MalformedPayload, ValidationError, ValueError, TypeError, OverflowError) as exc:
            logger.warning("%s event skipped: %s", channel, str(exc).splitlines()[0])
            self.ignored["malformed message"] += 1
            return
        if isinstance(event, str):
            self.ignored[event] += 1
        else:
            self.events.append(event)


def as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def as_dict(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def text_of(value: object) -> str:
    return value if isinstance(value, str) else ""


def meta_time(value: object, fallback: datetime) -> datetime:
    """Unix seconds (WhatsApp, as a string), milliseconds (Instagram), or ISO 8601 (some tools)."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdecimal():
        value = int(value.strip()) if len(value.strip()) <= 20 else None  # past year 5e12: not a time
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value) if abs(value) < 1e20 else float("nan")
        if number > 1e11:  # milliseconds: 1e11 seconds is the year 5138
            number /= 1000
        try:
            return datetime.fromtimestamp(number, UTC)
        except (OverflowError, OSError, ValueError):  # nan, or beyond the calendar
            return fallback
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("+0000", "+00:00"))
        except ValueError:
            return fallback
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return fallback


MEDIA_LABELS = {
    "image": "[фото]",
    "video": "[видео]",
    "audio": "[аудио]",
    "voice": "[голосовое сообщение]",
    "document": "[файл]",
    "file": "[файл]",
    "sticker": "[стикер]",
    "location": "[геопозиция]",
    "contacts": "[контакт]",
    "share": "[пересланный пост]",
    "ig_post": "[пост]",
    "ig_reel": "[reels]",
    "reel": "[reels]",
    "story_mention": "[упоминание в истории]",
    "story": "[история]",
    "ig_story": "[история]",
    "order": "[заказ]",
    "unsupported": "[сообщение, которое платформа не показывает]",
}
