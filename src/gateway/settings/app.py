"""The whole config file: process-wide settings and the tenants."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlsplit

from pydantic import Field, IPvAnyNetwork, field_validator, model_validator

from gateway.settings.base import HttpsUrl, Secret, TenantId, _secure_url, _Strict
from gateway.settings.tenant import TenantConfig


def valid_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False


class LlmConfig(_Strict):
    base_url: HttpsUrl = "https://api.openai.com/v1"
    api_key: Secret
    model: str = "gpt-4o-mini"
    timeout_seconds: float = Field(default=8.0, gt=0)
    calls_per_conversation_hour: int = Field(default=10, ge=0)  # past it a chatty client gets rules only

    _check_base = field_validator("base_url")(classmethod(lambda cls, v: _secure_url(v).rstrip("/")))


class QueueConfig(_Strict):
    # With backoff doubling from 1 s up to 5 min, 24 attempts ride out about 1.6 h of a portal or
    # channel being down before the work is parked in the dead-letter queue.
    max_attempts: int = Field(default=24, ge=1, le=100)
    dedupe_days: int = Field(default=8, ge=1)  # Meta re-delivers for up to 7 days
    # Jobs one worker runs at once. CRM syncs mostly wait on the portal, and the more wait together
    # the fuller each `batch` request is.
    max_jobs: int = Field(default=100, ge=1, le=1000)


class LimitsConfig(_Strict):
    # A client who floods a chat still has every message recorded; past this, they get no more replies
    # that minute (and no LLM calls past `llm.calls_per_conversation_hour`).
    replies_per_conversation_minute: int = Field(default=10, ge=1)


class AppConfig(_Strict):
    redis_url: str | None = None
    # The business store: postgresql://user@host/db in deployments; unset: SQLite beside the config file.
    database_url: str | None = None
    llm: LlmConfig | None = None
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # The reverse proxies in front of the gateway (addresses or networks). Only a request from one of
    # them has its X-Forwarded-For read for the client's address (form and login limits); by default
    # none, so a client cannot pick the address its limits are counted under.
    trusted_proxies: list[IPvAnyNetwork] = []
    queue: QueueConfig = QueueConfig()
    limits: LimitsConfig = LimitsConfig()
    tenants: dict[TenantId, TenantConfig] = Field(min_length=1)
    # A Fernet key (32 url-safe base64-encoded bytes) that encrypts the Bitrix24 app's tokens at rest;
    # from LEAD_GATEWAY_SECRET_KEY. Needed once a tenant has `bitrix.app`.
    secret_key: str | None = Field(default=None, repr=False)

    @model_validator(mode="after")
    def _app_tokens_need_a_key(self) -> AppConfig:
        if any(t.bitrix.app is not None for t in self.tenants.values()):
            if not self.secret_key:
                raise ValueError("secret_key: a tenant has bitrix.app; set LEAD_GATEWAY_SECRET_KEY (a Fernet key)")
            if not valid_fernet_key(self.secret_key):
                raise ValueError("secret_key: not a Fernet key (32 url-safe base64-encoded bytes)")
        return self

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if not value:  # `${DATABASE_URL:-}` left empty: the embedded SQLite file
            return None
        scheme = urlsplit(value).scheme
        if scheme.split("+")[0] not in ("postgresql", "postgres", "sqlite"):
            raise ValueError("must be a postgresql:// or sqlite:/// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if not value:  # `${REDIS_URL:-}` left empty: the embedded Redis, as when the key is absent
            return None
        if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value
