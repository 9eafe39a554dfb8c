"""A tenant's Bitrix24 portal: the webhook, its limit, the pipeline, stages and user fields."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from domain import Channel, parse_duration
from gateway.settings.base import HttpsUrl, Secret, _secure_url, _Strict
from gateway.settings.lifecycle import Stages


class RateLimit(_Strict):
    burst: int = Field(default=50, ge=1)
    per_second: float = Field(default=2.0, gt=0)


PUBLIC_APP_TOKENS = frozenset({"sandbox-app-token"})  # the example config's, for the sandbox portal
UserField = Annotated[str, StringConstraints(pattern=r"^UF_CRM_[A-Z0-9_]+$")]


class DealFields(_Strict):
    service: UserField | None = None  # the services' names, comma-separated
    desired_time: UserField | None = None  # the start, ISO 8601 with the tenant's offset
    desired_time_end: UserField | None = None  # the end of a vague time ("завтра вечером")


def _source(channel: Channel) -> str:
    return "WEB" if channel == Channel.FORM else channel.value.upper()


class AppCredentials(_Strict):
    """The portal's local application (Developer resources → local app): Open Lines need app context."""

    client_id: Secret
    client_secret: Secret
    public_url: HttpsUrl  # how Bitrix24 reaches the gateway (handlers and connector links are built on it)
    oauth_base: HttpsUrl = "https://oauth.bitrix.info"  # the token endpoint's host (a stand-in replaces it)
    line: int = Field(default=1, ge=1)  # the Open Line the connectors join (created when absent)

    @field_validator("public_url", "oauth_base")
    @classmethod
    def _url(cls, value: str) -> str:
        return _secure_url(value).rstrip("/")


class Handoff(_Strict):
    """A manager's turn: the to-do's deadline in opening hours, and how long the bot keeps quiet after a
    manager's last message when the dialog is not finished in Bitrix24."""

    sla: str = "15m"
    quiet_for: str = "2h"

    @field_validator("sla", "quiet_for")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)  # a ValueError names the forms it takes
        return value

    def quiet(self) -> timedelta:
        return parse_duration(self.quiet_for)

    def deadline(self) -> timedelta:
        return parse_duration(self.sla)


class BitrixConfig(_Strict):
    webhook_url: HttpsUrl | None = None
    app: AppCredentials | None = None
    handoff: Handoff = Handoff()
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
        # Bitrix24's own WEB source for a website form; the messengers by their names
        default_factory=lambda: {
            channel.value: "WEB" if channel == Channel.FORM else channel.value.upper() for channel in Channel
        }
    )

    # The deal's date-time user field that holds the visit's start (the appointment lifecycle needs it).
    visit_field: UserField | None = None
    stages: Stages = Stages()

    @model_validator(mode="after")
    def _live_portal_needs_own_token(self) -> BitrixConfig:
        """A real portal must not accept events signed with the example config's public token."""
        if self.webhook_url is not None and self.application_token in PUBLIC_APP_TOKENS:
            raise ValueError("application_token: the example's public token with a real portal; set B24_APP_TOKEN")
        return self

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = _secure_url(value)
        return value if value.endswith("/") else value + "/"
