"""What the CRM use cases work with, for one tenant, and the small readers they share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

from bitrix.batcher import Batcher
from gateway.settings import TenantConfig
from gateway.store.conversations import DialogueState, TimelineEntry

if TYPE_CHECKING:
    from gateway.usecases.visits.appointments import Appointments


ORIGINATOR = "lead-gateway"


COMMENTS_PER_SYNC = 40  # with a contact, a deal and updates, a group stays within a batch's 50


@dataclass(frozen=True)
class CrmContext:
    redis: Redis
    crm: Batcher
    tenant: TenantConfig
    service_names: dict[str, str]
    tenant_id: str = ""
    portal: str = ""  # which portal the ids we keep belong to (a digest of its webhook URL)
    appointments: Appointments | None = None  # with `lifecycle:`: the visit goes on the deal

    @property
    def scope(self) -> str:
        """Whose remembered ids: this tenant's, in this portal; another portal's ids mean nothing here."""
        return f"{self.tenant_id}@{self.portal}"


def identity_value(state: DialogueState) -> str:
    """The channel identity kept on the contact's IM field; stable, so it can be searched."""
    return f"{state.channel}:{state.sender_id}"


def int_id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def comment_text(entry: TimelineEntry) -> str:
    return f"[{entry.at:%d.%m %H:%M}] {entry.author}: {entry.text}"
