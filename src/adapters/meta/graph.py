"""POST to Meta's Graph API, its error answers mapped to retry, defer, or give up."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from domain import CredentialsRejected, OptedOut, SendError, SendRejected, SendRetryable, WindowClosed

logger = logging.getLogger("adapters.meta.graph")

GRAPH_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=10.0, pool=10.0)
PAIR_RATE_SECONDS = 6.0  # WhatsApp admits one message per 6 s to the same user

# Codes from Meta's error references (WhatsApp Cloud API, Messenger/Instagram Send API).
_WINDOW_CLOSED = frozenset({131047, 1545041, 2534022})
_EXPIRED_OR_FORBIDDEN = frozenset({190, 102, 10, 200, 3})
_PAIR_RATE = 131056
_OPTED_OUT = 131050  # the user stopped marketing messages from this business
_THROTTLED = frozenset({4, 17, 32, 613, 80002, 80006, 130429, 131048})
_TEMPORARY = frozenset({1, 2, 131000, 131016})


class PairRateLimited(SendRetryable):
    """Too many messages to this one client: defer, do not hammer."""


def graph_error(status: int, body: object) -> SendError:
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    subcode = error.get("error_subcode") if isinstance(error.get("error_subcode"), int) else None
    reason = f"graph HTTP {status} code {code}/{subcode}: {str(error.get('message', ''))[:160]}"
    if code in _WINDOW_CLOSED or subcode in _WINDOW_CLOSED:
        return WindowClosed(reason)
    if code == _OPTED_OUT:
        return OptedOut(reason)
    if code == _PAIR_RATE:
        return PairRateLimited(reason, retry_after=PAIR_RATE_SECONDS)
    if status == 401 or code in _EXPIRED_OR_FORBIDDEN or subcode in (463, 467):
        return CredentialsRejected(reason)
    if status == 429 or code in _THROTTLED or status >= 500 or code in _TEMPORARY:
        return SendRetryable(reason)
    return SendRejected(reason)


class GraphClient:
    """One Graph API account: a base URL and a bearer token (never logged)."""

    def __init__(self, http: httpx.AsyncClient, api_base: str, access_token: str) -> None:
        self._http = http
        self._base = api_base.rstrip("/")
        self._headers = {"Authorization": f"Bearer {access_token}"}

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._request("POST", path, json=body)

    async def get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        """A read, for `lead-gateway check`."""
        return await self._request("GET", path, params=params)

    async def download(self, url: str, limit: int) -> bytes:
        """A media file at the link Graph gave for it (which needs the same token); SendRejected over `limit`."""
        try:
            response = await self._http.get(url, headers=self._headers, timeout=GRAPH_TIMEOUT)
        except httpx.TransportError as exc:
            raise SendRetryable(f"graph media unreachable: {type(exc).__name__}") from exc
        if not response.is_success:
            raise graph_error(response.status_code, None)
        if len(response.content) > limit:
            raise SendRejected("the file is too large")
        return response.content

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(
                method, f"{self._base}/{path}", headers=self._headers, timeout=GRAPH_TIMEOUT, **kwargs
            )
        except httpx.TimeoutException as exc:
            raise SendRetryable(f"graph timeout: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise SendRetryable(f"graph unreachable: {type(exc).__name__}") from exc
        try:
            answer = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            answer = None
        if response.is_success:  # 2xx without JSON: accepted by the platform, nothing to read
            return answer if isinstance(answer, dict) else {}
        error = graph_error(response.status_code, answer)
        logger.warning("graph %s %s refused: %s", method, path.split("/")[-1], error)
        raise error
