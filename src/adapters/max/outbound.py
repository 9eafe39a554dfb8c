"""Replies through the MAX Bot API: `POST /messages?chat_id=` with the token in `Authorization`, inline
keyboards as an `inline_keyboard` attachment of callback buttons, `POST /answers?callback_id=` for a
pressed button; `GET /updates` for long polling."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from domain import CredentialsRejected, PlainSender, Recipient, Reply, SendRejected, SendRetryable, Unreachable

MAX_TEXT = 4000
ACKNOWLEDGED = "✓"  # the notification a pressed button gets
MAX_ROWS, LABEL, PAYLOAD = 30, 64, 1024
MAX_TIMEOUT = httpx.Timeout(connect=5.0, read=40.0, write=10.0, pool=10.0)


def keyboard(reply: Reply) -> list[dict[str, Any]]:
    if not reply.choices:
        return []
    rows = [
        [{"type": "callback", "text": c.label[:LABEL], "payload": c.payload[:PAYLOAD]}]
        for c in reply.choices[:MAX_ROWS]
    ]
    return [{"type": "inline_keyboard", "payload": {"buttons": rows}}]


class MaxApi:
    """One bot: the API base and its token (never logged)."""

    def __init__(self, http: httpx.AsyncClient, api_base: str, token: str) -> None:
        self._http, self._base = http, api_base.rstrip("/")
        self._headers = {"Authorization": token}

    async def request(self, method: str, path: str, params: dict[str, Any], body: Any = None) -> Any:
        try:
            response = await self._http.request(
                method, f"{self._base}{path}", params=params, json=body, headers=self._headers, timeout=MAX_TIMEOUT
            )
        except httpx.TimeoutException as exc:
            raise SendRetryable(f"max timeout: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise SendRetryable(f"max unreachable: {type(exc).__name__}") from exc
        reason = f"max HTTP {response.status_code}: {response.text[:160]}"
        if response.status_code == 401:
            raise CredentialsRejected(reason)
        if response.status_code in (403, 404):  # the bot is stopped by the person, or the chat is gone
            raise Unreachable(reason)
        if response.status_code == 429 or response.status_code >= 500:
            raise SendRetryable(reason, retry_after=1.0)
        if response.status_code >= 400:
            raise SendRejected(reason)
        try:
            return response.json()
        except ValueError:
            return None


class MaxSender(PlainSender):
    window: timedelta | None = None  # a person who started the bot can be written until they stop it

    def __init__(self, api: MaxApi) -> None:
        self.api = api

    async def send(self, to: Recipient, reply: Reply) -> None:
        text = reply.text if len(reply.text) <= MAX_TEXT else reply.text[: MAX_TEXT - 1] + "…"
        body: dict[str, Any] = {"text": text}
        attachments = keyboard(reply)
        if attachments:
            body["attachments"] = attachments
        await self.api.request("POST", "/messages", {"chat_id": to.chat_id}, body)

    async def acknowledge_button(self, callback_id: str) -> None:
        # MAX wants a `message` or a non-empty `notification`; a short one stops the spinner and says so
        await self.api.request("POST", "/answers", {"callback_id": callback_id}, {"notification": ACKNOWLEDGED})
