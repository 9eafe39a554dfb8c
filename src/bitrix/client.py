"""An async Bitrix24 REST client: through an inbound webhook (`https://portal/rest/{user}/{code}/`), or as
a local application (the portal's `client_endpoint` with the app's access token in `auth`)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from bitrix.errors import (
    BitrixAuthError,
    BitrixError,
    BitrixRetryable,
    OperationTimeLimit,
    QueryLimitExceeded,
    classify,
)
from bitrix.limiter import LeakyBucket
from bitrix.oauth import AccessSource
from bitrix.querystring import build_query

logger = logging.getLogger("bitrix.client")

# A request may run up to 60 s on the portal (automation rules on *.add); give it room.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=65.0, write=30.0, pool=30.0)
MAX_BATCH = 50
# Seconds of execution a method may use per 10 minutes (the cloud figure in Bitrix24's docs); past 80 %
# of it calls to that method are spaced out, up to 5 s apart, instead of running into 429.
OPERATING_BUDGET, EASE_OFF_AT, MAX_EASE_SECONDS = 480.0, 0.8, 5.0


def make_http_client(**kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=DEFAULT_TIMEOUT,
        headers={"Accept": "application/json", "User-Agent": "lead-gateway"},
        **kwargs,
    )


@dataclass(frozen=True)
class CallResult:
    result: Any
    total: int | None = None
    next: int | None = None
    time: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchResult:
    results: dict[str, Any]
    errors: dict[str, BitrixError]


CallObserver = Callable[[str, str], None]  # (method, outcome)


class BitrixClient:
    def __init__(
        self,
        webhook_url: str,
        http: httpx.AsyncClient,
        bucket: LeakyBucket | None = None,
        *,
        limit_retries: int = 4,
        observe: CallObserver | None = None,
        access: AccessSource | None = None,
    ) -> None:
        """`access`: call as the app (its address and token) instead of through `webhook_url`."""
        self._base = webhook_url if webhook_url.endswith("/") else webhook_url + "/"
        self._access = access
        self._http = http
        self._bucket = bucket
        self._limit_retries = limit_retries
        self._observe = observe or (lambda method, outcome: None)
        self._paused_until: dict[str, float] = {}  # method -> unix time (OPERATION_TIME_LIMIT)
        self.operating: dict[str, float] = {}  # method -> last seen `time.operating` seconds

    async def call(self, method: str, params: Mapping[str, Any] | None = None, *, admitted: bool = False) -> CallResult:
        """Call one method; waits for the shared bucket and retries only the rate-limit refusal.

        `admitted`: the caller already took a slot from the bucket for this request (the batcher does).
        """
        attempt = 0
        while True:
            self._check_paused(method)
            await self._ease_off(method)
            try:
                return await self._send(method, dict(params or {}), admitted=admitted)
            except QueryLimitExceeded:
                attempt += 1
                admitted = False  # a retry is a new request: it waits for the bucket like any other
                if attempt > self._limit_retries:
                    raise
                await asyncio.sleep(min(2.0**attempt, 20.0))

    async def batch(
        self, commands: Mapping[str, tuple[str, Mapping[str, Any]]], halt: bool = False, *, admitted: bool = False
    ) -> BatchResult:
        """Run up to 50 commands in one request; per-command errors come back, not raised."""
        if len(commands) > MAX_BATCH:
            raise ValueError(f"a batch holds at most {MAX_BATCH} commands, got {len(commands)}")
        cmd = {key: f"{method}?{build_query(dict(params))}" for key, (method, params) in commands.items()}
        body = (await self.call("batch", {"halt": 1 if halt else 0, "cmd": cmd}, admitted=admitted)).result or {}
        results = body.get("result") or {}
        raw_errors = body.get("result_error") or {}
        errors = {
            key: classify(200, str(err.get("error", "")), str(err.get("error_description", "")))
            for key, err in (raw_errors.items() if isinstance(raw_errors, dict) else [])
        }
        for key, error in errors.items():
            method = commands[key][0] if key in commands else "batch"
            if isinstance(error, OperationTimeLimit):
                self._paused_until[method] = time.time() + 60
            self._observe(method, "error:" + (error.code or "empty"))
        return BatchResult(results=dict(results) if isinstance(results, dict) else {}, errors=errors)

    def _check_paused(self, method: str) -> None:
        until = self._paused_until.get(method)
        if until is not None and until > time.time():
            raise OperationTimeLimit("OPERATION_TIME_LIMIT", "paused until operating_reset_at", None, until)

    async def _ease_off(self, method: str) -> None:
        """Slow a method whose `time.operating` nears the portal's budget, before it gets refused."""
        used = self.operating.get(method, 0.0)
        if used >= OPERATING_BUDGET * EASE_OFF_AT:
            share = min((used - OPERATING_BUDGET * EASE_OFF_AT) / (OPERATING_BUDGET * (1 - EASE_OFF_AT)), 1.0)
            await asyncio.sleep(share * MAX_EASE_SECONDS)

    async def _send(self, method: str, params: dict[str, Any], *, admitted: bool = False) -> CallResult:
        if self._bucket is not None and not admitted:
            await self._bucket.acquire()
        if self._access is None:
            return await self._post(self._base, method, params)
        base, token = await self._access.current()
        try:
            return await self._post(base, method, {**params, "auth": token})
        except BitrixAuthError as exc:
            if exc.code not in ("expired_token", "invalid_token"):
                raise
            await self._access.expired(token)  # renewed (once, whoever asks first); the call goes again
            base, token = await self._access.current()
            return await self._post(base, method, {**params, "auth": token})

    async def _post(self, base: str, method: str, params: dict[str, Any]) -> CallResult:
        try:
            response = await self._http.post(base + method, json=params)
        except httpx.TimeoutException as exc:
            self._observe(method, "timeout")
            raise BitrixRetryable("TIMEOUT", f"no answer in time: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            self._observe(method, "transport")
            raise BitrixRetryable("TRANSPORT", f"{type(exc).__name__}") from exc
        return self._parse(method, response)

    def _parse(self, method: str, response: httpx.Response) -> CallResult:
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            self._observe(method, f"http_{response.status_code}")
            if response.status_code >= 500 or response.status_code in (429, 302):
                raise BitrixRetryable("NON_JSON", "non-JSON answer", response.status_code)
            raise classify(response.status_code, "NON_JSON", "non-JSON answer")
        raw_time = body.get("time")
        timing: Mapping[str, Any] = raw_time if isinstance(raw_time, dict) else {}
        self._track_operating(method, timing)
        # `"error": ""` (empty code, HTTP 400) is still an error: test for the key, not its truth
        if "error" in body:
            reset_at = timing.get("operating_reset_at") if timing else None
            error = classify(
                response.status_code,
                str(body.get("error")),
                str(body.get("error_description", "")),
                float(reset_at) if reset_at else None,
            )
            if isinstance(error, OperationTimeLimit):
                self._paused_until[method] = error.reset_at or time.time() + 60
            self._observe(method, "error:" + (error.code or "empty"))
            logger.warning("bitrix %s failed: %s", method, error)
            raise error
        if response.status_code >= 400:
            self._observe(method, f"http_{response.status_code}")
            raise classify(response.status_code, "HTTP_ERROR", f"HTTP {response.status_code} without error")
        self._observe(method, "ok")
        return CallResult(result=body.get("result"), total=body.get("total"), next=body.get("next"), time=timing)

    def _track_operating(self, method: str, timing: Mapping[str, Any]) -> None:
        operating = timing.get("operating") if timing else None
        if isinstance(operating, int | float):
            self.operating[method] = float(operating)
