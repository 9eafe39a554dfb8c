"""A visit as the business store keeps it, where its client is written to, and an agenda entry that has
come due: plain records the use cases and the store pass between them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.appointments import ACTIVE


@dataclass(frozen=True)
class Visit:
    id: int
    tenant: str
    portal: str
    deal_id: int | None
    conversation: str
    start_at: datetime
    end_at: datetime
    services: tuple[str, ...]
    status: str
    channel: str = ""
    chat_id: str = ""
    reply_phone: str | None = None
    resource_id: int | None = None
    booking_id: int | None = None
    booking_start: datetime | None = None
    phone: str | None = None
    discount_percent: int | None = None
    recovered_from: int | None = None
    revenue: float | None = None
    manager_id: int | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass(frozen=True)
class Address:
    """Where the client of a visit is written to."""

    channel: str
    chat_id: str
    reply_phone: str | None = None


@dataclass(frozen=True)
class DueReminder:
    id: int
    visit_id: int
    kind: str
    due_at: datetime
    sender: str = ""  # `tenant:channel`: the bot that sends it (one pace per bot)
