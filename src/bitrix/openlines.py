"""Open Lines connectors (`imconnector.*`) in Bitrix24's terms: the events a manager's message arrives
in, its markup made plain, and the shapes of the messages a connector sends into a line."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MESSAGE_ADD = "ONIMCONNECTORMESSAGEADD"  # a manager wrote in the line's chat
DIALOG_FINISH = "ONIMCONNECTORDIALOGFINISH"  # the manager closed the dialog
# Bound at install; a mirrored message does not come back as MESSAGE_ADD for a client's message, but a
# message posted on a manager's behalf can, which is why the gateway keeps an echo ledger.
CONNECTOR_EVENTS = (MESSAGE_ADD, DIALOG_FINISH)


@dataclass(frozen=True)
class ManagerMessage:
    connector: str
    line: int
    chat: str  # the external chat id the connector gave the chat (ours)
    im_chat_id: int  # the line's chat in Bitrix24
    message_id: int  # the message in Bitrix24: the key of its delivery, once
    user_id: int  # the manager who wrote
    text: str  # as Bitrix24 sent it (BBCode, maybe with a signature)
    files: tuple[tuple[str, str], ...] = ()  # (name, link)


@dataclass(frozen=True)
class DialogFinished:
    """A manager closed a line's chat. The documents show `chat.id` and `connector.chat_id` without saying
    which is the line's chat and which the connector's, so both are kept: whichever the gateway knows wins."""

    connector: str
    line: int
    im_chat_id: int  # `chat.id` (0 when absent)
    also: tuple[int, ...] = ()  # `connector.chat_id` when it is a number and another one
    external: str = ""  # `connector.chat_id` as the connector's chat id (ours are "telegram:42")


def _int(value: Any) -> int | None:
    text = str(value).strip() if isinstance(value, str | int) else ""
    return int(text) if text.isascii() and text.isdecimal() and len(text) <= 18 else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    """A form-encoded array arrives as a dict keyed "0", "1"...; JSON as a list."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value[k] for k in sorted(value, key=lambda k: int(k) if str(k).isdecimal() else 0)]
    return []


def manager_messages(data: Mapping[str, Any]) -> list[ManagerMessage]:
    """The messages of an OnImConnectorMessageAdd `data`; an element without its ids is skipped."""
    connector, line = str(data.get("CONNECTOR") or ""), _int(data.get("LINE")) or 0
    found = []
    for item in _items(data.get("MESSAGES")):
        if not isinstance(item, dict):
            continue
        im, message, chat = _dict(item.get("im")), _dict(item.get("message")), _dict(item.get("chat"))
        chat_id, message_id = _int(im.get("chat_id")), _int(im.get("message_id"))
        external = str(chat.get("id") or "")
        if chat_id is None or message_id is None or not external:
            continue
        files = tuple(
            (str(f.get("name") or "файл"), str(f.get("link") or ""))
            for f in _items(message.get("files"))
            if isinstance(f, dict) and f.get("link")
        )
        text = message.get("text")
        found.append(
            ManagerMessage(
                connector=connector,
                line=line,
                chat=external,
                im_chat_id=chat_id,
                message_id=message_id,
                user_id=_int(message.get("user_id")) or 0,
                text=text if isinstance(text, str) else "",
                files=files,
            )
        )
    return found


def dialog_finished(data: Mapping[str, Any]) -> list[DialogFinished]:
    """The chats an OnImConnectorDialogFinish `data` closes (`DATA[i][chat][id]`, `[connector][chat_id]`)."""
    found = []
    for item in _items(data.get("DATA")):
        connector = _dict(_dict(item).get("connector"))
        chat_id = _int(_dict(_dict(item).get("chat")).get("id"))
        raw = connector.get("chat_id")
        other = _int(raw)
        external = str(raw).strip() if isinstance(raw, str | int) else ""
        if chat_id is None and other is None and not external:
            continue
        name = str(connector.get("connector_id") or data.get("CONNECTOR") or "")
        line = _int(connector.get("line_id")) or _int(data.get("LINE")) or 0
        also = (other,) if other is not None and other != chat_id else ()
        found.append(DialogFinished(name, line, chat_id if chat_id is not None else 0, also, external))
    return found


