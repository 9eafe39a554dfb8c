"""Bitrix24's message providers (`messageservice.*`) in its own terms: what its handler call carries when
a robot, a workflow or a manager's "send SMS" sends through an app's provider, and the statuses the app
reports back. Written from the REST documents (messageservice.sender.add, message.status.update)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """What `messageservice.message.status.update` takes (there is no other)."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


class OwnerType:
    """CRM entity type ids, as `bindings[][OWNER_TYPE_ID]` gives them and `ownerTypeId` (to-dos) takes them."""

    LEAD = 1
    DEAL = 2
    CONTACT = 3
    COMPANY = 4


@dataclass(frozen=True)
class ProviderMessage:
    """One message Bitrix24 asks the provider to send."""

    message_id: str  # Bitrix24's: the key of its status, and of sending it once
    code: str  # the provider's CODE it was sent through
    to: str  # the number, as the CRM holds it
    text: str
    module: str  # "crm" (a card, a manager) or "bizproc" (a robot, a workflow)
    bindings: tuple[tuple[int, int], ...] = ()  # (OWNER_TYPE_ID, OWNER_ID) of the CRM records it belongs to


def provider_message(form: Mapping[str, Any]) -> ProviderMessage | None:
    """The handler call's message (form-encoded or JSON), or None when an id, the number or the text is missing."""
    properties = form.get("properties") if isinstance(form.get("properties"), dict) else {}
    assert isinstance(properties, dict)  # noqa: S101 - narrowed above
    message_id = str(form.get("message_id") or "").strip()
    to = str(form.get("message_to") or properties.get("phone_number") or "").strip()
    text = str(form.get("message_body") or properties.get("message_text") or "")
    if not message_id or len(message_id) > 128 or not to or not text.strip():
        return None
    return ProviderMessage(
        message_id=message_id,
        code=str(form.get("code") or ""),
        to=to,
        text=text,
        module=str(form.get("module_id") or ""),
        bindings=_bindings(form.get("bindings")) + _document(form.get("document_id")),
    )


def _bindings(value: Any) -> tuple[tuple[int, int], ...]:
    items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else []
    found = []
    for item in items:
        if not isinstance(item, dict):
            continue
        kind, owner = _id(item.get("OWNER_TYPE_ID")), _id(item.get("OWNER_ID"))
        if kind is not None and owner is not None:
            found.append((kind, owner))
    return tuple(found)


_DOCUMENT = re.compile(r"^(DEAL|CONTACT|LEAD|COMPANY)_(\d{1,18})$")
_DOCUMENT_TYPES = {"DEAL": OwnerType.DEAL, "CONTACT": OwnerType.CONTACT, "LEAD": OwnerType.LEAD}


def _document(value: Any) -> tuple[tuple[int, int], ...]:
    """A workflow's document (`["crm", "CCrmDocumentDeal", "DEAL_123"]`) as a binding."""
    items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else []
    last = str(items[-1]) if items else ""
    match = _DOCUMENT.match(last)
    if match is None or match.group(1) not in _DOCUMENT_TYPES:
        return ()
    return ((_DOCUMENT_TYPES[match.group(1)], int(match.group(2))),)


def _id(value: Any) -> int | None:
    text = str(value).strip() if isinstance(value, str | int) else ""
    return int(text) if text.isascii() and text.isdecimal() and len(text) <= 18 else None
