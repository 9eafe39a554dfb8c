"""An Instagram messaging webhook POST -> the client messages in it (every entry and messaging item)."""

from __future__ import annotations

import logging
from datetime import datetime

from adapters.meta.batch import (
    MEDIA_LABELS,
    Batch,
    MalformedPayload,
    as_dict,
    as_list,
    meta_time,
    text_of,
)
from domain import Attachment, Attribution, Channel, InboundMessage

logger = logging.getLogger("adapters.instagram")

_FLAGS_IGNORED = (("is_echo", "echo"), ("is_deleted", "deleted"), ("is_self", "self"), ("is_unsupported", None))


def parse_instagram(raw: object, tenant: str, account_id: str, received_at: datetime) -> Batch:
    if not isinstance(raw, dict) or not isinstance(raw.get("entry"), list):
        raise MalformedPayload("not an Instagram webhook: entry[] is missing")
    batch = Batch()
    for entry_raw in as_list(raw["entry"]):
        entry = as_dict(entry_raw)
        # Handover: events in standby belong to the app that owns the thread now; not ours to answer.
        standby = len(as_list(entry.get("standby")))
        if standby:
            batch.ignored["standby"] += standby
        items = [as_dict(i) for i in as_list(entry.get("messaging"))]
        # The dashboard's Test button sends the same item under changes[].value.
        items += [
            as_dict(as_dict(c).get("value"))
            for c in as_list(entry.get("changes"))
            if as_dict(c).get("field") == "messages"
        ]
        for item in items:
            _read_item(item, str(entry.get("id", "")), tenant, account_id, received_at, batch)
    return batch


def _read_item(
    item: dict[str, object], entry_id: str, tenant: str, account_id: str, received_at: datetime, batch: Batch
) -> None:
    message = as_dict(item.get("message"))
    if message.get("is_echo"):  # checked first: an echo's recipient is the client, not us
        batch.ignored["echo"] += 1
        return
    recipient = str(as_dict(item.get("recipient")).get("id", ""))
    if account_id not in (entry_id, recipient):
        batch.ignored["other account"] += 1
        return
    batch.read("instagram", lambda: _event(item, tenant, received_at))


def _message_text(message: dict[str, object]) -> str:
    text = text_of(message.get("text"))
    labels = [
        MEDIA_LABELS.get(text_of(as_dict(a).get("type")), "[вложение]") for a in as_list(message.get("attachments"))
    ]
    if as_dict(as_dict(message.get("reply_to")).get("story")):
        labels.insert(0, "[ответ на историю]")
    return " ".join([*labels, text]).strip()


def _referral(referral: dict[str, object]) -> Attribution | None:
    if not referral:
        return None
    ref = text_of(referral.get("ref")) or None
    ad_id = text_of(referral.get("ad_id")) or None
    title = text_of(as_dict(referral.get("ads_context_data")).get("ad_title")) or None
    details = [f"{k}={v}" for k, v in (("source", referral.get("source")), ("ad_id", ad_id), ("ref", ref)) if v]
    if title:
        details.append(f"ad_title={title}")
    if ad_id is None:  # an ig.me link: only the ref says where the client came from
        return Attribution(code=ref, description="Instagram, ссылка ig.me: " + ", ".join(details))
    return Attribution(
        code=ref,
        utm_source="instagram",
        utm_medium="paid",
        utm_content=ad_id,
        utm_campaign=title or ref,
        description="Instagram-реклама: " + ", ".join(details),
    )


def _event(item: dict[str, object], tenant: str, received_at: datetime) -> InboundMessage | str:
    sender = str(as_dict(item.get("sender")).get("id", ""))
    if not sender:
        raise MalformedPayload("item without sender.id")
    sent_at = meta_time(item.get("timestamp"), received_at)
    message, postback = as_dict(item.get("message")), as_dict(item.get("postback"))
    referral = as_dict(item.get("referral"))
    button: str | None = None
    if message:
        for flag, reason in _FLAGS_IGNORED:
            if message.get(flag) and reason:
                return reason
        mid, text = text_of(message.get("mid")), _message_text(message)
        button = text_of(as_dict(message.get("quick_reply")).get("payload")) or None
        referral = as_dict(message.get("referral")) or referral
        if not text and message.get("is_unsupported"):
            text = MEDIA_LABELS["unsupported"]
    elif postback:
        mid, text = text_of(postback.get("mid")), text_of(postback.get("title"))
        button = text_of(postback.get("payload")) or None
    elif referral:  # the client opened the thread from an ig.me link or an ad, with no message yet
        mid, text = f"ref:{sender}:{int(sent_at.timestamp() * 1000)}", ""
    else:
        kinds = sorted(k for k, v in item.items() if v and k not in ("sender", "recipient", "timestamp"))
        return f"event {kinds[0] if kinds else 'empty'}"
    if not mid:
        raise MalformedPayload("message without mid")
    return InboundMessage(
        tenant=tenant,
        channel=Channel.INSTAGRAM,
        chat_id=sender,
        sender_id=sender,
        dedupe_key=f"ig:{mid}",
        message_id=mid,
        sent_at=sent_at,
        received_at=received_at,
        text=text,
        button=button,
        attribution=_referral(referral),
        files=_files(message),
    )


def _files(message: dict[str, object]) -> tuple[Attachment, ...]:
    """Images and files by the CDN links Instagram gives them."""
    found = []
    for item in as_list(message.get("attachments")):
        url = text_of(as_dict(as_dict(item).get("payload")).get("url"))
        if url:
            name = "фото.jpg" if text_of(as_dict(item).get("type")) == "image" else "файл"
            found.append(Attachment(name=name, url=url))
    return tuple(found)
