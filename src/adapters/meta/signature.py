"""Meta webhook authenticity: the GET verify-token handshake and the POST body signature."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def signature_valid(raw_body: bytes, header: str, app_secret: str) -> bool:
    """HMAC-SHA256 of the exact bytes received; re-serialised JSON would not match Meta's escaping."""
    if not header.startswith(_PREFIX):
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len(_PREFIX) :].strip().lower())


def sign(raw_body: bytes, app_secret: str) -> str:
    """The header value Meta would send for `raw_body` (for tests and stand-ins)."""
    return _PREFIX + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


class HandshakeRefused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


def handshake_challenge(params: Mapping[str, str], verify_token: str) -> str:
    """The `hub.challenge` to echo back when Meta's subscription request carries our verify token."""
    mode, token, challenge = params.get("hub.mode"), params.get("hub.verify_token"), params.get("hub.challenge")
    if mode is None or token is None or challenge is None:
        raise HandshakeRefused(400, "hub.mode, hub.verify_token and hub.challenge are required")
    if mode != "subscribe" or not secrets.compare_digest(token.encode(), verify_token.encode()):
        raise HandshakeRefused(403, "verify token does not match")
    return challenge
