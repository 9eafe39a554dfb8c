"""VK Callback API events (`{type, group_id, event_id, v, object, secret}`) as the gateway's messages.

`message_new` is a message (its text, attachments as labels, the vk.me link's `ref` as a deep-link code);
`message_event` is a callback button pressed (`payload` carries ours); `message_allow`/`message_deny` say
whether the community may write to the person. `event_id` is VK's own: a re-sent event is the same one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from domain import Attachment, Attribution, Channel, InboundMessage, MessageKind

ATTACHMENTS = {
    "photo": "[фото]",
    "video": "[видео]",
    "audio": "[аудио]",
    "audio_message": "[голосовое сообщение]",
    "doc": "[файл]",
    "sticker": "[стикер]",
    "link": "[ссылка]",
    "wall": "[запись со стены]",
    "market": "[товар]",
    "geo": "[место]",
}
BUTTON_KEY = "b"  # our payload inside a button's JSON payload: {"b": "v:c:17"}
GROUP_CHATS_FROM = 2_000_000_000  # VK numbers group chats' peer_id from here on: the bot speaks to persons only
LAST_SECOND = 253_402_300_800  # the year 10000: a `date` past it is no time at all


class VkMalformed(ValueError):
    """Not a Callback API event."""


@dataclass(frozen=True)
class VkBatch:
    confirmation: bool = False  # the handshake: answer with the confirmation string
    events: list[InboundMessage] = field(default_factory=list)
    ignored: str | None = None  # an event type the gateway does not act on


def envelope(raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise VkMalformed("a VK Callback API event is an object with a `type`")
    return raw


def _when(value: Any, now: datetime) -> datetime:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < LAST_SECOND:
        return datetime.fromtimestamp(value, UTC)
    return now


def _button(payload: Any) -> str | None:
    """Our payload from a button's: VK gives it as a JSON string (message_new) or an object (message_event)."""
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            return None
    value = payload.get(BUTTON_KEY) if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None


def _object(body: dict[str, Any]) -> dict[str, Any]:
    found = body.get("object")
    return found if isinstance(found, dict) else {}


def _message(tenant: str, body: dict[str, Any], event_id: str, now: datetime) -> InboundMessage:
    message = _object(body).get("message")
    if not isinstance(message, dict) or not isinstance(message.get("peer_id"), int):
        raise VkMalformed("message_new without object.message.peer_id")
    attachments = message.get("attachments")
    labels = [
        ATTACHMENTS.get(str(a.get("type")), "[вложение]")
        for a in (attachments if isinstance(attachments, list) else [])
        if isinstance(a, dict)
    ]
    text = " ".join(part for part in (str(message.get("text") or "").strip(), *labels) if part)
    ref = message.get("ref")
    attribution = None
    if isinstance(ref, str) and ref:
        source = message.get("ref_source")
        attribution = Attribution(code=ref[:64], description=f"vk.me ref {ref} ({source})" if source else None)
    sender = message.get("from_id", message["peer_id"])
    return InboundMessage(
        tenant=tenant,
        channel=Channel.VK,
        chat_id=str(message["peer_id"]),
        sender_id=str(sender),
        dedupe_key=event_id,
        message_id=str(message.get("conversation_message_id") or message.get("id") or event_id),
        sent_at=_when(message.get("date"), now),
        received_at=now,
        text=text,
        button=_button(message.get("payload")),
        attribution=attribution,
        files=_files(attachments),
    )


def _files(attachments: Any) -> tuple[Attachment, ...]:
    """Photos (the largest size) and documents, by the public links VK gives them."""
    found = []
    for item in attachments if isinstance(attachments, list) else []:
        kind = item.get("type") if isinstance(item, dict) else None
        node = item.get(kind) if isinstance(kind, str) else None
        if not isinstance(node, dict):
            continue
        if kind == "photo":
            sizes = [s for s in node.get("sizes") or [] if isinstance(s, dict) and isinstance(s.get("url"), str)]
            if sizes:
                largest = max(sizes, key=lambda s: int(s.get("width") or 0) * int(s.get("height") or 0))
                found.append(Attachment(name="фото.jpg", url=largest["url"]))
        elif kind == "doc" and isinstance(node.get("url"), str):
            found.append(Attachment(name=str(node.get("title") or "файл")[:100], url=node["url"]))
    return tuple(found)


def _pressed(tenant: str, body: dict[str, Any], event_id: str, now: datetime) -> InboundMessage:
    pressed = _object(body)
    if not isinstance(pressed.get("peer_id"), int):
        raise VkMalformed("message_event without object.peer_id")
    user, peer = pressed.get("user_id", pressed["peer_id"]), pressed["peer_id"]
    return InboundMessage(
        tenant=tenant,
        channel=Channel.VK,
        chat_id=str(peer),
        sender_id=str(user),
        dedupe_key=event_id,
        message_id=str(pressed.get("conversation_message_id") or event_id),
        sent_at=now,
        received_at=now,
        button=_button(pressed.get("payload")),
        # what messages.sendMessageEventAnswer needs to stop the button's spinner
        callback_id=f"{pressed.get('event_id', '')}:{user}:{peer}",
    )


def _permission(tenant: str, body: dict[str, Any], event_id: str, now: datetime, allowed: bool) -> InboundMessage:
    user = _object(body).get("user_id")
    if not isinstance(user, int):
        raise VkMalformed("message_allow/deny without object.user_id")
    return InboundMessage(
        tenant=tenant,
        channel=Channel.VK,
        chat_id=str(user),
        sender_id=str(user),
        dedupe_key=event_id,
        message_id=event_id,
        sent_at=now,
        received_at=now,
        kind=MessageKind.UNBLOCKED if allowed else MessageKind.BLOCKED,
    )


def parse_vk(body: dict[str, Any], tenant: str, now: datetime) -> VkBatch:
    kind = body["type"]
    if kind == "confirmation":
        return VkBatch(confirmation=True)
    event_id = body.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        raise VkMalformed("an event without `event_id`")
    if kind == "message_new":
        message = _message(tenant, body, event_id, now)
        return VkBatch(ignored="group chat") if int(message.chat_id) >= GROUP_CHATS_FROM else VkBatch(events=[message])
    if kind == "message_event":
        pressed = _pressed(tenant, body, event_id, now)
        if int(pressed.chat_id) >= GROUP_CHATS_FROM:
            return VkBatch(ignored="group chat")
        if pressed.button is None:  # a payload the gateway never sent: nothing was pressed that it knows
            return VkBatch(ignored="unknown button")
        return VkBatch(events=[pressed])
    if kind in ("message_allow", "message_deny"):
        return VkBatch(events=[_permission(tenant, body, event_id, now, kind == "message_allow")])
    return VkBatch(ignored=kind)
