"""A local application's OAuth 2.0 tokens: what Bitrix24 posts at install, and their renewal.

The access token lasts an hour, the refresh token 180 days; each renewal returns a new pair and the old
refresh token stops working, so the caller must keep the new one before anything else uses it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from bitrix.errors import BitrixAuthError, BitrixRetryable


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: float  # unix time the access token stops working
    client_endpoint: str  # https://portal/rest/: every method call starts with it
    member_id: str  # the portal's own id
    domain: str = ""
    user_id: int | None = None  # whose rights the token carries (the admin who installed)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def pair_from(auth: Mapping[str, Any], now: float | None = None) -> TokenPair | None:
    """The pair in an install form's or an event's `auth[...]`, or in the token server's answer; None
    when a part the gateway needs is missing."""
    now = time.time() if now is None else now
    access, refresh = _text(auth.get("access_token")), _text(auth.get("refresh_token"))
    endpoint, member = _text(auth.get("client_endpoint")), _text(auth.get("member_id"))
    if not (access and refresh and endpoint.startswith(("https://", "http://")) and member):
        return None
    try:
        lifetime = float(auth.get("expires_in") or 3600)
    except (TypeError, ValueError):
        lifetime = 3600.0
    try:
        user: int | None = int(auth["user_id"]) if auth.get("user_id") not in (None, "") else None
    except (TypeError, ValueError):
        user = None
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_at=now + max(min(lifetime, 86400.0), 60.0),
        client_endpoint=endpoint if endpoint.endswith("/") else endpoint + "/",
        member_id=member,
        domain=_text(auth.get("domain")),
        user_id=user,
    )


async def renew(
    http: httpx.AsyncClient,
    oauth_base: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    now: float | None = None,
) -> TokenPair:
    """Exchange the refresh token for a new pair. A refusal (app removed, payment required, a spent or
    foreign token) is BitrixAuthError; no answer is BitrixRetryable."""
    params = {
        "grant_type": "refresh_token",
        "client_id": client_id,
        "client_secret": client_secret,
        "refresh_token": refresh_token,
    }
    try:
        response = await http.get(oauth_base.rstrip("/") + "/oauth/token/", params=params)
    except httpx.HTTPError as exc:
        raise BitrixRetryable("TRANSPORT", f"token server: {type(exc).__name__}") from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 500 or body is None:
        raise BitrixRetryable("TOKEN_SERVER", "token server gave no answer", response.status_code)
    if not isinstance(body, dict) or "error" in body:
        error = body if isinstance(body, dict) else {}
        raise BitrixAuthError(str(error.get("error", "invalid_grant")), str(error.get("error_description", "")))
    pair = pair_from(body, now)
    if pair is None:
        raise BitrixAuthError("invalid_answer", "the token server's answer lacks a token or the portal's address")
    return pair


class AccessSource(Protocol):
    """Where a client gets the portal's address and a live access token (the app's tokens, kept by the
    caller), and whom it tells that a token was refused as expired."""

    async def current(self) -> tuple[str, str]: ...

    async def expired(self, access_token: str) -> None: ...
