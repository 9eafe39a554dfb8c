"""The YAML config file: `${VAR}` expansion, validation, errors named by key path."""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from qualifier.catalog import Service

DEFAULT_CONFIG_PATH = "lead-gateway.yaml"
CONFIG_ENV = "LEAD_GATEWAY_CONFIG"
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


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


class RateLimit(_Strict):
    burst: int = Field(default=50, ge=1)
    per_second: float = Field(default=2.0, gt=0)


UserField = Annotated[str, StringConstraints(pattern=r"^UF_CRM_[A-Z0-9_]+$")]


class DealFields(_Strict):
    service: UserField | None = None  # the services' names, comma-separated
    desired_time: UserField | None = None  # the start, ISO 8601 with the tenant's offset
    desired_time_end: UserField | None = None  # the end of a vague time ("завтра вечером")


class BitrixConfig(_Strict):
    webhook_url: HttpsUrl | None = None
    application_token: Secret | None = None
    rate_limit: RateLimit = RateLimit()
    category_id: int | None = Field(default=None, ge=0)
    stage_id: str | None = None
    # Where the qualified details also go: user fields of the deal (UF_CRM_*), if the portal has them.
    fields: DealFields = DealFields()
    # The stage a deal moves to once service, time and phone are known (once; a manager may move it on).
    qualified_stage_id: str | None = None
    # SOURCE_ID per channel; must exist in the portal's SOURCE directory (crm.status.list)
    source_ids: dict[str, str] = Field(
        default_factory=lambda: {"telegram": "TELEGRAM", "whatsapp": "WHATSAPP", "instagram": "INSTAGRAM"}
    )

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = _secure_url(value)
        return value if value.endswith("/") else value + "/"


class TelegramConfig(_Strict):
    bot_token: Secret
    secret_token: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,256}$")] | None = None
    api_base: HttpsUrl = "https://api.telegram.org"
    mode: Literal["webhook", "polling"] = "webhook"

    _check_api_base = field_validator("api_base")(classmethod(lambda cls, v: _secure_url(v).rstrip("/")))

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> TelegramConfig:
        if self.mode == "webhook" and self.secret_token is None:
            raise ValueError("secret_token: required when mode is webhook")
        return self


class MetaChannelConfig(_Strict):
    access_token: Secret
    app_secret: Secret
    verify_token: Secret
    api_base: HttpsUrl

    _check_api_base = field_validator("api_base")(classmethod(lambda cls, v: _secure_url(v).rstrip("/")))


class TemplateConfig(_Strict):
    name: Secret
    language: str = "ru"


class WhatsAppConfig(MetaChannelConfig):
    phone_number_id: Secret
    api_base: HttpsUrl = "https://graph.facebook.com/v21.0"
    # An approved template sent instead of a reply once the 24-hour window has closed; unset: nothing.
    window_template: TemplateConfig | None = None


class InstagramConfig(MetaChannelConfig):
    account_id: Secret
    api_base: HttpsUrl = "https://graph.instagram.com/v21.0"


class ChannelsConfig(_Strict):
    telegram: TelegramConfig | None = None
    whatsapp: WhatsAppConfig | None = None
    instagram: InstagramConfig | None = None


class Utm(_Strict):
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_content: str | None = None
    utm_term: str | None = None


class CatalogItem(_Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,40}$")]
    name: Secret
    aliases: list[str] = []
    duration_min: int = Field(default=60, ge=5, le=24 * 60)
    price: float | None = Field(default=None, ge=0)


OpenHours = tuple[time, time]


def _parse_hours(value: object) -> OpenHours | None:
    if value is None:
        return None
    match = _HOURS.match(str(value).strip())
    if not match:
        raise ValueError(f"{value!r}: expected HH:MM-HH:MM or null (closed)")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h2 == 24 and m2 == 0:
        h2, m2 = 23, 59
    try:
        start, end = time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ValueError(f"{value!r}: {exc}") from None
    if end <= start:
        raise ValueError(f"{value!r}: closing time must be after opening time")
    return start, end


def _default_hours() -> dict[Weekday, Any]:
    return {"mon": "10:00-21:00"}


