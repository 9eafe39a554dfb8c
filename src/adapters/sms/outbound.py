"""Send an SMS through SMS.ru (`/sms/send`, `api_id`, JSON answer with `status_code` 100 for accepted)
or SMSC.ru (`/sys/send.php`, `login`/`psw`, `fmt=3` for a JSON answer, `error_code` on failure).

A text is kept to one segment where it can be: 70 characters of Cyrillic (UCS-2), 160 of plain Latin.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from domain import CredentialsRejected, PlainSender, Recipient, Reply, SendRejected, SendRetryable, Unreachable

SMS_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=10.0, pool=10.0)
UCS2_SEGMENT, GSM_SEGMENT, MAX_SEGMENTS = 70, 160, 3
UCS2_PART = 67  # a segment of a longer Cyrillic message carries 67 characters


def segments(text: str) -> int:
    """How many SMS a text takes: GSM-7 when it is plain ASCII, UCS-2 otherwise."""
    if text.isascii():
        return 1 if len(text) <= GSM_SEGMENT else -(-len(text) // 153)
    return 1 if len(text) <= UCS2_SEGMENT else -(-len(text) // UCS2_PART)


def fit(text: str) -> str:
    """The text, cut to MAX_SEGMENTS at most (never mid-word where a space is near)."""
    limit = UCS2_PART * MAX_SEGMENTS if not text.isascii() else 153 * MAX_SEGMENTS
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit - 20 else cut) + "…"


def digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


class SmsProvider(Protocol):
    async def send(self, phone: str, text: str) -> None: ...


class Codes(Protocol):
    RETRY: frozenset[int]
    TOKEN: frozenset[int]
    BAD_NUMBER: frozenset[int]


def refusal(provider: Codes, code: Any, reason: str) -> SendRetryable | SendRejected:
    """A provider's refusal as the gateway's error, by the provider's own codes."""
    if code in provider.RETRY:
        return SendRetryable(reason, retry_after=60)
    if code in provider.TOKEN:
        return CredentialsRejected(reason)
    if code in provider.BAD_NUMBER:
        return Unreachable(reason)
    return SendRejected(reason)


class SmsRu:
    """sms.ru: `api_id`, `to`, `msg`, `from`, `json=1`; 100 is accepted, the per-number status says why not."""

    RETRY = frozenset({220, 500})  # the service is busy or down for now
    TOKEN = frozenset({200, 300, 301, 302})  # wrong api_id, account blocked, wrong password or unconfirmed
    BAD_NUMBER = frozenset({202, 207})  # a wrong number, or one that cannot be sent to

    def __init__(self, http: httpx.AsyncClient, api_base: str, api_id: str, sender: str | None) -> None:
        self._http, self._url = http, api_base.rstrip("/") + "/sms/send"
        self._params = {"api_id": api_id, "json": "1", **({"from": sender} if sender else {})}

    async def send(self, phone: str, text: str) -> None:
        body = await _post(self._http, self._url, {**self._params, "to": digits(phone), "msg": text})
        number = body.get("sms", {}).get(digits(phone), {}) if isinstance(body.get("sms"), dict) else {}
        code = number.get("status_code", body.get("status_code")) if isinstance(number, dict) else None
        if code == 100:
            return
        reason = f"sms.ru {code}: {str(number.get('status_text') or body.get('status_text') or '')[:120]}"
        raise refusal(self, code, reason)


class Smsc:
    """smsc.ru: `login`, `psw`, `phones`, `mes`, `sender`, `fmt=3`, `charset=utf-8`; `error_code` says why not."""

    RETRY = frozenset({4, 9})  # the address is blocked for a while; too many identical requests
    TOKEN = frozenset({2})  # wrong login or password
    BAD_NUMBER = frozenset({7, 8})  # a wrong number, or one that cannot be delivered to

    def __init__(self, http: httpx.AsyncClient, api_base: str, login: str, password: str, sender: str | None) -> None:
        self._http, self._url = http, api_base.rstrip("/") + "/sys/send.php"
        self._params = {"login": login, "psw": password, "fmt": "3", "charset": "utf-8"}
        if sender:
            self._params["sender"] = sender

    async def send(self, phone: str, text: str) -> None:
        body = await _post(self._http, self._url, {**self._params, "phones": digits(phone), "mes": text})
        if "error_code" not in body and "error" not in body:
            return
        code = body.get("error_code")
        raise refusal(self, code, f"smsc {code}: {str(body.get('error', ''))[:120]}")


async def _post(http: httpx.AsyncClient, url: str, form: dict[str, str]) -> dict[str, Any]:
    try:
        response = await http.post(url, data=form, timeout=SMS_TIMEOUT)
    except httpx.TimeoutException as exc:  # it may have been sent: not retried by the caller (claimed once)
        raise SendRetryable(f"sms timeout: {type(exc).__name__}") from exc
    except httpx.TransportError as exc:
        raise SendRetryable(f"sms provider unreachable: {type(exc).__name__}") from exc
    if response.status_code >= 500:
        raise SendRetryable(f"sms provider HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise SendRejected(f"sms provider HTTP {response.status_code}: not JSON") from None
    return body if isinstance(body, dict) else {}


class SmsSender(PlainSender):
    """A Sender for the last resort: the text only (an SMS has no buttons), to the person's phone."""

    def __init__(self, provider: SmsProvider) -> None:
        self._provider = provider

    async def send(self, to: Recipient, reply: Reply) -> None:
        await self._provider.send(to.phone or to.chat_id, fit(reply.text))


async def balance(http: Any, url: str, params: dict[str, str]) -> str:
    """The account's balance, as the provider states it (SMS.ru `my/balance`, SMSC.ru `sys/balance.php`);
    a refusal (a wrong key or password) raised as the gateway's error."""
    body = await _post(http, url, params)
    if body.get("status") == "ERROR" or "error" in body:
        code = body.get("status_code", body.get("error_code"))
        raise CredentialsRejected(
            f"balance refused: {code} {str(body.get('status_text') or body.get('error') or '')[:80]}"
        )
    return str(body.get("balance", "?"))
