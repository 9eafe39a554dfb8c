"""A WhatsApp Cloud API webhook POST -> the client messages in it (every entry, change and message)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from functools import partial

from adapters.meta.batch import (
    MEDIA_LABELS,
    Batch,
    MalformedPayload,
    as_dict,
    as_list,
    meta_time,
    text_of,
)
from domain import Attachment, Attribution, Channel, InboundMessage, MessageKind

logger = logging.getLogger("adapters.whatsapp")

IGNORED_TYPES = frozenset({"reaction", "system", "request_welcome", "ephemeral"})


def parse_whatsapp(raw: object, tenant: str, phone_number_id: str, received_at: datetime) -> Batch:
    if not isinstance(raw, dict) or not isinstance(raw.get("entry"), list):
        raise MalformedPayload("not a WhatsApp webhook: entry[] is missing")
    batch = Batch()
    for entry in as_list(raw["entry"]):
        for change in as_list(as_dict(entry).get("changes")):
            _read_change(as_dict(change), tenant, phone_number_id, received_at, batch)
    return batch


def _read_change(change: dict[str, object], tenant: str, own_id: str, received_at: datetime, batch: Batch) -> None:
    value = as_dict(change.get("value"))
    if change.get("field") != "messages":
        batch.ignored[f"field {change.get('field')}"] += 1
        return
    messages, statuses = as_list(value.get("messages")), as_list(value.get("statuses"))
    if str(as_dict(value.get("metadata")).get("phone_number_id", "")) != own_id:
        # another number of the same app: never answered from this tenant's number
        batch.ignored["other phone number"] += len(messages) + len(statuses)
        return
    for status in statuses:
        batch.statuses[str(as_dict(status).get("status", "unknown"))] += 1
    for error in as_list(value.get("errors")):
        logger.warning("whatsapp reported an error: %s", as_dict(error).get("title") or as_dict(error).get("code"))
        batch.ignored["platform error"] += 1
    contacts = [as_dict(c) for c in as_list(value.get("contacts"))]
    for message in messages:
        batch.read("whatsapp", partial(_event, as_dict(message), contacts, tenant, received_at))


def _contact_for(message: dict[str, object], contacts: list[dict[str, object]]) -> dict[str, object]:
    for contact in contacts:
        if message.get("from_user_id") and contact.get("user_id") == message.get("from_user_id"):
            return contact
        if message.get("from") and contact.get("wa_id") == message.get("from"):
            return contact
    return contacts[0] if len(contacts) == 1 else {}


def _content(message: dict[str, object]) -> tuple[str, str | None]:
    """(text, button payload) for each message type; media kept as a label, not dropped."""
    kind = text_of(message.get("type"))
    body = as_dict(message.get(kind))
    if kind == "text":
        return text_of(body.get("body")), None
    if kind == "interactive":
        if body.get("type") == "nfm_reply" or "nfm_reply" in body:
            return _flow_answers(as_dict(body.get("nfm_reply"))), None
        reply = as_dict(body.get("button_reply")) or as_dict(body.get("list_reply"))
        return text_of(reply.get("title")), text_of(reply.get("id")) or None
    if kind == "button":  # a quick-reply button of a template
        return text_of(body.get("text")), text_of(body.get("payload")) or None
    label = MEDIA_LABELS.get(kind, f"[{kind or 'сообщение'}]")
    caption = text_of(body.get("caption"))
    return (f"{label} {caption}" if caption else label), None


def _flow_answers(reply: dict[str, object]) -> str:
    """A WhatsApp Flow's submitted form, as lines a manager can read ("Форма: date: 2026-12-01; ...")."""
    try:
        answers = json.loads(text_of(reply.get("response_json")) or "{}")
    except (ValueError, RecursionError):
        answers = None
    if not isinstance(answers, dict):
        return "[форма] " + (text_of(reply.get("response_json")) or text_of(reply.get("body")))[:1000]
    shown = [f"{key}: {_answer(value)}" for key, value in answers.items() if key != "flow_token"]
    return "[форма] " + ("; ".join(shown) if shown else text_of(reply.get("body")) or "отправлена")


def _answer(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(_answer(v) for v in value)
    return text_of(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _referral(message: dict[str, object]) -> Attribution | None:
    referral = as_dict(message.get("referral"))
    if not referral:
        return None
    source_id = text_of(referral.get("source_id")) or None
    headline = text_of(referral.get("headline")) or None
    details = [
        f"{key}={text_of(referral.get(key))}"
        for key in ("source_type", "source_id", "source_url", "headline", "ctwa_clid")
        if text_of(referral.get(key))
    ]
    return Attribution(
        utm_source="whatsapp",
        utm_medium="paid",
        utm_content=source_id,
        utm_campaign=headline,
        description="WhatsApp-реклама: " + ", ".join(details),
    )


def _event(
    message: dict[str, object], contacts: list[dict[str, object]], tenant: str, received_at: datetime
) -> InboundMessage | str:
    kind = text_of(message.get("type"))
    if kind in IGNORED_TYPES:
        return f"type {kind}"
    wamid = text_of(message.get("id"))
    contact = _contact_for(message, contacts)
    # BSUID first: it stays when the client adopts a username and wa_id disappears
    user = text_of(message.get("from_user_id")) or text_of(contact.get("user_id"))
    wa_id = text_of(message.get("from")) or text_of(contact.get("wa_id"))
    if not wamid or not (user or wa_id):
        raise MalformedPayload("message without id or sender")
    kind_of, original = MessageKind.MESSAGE, None
    if kind in ("edit", "revoke"):  # the client changed or deleted an earlier message
        change = as_dict(message.get(kind))
        original = text_of(change.get("original_message_id")) or None
        kind_of = MessageKind.EDIT if kind == "edit" else MessageKind.REVOKE
        edited = as_dict(change.get("message"))
        text, button = _content(edited) if kind == "edit" and edited else ("", None)
    else:
        text, button = _content(message)
    profile = as_dict(contact.get("profile"))
    username = text_of(profile.get("username")).lstrip("@") or None
    return InboundMessage(
        tenant=tenant,
        channel=Channel.WHATSAPP,
        chat_id=user or wa_id,
        sender_id=user or wa_id,
        dedupe_key=f"wa:{wamid}",
        message_id=wamid,
        sent_at=meta_time(message.get("timestamp"), received_at),
        received_at=received_at,
        text=text,
        button=button,
        sender_name=text_of(profile.get("name")) or None,
        sender_username=username,
        sender_phone=f"+{wa_id}" if wa_id.isdigit() else None,
        attribution=_referral(message),
        kind=kind_of,
        original_message_id=original,
        files=_files(message),
    )


_FILE_NAMES = {"image": "фото.jpg", "video": "видео.mp4", "audio": "аудио", "voice": "голосовое.ogg"}


def _files(message: dict[str, object]) -> tuple[Attachment, ...]:
    """A photo or file by its media id (fetched through Graph with the token when opened)."""
    kind = text_of(message.get("type"))
    body = as_dict(message.get(kind))
    media_id = text_of(body.get("id"))
    if kind not in ("image", "video", "audio", "voice", "document", "sticker") or not media_id:
        return ()
    name = text_of(body.get("filename")) or _FILE_NAMES.get(kind, "файл")
    return (Attachment(name=name[:100], ref=media_id),)