class TenantConfig(_Strict):
    timezone: str = "Europe/Moscow"
    bitrix: BitrixConfig = BitrixConfig()
    channels: ChannelsConfig = ChannelsConfig()
    deeplinks: dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")], Utm] = {}
    catalog: list[CatalogItem] = []
    texts: dict[str, str] = {}  # the bot's phrases, by name (see gateway.dialogue.Texts); Russian defaults
    # Days left out take the hours of the nearest listed day before them (mon covers tue..fri).
    hours: dict[Weekday, Any] = Field(default_factory=_default_hours)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("texts")
    @classmethod
    def _texts(cls, value: dict[str, str]) -> dict[str, str]:
        from gateway.dialogue import Texts

        known = set(Texts.__dataclass_fields__)
        for name, text in value.items():
            if name not in known:
                raise ValueError(f"{name}: unknown text; known: {', '.join(sorted(known))}")
            try:
                text.format(name="", service="", when="", phone="", price="")
            except (KeyError, IndexError, ValueError) as exc:
                hint = "use {name} {service} {when} {phone} {price}"
                raise ValueError(f"{name}: bad placeholder {exc}; {hint}") from None
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, Any]) -> dict[str, Any]:
        for day, spec in value.items():
            try:
                _parse_hours(spec)
            except ValueError as exc:
                raise ValueError(f"{day}: {exc}") from None
        return value

    def services(self) -> list[Service]:
        """The catalog as the qualifier reads it."""
        return [Service(c.id, c.name, tuple(c.aliases), c.duration_min, c.price) for c in self.catalog]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def opening_hours(self) -> list[OpenHours | None]:
        """Hours for mon..sun, with unlisted days inheriting from the previous listed day."""
        week: list[OpenHours | None] = []
        current: OpenHours | None = (time(10), time(21))
        for day in WEEKDAYS:
            if day in self.hours:
                current = _parse_hours(self.hours[day])
            week.append(current)
        return week


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
    llm: LlmConfig | None = None
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    queue: QueueConfig = QueueConfig()
    limits: LimitsConfig = LimitsConfig()
    tenants: dict[TenantId, TenantConfig] = Field(min_length=1)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if not value:  # `${REDIS_URL:-}` left empty: the embedded Redis, as when the key is absent
            return None
        if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value


def expand_env(node: Any, environ: dict[str, str], path: str = "") -> Any:
    """Expand `${VAR}` / `${VAR:-default}` in every string scalar; unset VAR with no default fails."""
    if isinstance(node, dict):
        return {k: expand_env(v, environ, f"{path}.{k}" if path else str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [expand_env(v, environ, f"{path}.{i}") for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ and environ[name] != "":
            return environ[name]
        if default is not None:
            return default
        missing.append(name)
        return ""

    expanded = _VAR.sub(substitute, node)
    if missing:
        raise ConfigError([f"{path}: environment variable {missing[0]} is not set"])
    return expanded


def _describe(error: dict[str, Any]) -> str:
    path = ".".join(str(p) for p in error["loc"])
    message = "required" if error["type"] == "missing" else str(error["msg"])
    message = message.removeprefix("Value error, ")
    nested = re.match(r"^([A-Za-z_]\w*): (.*)$", message, re.S)
    if error["type"] == "value_error" and nested:  # "key: msg" from a model-level check
        path, message = f"{path}.{nested.group(1)}" if path else nested.group(1), nested.group(2)
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{path}: {message}" if path else message


def parse_config(data: object, environ: dict[str, str] | None = None) -> AppConfig:
    environ = dict(os.environ) if environ is None else environ
    if not isinstance(data, dict):
        raise ConfigError(["the config file must be a YAML mapping"])
    expanded = expand_env(data, environ)
    try:
        return AppConfig.model_validate(expanded)
    except ValidationError as exc:
        raise ConfigError([_describe(e) for e in exc.errors(include_url=False)]) from None  # type: ignore[arg-type]


def resolve_config_path(explicit: str | None, environ: dict[str, str] | None = None) -> Path:
    environ = dict(os.environ) if environ is None else environ
    return Path(explicit or environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)


def load_config(path: Path, environ: dict[str, str] | None = None) -> AppConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config file ({exc.strerror})"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None
    return parse_config(data, environ)
