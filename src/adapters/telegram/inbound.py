"""Telegram Update -> InboundMessage, or the reason it is ignored.

Only the fields the gateway uses are read and checked; everything else in the Update is left alone.
Telegram adds fields and object kinds over time, and its own samples omit fields that a full model
would demand, so a whole-Update model turns a well-formed update into a 400 that Telegram retries
and then drops. A field we use with the wrong type is a malformed body.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain import Attachment, Attribution, Channel, InboundMessage, MessageKind

MEDIA_LABELS = (
    ("photo", "[фото]"),
    ("video", "[видео]"),
    ("voice", "[голосовое сообщение]"),
    ("audio", "[аудио]"),
    ("document", "[файл]"),
    ("sticker", "[стикер]"),
    ("location", "[геопозиция]"),
    ("video_note", "[видеосообщение]"),
)


class MalformedUpdate(ValueError):
    """The body is not a Telegram Update, or a field the gateway reads has the wrong type."""


@dataclass(frozen=True)
class Ignored:
    reason: str


def _int(node: dict[str, Any], key: str, where: str) -> int:
    value = node.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedUpdate(f"not a Telegram Update: {where}.{key} must be an integer")
    return value


def _str(node: dict[str, Any], key: str, where: str) -> str | None:
    value = node.get(key)
    if value is not None and not isinstance(value, str):
        raise MalformedUpdate(f"not a Telegram Update: {where}.{key} must be a string")
    return value


def _obj(node: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value = node.get(key)
    if value is not None and not isinstance(value, dict):
        raise MalformedUpdate(f"not a Telegram Update: {where}.{key} must be an object")
    return value


@dataclass(frozen=True)
class _User:
    id: int
    is_bot: bool
    name: str | None
    username: str | None


def _user(node: dict[str, Any], where: str) -> _User:
    first, last = _str(node, "first_name", where), _str(node, "last_name", where)
    return _User(
        id=_int(node, "id", where),
        is_bot=node.get("is_bot") is True,  # Telegram's own samples omit it: a missing one is a human
        name=" ".join(part for part in (first, last) if part) or None,
        username=_str(node, "username", where),
    )


def _chat(message: dict[str, Any], where: str) -> tuple[int, str]:
    chat = _obj(message, "chat", where)
    if chat is None:
        raise MalformedUpdate(f"not a Telegram Update: {where}.chat is missing")
    return _int(chat, "id", f"{where}.chat"), _str(chat, "type", f"{where}.chat") or ""


def parse_update(raw: object, tenant: str, received_at: datetime) -> InboundMessage | Ignored:
    if not isinstance(raw, dict):
        raise MalformedUpdate("not a Telegram Update: not an object")
    update_id = _int(raw, "update_id", "update")
    message = _obj(raw, "message", "update")
    if message is not None:
        return _from_message(update_id, message, tenant, received_at)
    query = _obj(raw, "callback_query", "update")
    if query is not None:
        return _from_callback(update_id, query, tenant, received_at)
    if raw.get("edited_message") is not None:
        return Ignored("edited message")
    member = _obj(raw, "my_chat_member", "update")
    if member is not None:
        return _from_member_change(update_id, member, tenant, received_at)
    return Ignored("update kind not handled")


# In a private chat, `my_chat_member` arrives when the person blocks the bot (kicked) or allows it again.
MEMBER_KINDS = {"kicked": MessageKind.BLOCKED, "member": MessageKind.UNBLOCKED}


def _from_member_change(
    update_id: int, update: dict[str, Any], tenant: str, received_at: datetime
) -> InboundMessage | Ignored:
    chat_id, chat_type = _chat(update, "my_chat_member")
    sender_node = _obj(update, "from", "my_chat_member")
    new = _obj(update, "new_chat_member", "my_chat_member")
    if chat_type != "private" or sender_node is None or new is None:
        return Ignored("not a private chat's member change")
    kind = MEMBER_KINDS.get(str(new.get("status")))
    if kind is None:
        return Ignored("member change that does not block or allow the bot")
    sender = _user(sender_node, "my_chat_member.from")
    return InboundMessage(
        tenant=tenant,
        channel=Channel.TELEGRAM,
        chat_id=str(chat_id),
        sender_id=str(sender.id),
        dedupe_key=f"tg:{update_id}",
        message_id=f"member:{update_id}",
        sent_at=_sent_at(update.get("date"), received_at),
        received_at=received_at,
        kind=kind,
        sender_name=sender.name,
        sender_username=sender.username,
    )


def _start_payload(text: str, entities: object) -> tuple[bool, str | None]:
    """(is /start, payload) for a leading /start command; payload per the deep-link rules."""
    leading_command = isinstance(entities, list) and any(
        isinstance(e, dict) and e.get("type") == "bot_command" and e.get("offset") == 0 for e in entities
    )
    if not leading_command and not text.startswith("/start"):
        return False, None
    parts = text.split(maxsplit=1)
    if not parts or parts[0].split("@", 1)[0] != "/start":
        return False, None
    payload = parts[1].strip() if len(parts) > 1 else None
    return True, payload or None


def _from_message(
    update_id: int, message: dict[str, Any], tenant: str, received_at: datetime
) -> InboundMessage | Ignored:
    message_id = _int(message, "message_id", "message")
    chat_id, chat_type = _chat(message, "message")
    sender_node = _obj(message, "from", "message")
    if sender_node is None:
        return Ignored("no human sender")
    sender = _user(sender_node, "message.from")
    if sender.is_bot:
        return Ignored("no human sender")
    if chat_type != "private":
        return Ignored("not a private chat")
    text = _str(message, "text", "message") or ""
    is_start, payload = _start_payload(text, message.get("entities"))
    text = text or _str(message, "caption", "message") or ""
    phone: str | None = None
    contact = _obj(message, "contact", "message")
    if contact is not None:
        # Anyone's contact can be shared; only the client's own number is theirs.
        if contact.get("user_id") != sender.id:
            text, contact = "[чужой контакт]", None
        else:
            phone = _str(contact, "phone_number", "message.contact")
    if is_start:
        text = ""
    if not text and phone is None and not is_start:
        text = next((label for key, label in MEDIA_LABELS if message.get(key)), "")
        if not text:
            return Ignored("message with no content the bot reads")
    date = message.get("date")
    return InboundMessage(
        tenant=tenant,
        channel=Channel.TELEGRAM,
        chat_id=str(chat_id),
        sender_id=str(sender.id),
        dedupe_key=f"tg:{update_id}",
        message_id=str(message_id),
        sent_at=_sent_at(date, received_at),
        received_at=received_at,
        text=text,
        sender_name=sender.name,
        sender_username=sender.username,
        contact_phone=phone,
        attribution=Attribution(code=payload) if payload else None,
        files=_files(message),
    )


# What a file is called when Telegram gives no name (photos never have one).
_FILE_NAMES = {"photo": "фото.jpg", "video": "видео.mp4", "voice": "голосовое.ogg", "video_note": "видео.mp4"}


def _files(message: dict[str, Any]) -> tuple[Attachment, ...]:
    """The message's photo or file by Telegram's file_id (fetched with the bot's token when needed)."""
    for key in ("photo", "document", "video", "voice", "audio", "video_note"):
        node = message.get(key)
        if isinstance(node, list):  # a photo comes in sizes, the largest last
            node = next((size for size in reversed(node) if isinstance(size, dict)), None)
        if not isinstance(node, dict) or not isinstance(node.get("file_id"), str):
            continue
        name = node.get("file_name")
        shown = name if isinstance(name, str) and name else _FILE_NAMES.get(key, "файл")
        return (Attachment(name=shown[:100], ref=node["file_id"]),)
    return ()


def _sent_at(date: object, received_at: datetime) -> datetime:
    """Telegram's Unix seconds; a missing or impossible one is when we received the update."""
    if isinstance(date, int) and not isinstance(date, bool) and 0 < date < 253_402_300_800:  # before year 10000
        return datetime.fromtimestamp(date, UTC)
    return received_at


def _from_callback(
    update_id: int, query: dict[str, Any], tenant: str, received_at: datetime
) -> InboundMessage | Ignored:
    query_id = _str(query, "id", "callback_query")
    sender_node = _obj(query, "from", "callback_query")
    data = _str(query, "data", "callback_query")
    message = _obj(query, "message", "callback_query")
    if not query_id or sender_node is None:
        raise MalformedUpdate("not a Telegram Update: callback_query needs an id and a sender")
    if message is None or data is None:
        return Ignored("callback without a message or data")
    chat_id, chat_type = _chat(message, "callback_query.message")
    if chat_type != "private":
        return Ignored("not a private chat")
    sender = _user(sender_node, "callback_query.from")
    return InboundMessage(
        tenant=tenant,
        channel=Channel.TELEGRAM,
        chat_id=str(chat_id),
        sender_id=str(sender.id),
        dedupe_key=f"tg:{update_id}",
        message_id=f"cb:{query_id}",
        sent_at=received_at,
        received_at=received_at,
        button=data,
        callback_id=query_id,
        sender_name=sender.name,
        sender_username=sender.username,
    )
