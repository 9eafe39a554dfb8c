"""Telegram Update (aiogram's types) -> InboundMessage, or the reason it is ignored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aiogram.types import CallbackQuery, Message, Update
from pydantic import ValidationError

from domain import Attribution, Channel, InboundMessage


class MalformedUpdate(ValueError):
    """The body is not a Telegram Update."""


@dataclass(frozen=True)
class Ignored:
    reason: str


def parse_update(raw: object, tenant: str, received_at: datetime) -> InboundMessage | Ignored:
    if not isinstance(raw, dict) or "update_id" not in raw:
        raise MalformedUpdate("not a Telegram Update: update_id is missing")
    try:
        update = Update.model_validate(_with_is_bot(raw))
    except ValidationError as exc:
        raise MalformedUpdate(f"not a Telegram Update: {exc.error_count()} invalid field(s)") from None
    if update.message is not None:
        return _from_message(update.update_id, update.message, tenant, received_at)
    if update.callback_query is not None:
        return _from_callback(update.update_id, update.callback_query, tenant, received_at)
    if update.edited_message is not None:
        return Ignored("edited message")
    return Ignored("update kind not handled")


def _with_is_bot(node: object) -> object:
    """Telegram's own webhook examples omit `User.is_bot`; read a missing one as a human."""
    if isinstance(node, dict):
        fixed = {k: _with_is_bot(v) for k, v in node.items()}
        sender = fixed.get("from")
        if isinstance(sender, dict):
            sender.setdefault("is_bot", False)
        return fixed
    if isinstance(node, list):
        return [_with_is_bot(v) for v in node]
    return node


def _display_name(first: str | None, last: str | None) -> str | None:
    name = " ".join(part for part in (first, last) if part)
    return name or None


def _start_payload(message: Message) -> tuple[bool, str | None]:
    """(is /start, payload) for a leading /start command; payload per the deep-link rules."""
    text = message.text or ""
    entities = message.entities or []
    if not any(e.type == "bot_command" and e.offset == 0 for e in entities) and not text.startswith("/start"):
        return False, None
    parts = text.split(maxsplit=1)
    command = parts[0].split("@", 1)[0]
    if command != "/start":
        return False, None
    payload = parts[1].strip() if len(parts) > 1 else None
    return True, payload or None


def _from_message(update_id: int, message: Message, tenant: str, received_at: datetime) -> InboundMessage | Ignored:
    sender = message.from_user
    if sender is None or sender.is_bot:
        return Ignored("no human sender")
    if message.chat.type != "private":
        return Ignored("not a private chat")
    is_start, payload = _start_payload(message)
    text = message.text or message.caption or ""
    phone: str | None = None
    if message.contact is not None:
        # Anyone's contact can be shared; only the client's own number is theirs.
        if message.contact.user_id != sender.id:
            return _event(update_id, message, tenant, received_at, text="[чужой контакт]")
        phone = message.contact.phone_number
    if is_start:
        text = ""
    if not text and phone is None and not is_start:
        text = _media_label(message)
        if not text:
            return Ignored("message with no content the bot reads")
    attribution = Attribution(code=payload) if payload else None
    return _event(update_id, message, tenant, received_at, text=text, phone=phone, attribution=attribution)


def _media_label(message: Message) -> str:
    for attr, label in (
        ("photo", "[фото]"),
        ("video", "[видео]"),
        ("voice", "[голосовое сообщение]"),
        ("audio", "[аудио]"),
        ("document", "[файл]"),
        ("sticker", "[стикер]"),
        ("location", "[геопозиция]"),
        ("video_note", "[видеосообщение]"),
    ):
        if getattr(message, attr, None):
            return label
    return ""


def _event(
    update_id: int,
    message: Message,
    tenant: str,
    received_at: datetime,
    *,
    text: str,
    phone: str | None = None,
    attribution: Attribution | None = None,
) -> InboundMessage:
    sender = message.from_user
    assert sender is not None  # noqa: S101 - checked by the caller
    return InboundMessage(
        tenant=tenant,
        channel=Channel.TELEGRAM,
        chat_id=str(message.chat.id),
        sender_id=str(sender.id),
        dedupe_key=f"tg:{update_id}",
        message_id=str(message.message_id),
        sent_at=_aware(message.date),
        received_at=received_at,
        text=text,
        sender_name=_display_name(sender.first_name, sender.last_name),
        sender_username=sender.username,
        contact_phone=phone,
        attribution=attribution,
    )


def _from_callback(
    update_id: int, query: CallbackQuery, tenant: str, received_at: datetime
) -> InboundMessage | Ignored:
    if query.message is None or query.data is None:
        return Ignored("callback without a message or data")
    chat = query.message.chat
    if chat.type != "private":
        return Ignored("not a private chat")
    return InboundMessage(
        tenant=tenant,
        channel=Channel.TELEGRAM,
        chat_id=str(chat.id),
        sender_id=str(query.from_user.id),
        dedupe_key=f"tg:{update_id}",
        message_id=f"cb:{query.id}",
        sent_at=received_at,
        received_at=received_at,
        button=query.data,
        callback_id=query.id,
        sender_name=_display_name(query.from_user.first_name, query.from_user.last_name),
        sender_username=query.from_user.username,
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
