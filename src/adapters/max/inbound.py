"""MAX Bot API updates (`{update_type, timestamp, ...}`, times in milliseconds) as the gateway's messages.

`message_created`: a message (`message.sender`, `message.recipient.chat_id`, `message.body.mid/text`,
attachments as labels); `message_callback`: an inline button pressed (`callback.callback_id`,
`callback.user`, `callback.payload`, the message it was on); `bot_started`: the client opened the bot,
its `payload` a deep-link code; `bot_stopped`: the client stopped it. Others are ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain import Attachment, Attribution, Channel, InboundMessage, MessageKind

ATTACHMENTS = {
    "image": "[фото]",
    "video": "[видео]",
    "audio": "[аудио]",
    "file": "[файл]",
    "sticker": "[стикер]",
    "location": "[место]",
    "contact": "[контакт]",
    "share": "[ссылка]",
}


class MaxMalformed(ValueError):
    """Not a MAX update the gateway can read."""


class MaxIgnored(Exception):
    """An update type the gateway does not act on."""


LAST_MILLISECOND = 253_402_300_800_000  # the year 10000: a timestamp past it is no time at all


def _when(value: Any, now: datetime) -> datetime:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < LAST_MILLISECOND:
        return datetime.fromtimestamp(value / 1000, UTC)
    return now


def _in_group(message: dict[str, Any]) -> bool:
    """A message in a group chat or a channel (`recipient.chat_type` other than `dialog`): not to a person."""
    recipient = message.get("recipient")
    kind = recipient.get("chat_type") if isinstance(recipient, dict) else None
    return isinstance(kind, str) and kind != "dialog"


def _user(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("user_id"), int):
        raise MaxMalformed("an update without its user's `user_id`")
    return raw


def _name(user: dict[str, Any]) -> str | None:
    name = user.get("name") or " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)
    return str(name) if name else None


def _chat(message: dict[str, Any], user_id: int) -> str:
    recipient = message.get("recipient") if isinstance(message.get("recipient"), dict) else {}
    chat = recipient.get("chat_id") if isinstance(recipient, dict) else None
    return str(chat if isinstance(chat, int) else user_id)


def parse_max(update: object, tenant: str, now: datetime) -> InboundMessage:
    if not isinstance(update, dict) or not isinstance(update.get("update_type"), str):
        raise MaxMalformed("a MAX update is an object with `update_type`")
    kind, at = update["update_type"], _when(update.get("timestamp"), now)
    if kind == "message_created":
        message = update.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("body"), dict):
            raise MaxMalformed("message_created without message.body")
        if _in_group(message):
            raise MaxIgnored("group chat")
        sender, body = _user(message.get("sender")), message["body"]
        attachments = body.get("attachments")
        attached = [
            a
            for a in (attachments if isinstance(attachments, list) else [])
            if isinstance(a, dict) and a.get("type") != "inline_keyboard"
        ]
        labels = [ATTACHMENTS.get(str(a.get("type")), "[вложение]") for a in attached]
        text = " ".join(part for part in (str(body.get("text") or "").strip(), *labels) if part)
        mid = str(body.get("mid") or "")
        if not mid:
            raise MaxMalformed("message_created without body.mid")
        return InboundMessage(
            tenant=tenant,
            channel=Channel.MAX,
            chat_id=_chat(message, sender["user_id"]),
            sender_id=str(sender["user_id"]),
            dedupe_key=mid,
            message_id=mid,
            sent_at=_when(message.get("timestamp"), at),
            received_at=now,
            text=text,
            sender_name=_name(sender),
            sender_username=sender.get("username") or None,
            files=_files(attached),
        )
    if kind == "message_callback":
        callback = update.get("callback")
        if not isinstance(callback, dict) or not callback.get("callback_id"):
            raise MaxMalformed("message_callback without callback.callback_id")
        user = _user(callback.get("user"))
        message = update.get("message") if isinstance(update.get("message"), dict) else {}
        if _in_group(message):  # type: ignore[arg-type]
            raise MaxIgnored("group chat")
        callback_id = str(callback["callback_id"])
        return InboundMessage(
            tenant=tenant,
            channel=Channel.MAX,
            chat_id=_chat(message, user["user_id"]),  # type: ignore[arg-type]
            sender_id=str(user["user_id"]),
            dedupe_key=f"cb:{callback_id}",
            message_id=callback_id,
            sent_at=_when(callback.get("timestamp"), at),
            received_at=now,
            button=str(callback.get("payload") or "") or None,
            callback_id=callback_id,
            sender_name=_name(user),
        )
    if kind in ("bot_started", "bot_stopped"):
        user = _user(update.get("user"))
        chat = update.get("chat_id")
        started = kind == "bot_started"
        payload = update.get("payload")
        code = str(payload)[:64] if started and isinstance(payload, str) and payload else None
        return InboundMessage(
            tenant=tenant,
            channel=Channel.MAX,
            chat_id=str(chat if isinstance(chat, int) else user["user_id"]),
            sender_id=str(user["user_id"]),
            dedupe_key=f"{kind}:{user['user_id']}:{update.get('timestamp')}",
            message_id=f"{kind}:{update.get('timestamp')}",
            sent_at=at,
            received_at=now,
            text="",  # the client typed nothing: the timeline says what happened (opened the bot)
            sender_name=_name(user),
            attribution=Attribution(code=code) if code else None,
            kind=MessageKind.MESSAGE if started else MessageKind.BLOCKED,
        )
    raise MaxIgnored(kind)


def _files(attached: list[dict[str, Any]]) -> tuple[Attachment, ...]:
    """Images and files by the links MAX gives them in their payload."""
    found = []
    for item in attached:
        payload = item.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("url"), str):
            continue
        default = "фото.jpg" if item.get("type") == "image" else "файл"
        found.append(Attachment(name=str(item.get("filename") or default)[:100], url=payload["url"]))
    return tuple(found)
