"""What every settings model shares: strictness, the error type, URL and string checks."""

from __future__ import annotations

import ipaddress
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, StringConstraints


class ConfigError(Exception):
    """The config cannot be used; `problems` are `key.path: message` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _is_loopback(host: str | None) -> bool:
    if host in ("localhost", None):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _secure_url(value: str) -> str:
    """https everywhere; plain http only for loopback stand-ins (local Bot API, test doubles)."""
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.netloc:
        return value
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return value
    raise ValueError("must be an https:// URL (http:// only for loopback addresses)")


HttpsUrl = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Secret = Annotated[str, StringConstraints(min_length=1)]
TenantId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
