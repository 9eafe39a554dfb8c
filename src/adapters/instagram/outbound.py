"""Replies through the Instagram Send API: text of at most 1000 bytes a message, quick replies for choices."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from adapters.meta.graph import GraphClient
from domain import PlainSender, Recipient, Reply, SendRetryable

MAX_BYTES = 1000
MAX_QUICK_REPLIES, QUICK_REPLY_TITLE = 13, 20


def split_utf8(text: str, limit: int = MAX_BYTES) -> list[str]:
    """Pieces of at most `limit` UTF-8 bytes, cut at a line or word break where there is one."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest.encode()) > limit:
        cut = len(rest.encode()[:limit].decode(errors="ignore"))  # whole characters only
        head = rest[:cut]
        for separator in ("\n", ". ", " "):
            at = head.rfind(separator)
            if at > cut // 2:
                cut = at + len(separator)
                break
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _quick_replies(reply: Reply) -> list[dict[str, Any]]:
    replies: list[dict[str, Any]] = []
    if reply.ask_phone:  # shown only when the client's profile has a number; one tap sends it
        replies.append({"content_type": "user_phone_number"})
    for choice in reply.choices[: MAX_QUICK_REPLIES - len(replies)]:
        title = choice.label if len(choice.label) <= QUICK_REPLY_TITLE else choice.label[:19] + "…"
        replies.append({"content_type": "text", "title": title, "payload": choice.payload})
    return replies


class InstagramSender(PlainSender):
    # outside it nothing goes: Instagram has no templates, and tags such as HUMAN_AGENT are for people
    window: timedelta | None = timedelta(hours=24)

    def __init__(self, graph: GraphClient, account_id: str) -> None:
        self._graph = graph
        self._path = f"{account_id}/messages"

    async def send(self, to: Recipient, reply: Reply) -> None:
        pieces = split_utf8(reply.text)
        quick = _quick_replies(reply)
        for index, piece in enumerate(pieces):
            if index < reply.parts_sent:  # delivered by an earlier attempt
                continue
            message: dict[str, Any] = {"text": piece}
            if quick and index == len(pieces) - 1:
                message["quick_replies"] = quick
            try:
                await self._graph.post(self._path, {"recipient": {"id": to.chat_id}, "message": message})
            except SendRetryable as exc:
                raise type(exc)(str(exc), exc.retry_after, parts_sent=index) from exc
