"""Replies through VK's `messages.send`: a `random_id` derived from the message's key (so a retry of the
same message is recognised by VK, never doubled, and another message with the same words still goes),
inline callback buttons, VK's errors mapped to ours."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import httpx

from adapters.vk.inbound import BUTTON_KEY
from domain import (
    CredentialsRejected,
    PlainSender,
    Recipient,
    Reply,
    SendRejected,
    SendRetryable,
    Unreachable,
)

MAX_TEXT = 4096  # VK takes 9,000; a reply over a screen long is a mistake anyway
MAX_ROWS, LABEL = 6, 40  # inline keyboard: 6 rows; a label is at most 40 characters
PAYLOAD = 255
VK_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=10.0, pool=10.0)
# VK API error codes: the person cannot be written to, throttling, the token.
UNREACHABLE = frozenset({900, 901, 902})  # blacklisted, no permission, privacy settings
THROTTLED = frozenset({6, 9, 10, 29})  # too many requests a second, flood control, internal error, rate limit
TOKEN = frozenset({5, 27, 28})  # authorization failed, a group token's method or key is not allowed
INTENT_REFUSED = frozenset({943, 944})  # the intent cannot be used here, or its limit is spent
# What a message the bot starts says it is: about the person's own booking, or an advertisement.
INTENTS = {"transactional": "confirmed_notification", "marketing": "promo_newsletter"}


def random_id(peer: str, message: str, part: int = 0) -> int:
    """The same for the same message to the same person: VK drops a second send with it. `message` is
    the reply's own key where it has one, so a new message with the same words gets a new id."""
    digest = hashlib.sha256(f"{peer}\n{part}\n{message}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def keyboard(reply: Reply) -> str | None:
    if not reply.choices:
        return None
    rows = [
        [
            {
                "action": {
                    "type": "callback",
                    "label": choice.label[:LABEL],
                    "payload": json.dumps({BUTTON_KEY: choice.payload}, ensure_ascii=False)[:PAYLOAD],
                }
            }
        ]
        for choice in reply.choices[:MAX_ROWS]
    ]
    return json.dumps({"inline": True, "buttons": rows}, ensure_ascii=False)


class VkRefused(SendRejected):
    """VK refused the call for a reason of its own; `code` is VK's error code."""

    def __init__(self, reason: str, code: Any) -> None:
        super().__init__(reason)
        self.code = code


def vk_error(body: Any) -> SendRetryable | SendRejected | None:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    code = error.get("error_code")
    reason = f"vk error {code}: {str(error.get('error_msg', ''))[:160]}"
    if code in UNREACHABLE:
        return Unreachable(reason)
    if code in THROTTLED:
        return SendRetryable(reason, retry_after=1.0)
    if code in TOKEN:
        return CredentialsRejected(reason)
    return VkRefused(reason, code)


class VkApi:
    """One community's token (never logged) and API base; the form-encoded calls VK takes."""

    def __init__(self, http: httpx.AsyncClient, api_base: str, access_token: str, version: str) -> None:
        self._http, self._base = http, api_base.rstrip("/")
        self._auth = {"access_token": access_token, "v": version}

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        try:
            response = await self._http.post(
                f"{self._base}/{method}", data={**params, **self._auth}, timeout=VK_TIMEOUT
            )
        except httpx.TimeoutException as exc:
            raise SendRetryable(f"vk timeout: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise SendRetryable(f"vk unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise SendRetryable(f"vk HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise SendRetryable(f"vk HTTP {response.status_code}: not JSON") from None
        error = vk_error(body)
        if error is not None:
            raise error
        return body.get("response") if isinstance(body, dict) else None


class VkSender(PlainSender):
    window: timedelta | None = None  # VK has no customer-service window: a person who allowed it can be written

    def __init__(self, api: VkApi) -> None:
        self._api = api

    async def send(self, to: Recipient, reply: Reply) -> None:
        text = reply.text if len(reply.text) <= MAX_TEXT else reply.text[: MAX_TEXT - 1] + "…"
        unique = random_id(to.chat_id, reply.key or text)
        params: dict[str, Any] = {"peer_id": to.chat_id, "message": text, "random_id": unique}
        board = keyboard(reply)
        if board is not None:
            params["keyboard"] = board
        intent = INTENTS.get(reply.initiated or "")
        if intent is None:
            await self._api.call("messages.send", params)
            return
        try:
            await self._api.call("messages.send", {**params, "intent": intent})
        except VkRefused as exc:  # refused for the intent alone (so not sent): as a plain message, once
            if exc.code not in INTENT_REFUSED:
                raise
            await self._api.call("messages.send", params)

    async def person_id(self, screen_name: str) -> str | None:
        """The numeric id behind a vk.com/<screen_name> link, if it names a person (not a community)."""
        found = await self._api.call("utils.resolveScreenName", {"screen_name": screen_name})
        if isinstance(found, dict) and found.get("type") == "user" and isinstance(found.get("object_id"), int):
            return str(found["object_id"])
        return None  # VK answers an empty list for a name nobody has

    async def acknowledge_button(self, callback_id: str) -> None:
        event_id, _, rest = callback_id.partition(":")
        user, _, peer = rest.partition(":")
        if event_id and user and peer:
            await self._api.call(
                "messages.sendMessageEventAnswer", {"event_id": event_id, "user_id": user, "peer_id": peer}
            )