_SIGNATURE = re.compile(r"^\s*\[b\][^\[\]\n]{1,80}:\s*\[/b\]\s*(?:\[br\]|\n)\s*", re.IGNORECASE)
_URL_WITH_TEXT = re.compile(r"\[url=([^\]]+)\](.*?)\[/url\]", re.IGNORECASE | re.DOTALL)
_URL = re.compile(r"\[url\](.*?)\[/url\]", re.IGNORECASE | re.DOTALL)
_MENTION = re.compile(r"\[(?:user|chat|context)=[^\]]*\](.*?)\[/(?:user|chat|context)\]", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"\[br\]", re.IGNORECASE)
_TAG = re.compile(
    r"\[/?(?:b|i|u|s|quote|code|color|size|font|left|right|center|justify|img|icon|p)(?:=[^\]]*)?\]", re.I
)


def plain_text(markup: str) -> str:
    """A manager's message as a client should read it: no signature, no BBCode, links kept as addresses."""
    text = _SIGNATURE.sub("", markup, count=1)
    text = _URL_WITH_TEXT.sub(
        lambda m: m.group(2) if m.group(2).strip() in ("", m.group(1)) else f"{m.group(2)} ({m.group(1)})", text
    )
    text = _URL.sub(r"\1", text)
    text = _MENTION.sub(r"\1", text)
    text = _BREAK.sub("\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()


_NAME = re.compile(r"[^\w\s'\-]|\d|_", re.UNICODE)


def person_name(name: str) -> str:
    """A client's name as `imconnector.send.messages` takes it: letters, spaces, hyphens and apostrophes,
    at most 25 characters (anything else makes the portal refuse the message)."""
    cleaned = " ".join(_NAME.sub(" ", name).split())[:25].strip()
    return cleaned or "Клиент"


def line_message(
    *,
    user_id: str,
    name: str,
    chat_id: str,
    message_id: str,
    text: str,
    at: float,
    chat_url: str = "",
    phone: str = "",
    as_user: int | None = None,
    files: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """One element of `imconnector.send.messages` MESSAGES. `as_user`: posted as that portal user
    (the bot's own messages), otherwise as the client."""
    # the deal and contact are the gateway's: the line's own CRM tracker would open a second lead
    message: dict[str, Any] = {"id": message_id, "date": int(at), "text": text, "disable_crm": "Y"}
    if as_user is not None:
        message["user_id"] = as_user
    if files:  # {url, name}: Bitrix24 fetches each url, so it must be reachable from the portal
        message["files"] = files
    user: dict[str, Any] = {"id": user_id, "name": person_name(name), "skip_phone_validate": "Y"}
    if phone:
        user["phone"] = phone
    chat: dict[str, Any] = {"id": chat_id}
    if chat_url:
        chat["url"] = chat_url
    return {"user": user, "message": message, "chat": chat}


@dataclass(frozen=True)
class Taken:
    ok: bool
    im_chat_id: int | None  # the line's chat the message went to (its session's CHAT_ID)
    user: int | None = None  # the portal's user the connector's client is (who their messages are by)


def sent_results(result: Any) -> list[Taken]:
    """Which elements of `imconnector.send.messages` the portal took, and into which chat (it answers per
    element, in an HTTP 200, under DATA.RESULT)."""
    body = _dict(result)
    data = _dict(body["DATA"]) if isinstance(body.get("DATA"), dict) else body
    outcome = []
    for item in _items(data.get("RESULT")):
        element = _dict(item)
        ok = bool(element) and not element.get("ERRORS") and element.get("SUCCESS", True) not in (False, "N")
        chat = _int(_dict(element.get("session")).get("CHAT_ID"))
        outcome.append(Taken(ok, chat, _int(element.get("user"))))
    return outcome


@dataclass(frozen=True)
class ChatMessage:
    id: int
    author_id: int  # 0: the system
    text: str


def chat_messages(result: Any) -> list[ChatMessage]:
    """`im.dialog.messages.get`'s messages, oldest first (the portal answers newest first)."""
    found = []
    for item in _items(_dict(result).get("messages")):
        element = _dict(item)
        message_id, author = _int(element.get("id")), _int(element.get("author_id"))
        if message_id is not None:
            text = element.get("text")
            found.append(ChatMessage(message_id, author or 0, text if isinstance(text, str) else ""))
    return sorted(found, key=lambda m: m.id)
