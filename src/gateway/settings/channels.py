"""The channels a tenant answers on, with their credentials."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, StringConstraints, field_validator, model_validator

from gateway.settings.base import HttpsUrl, Secret, _secure_url, _Strict

# What BotFather issues: the bot id, a colon, 35 characters. The sandbox's `123456:sandbox-token` is not.
REAL_BOT_TOKEN = re.compile(r"^\d{6,}:[A-Za-z0-9_-]{30,}$")
STAND_IN_PATH = "/sandbox/telegram"  # where `make run` mounts its Bot API stand-in
PUBLIC_SECRETS = frozenset({"change-me-secret", "change-me-vk-secret", "change-me-max-secret"})  # README, example
# The example config's credentials for the stand-ins `make run` serves; any other is someone's own.
STAND_IN_CREDENTIALS = frozenset({"vk-sandbox-token", "max-sandbox-token", "sandbox"})


def _refuse_own_credential_on_stand_in(
    credential: str, api_base: str, stand_in: str, secret: str | None, field: str, setting: str
) -> None:
    """A credential of one's own must not go to `make run`'s stand-in (nothing would reach a client) nor
    run with the README's public webhook secret (anyone could post as the platform)."""
    if credential in STAND_IN_CREDENTIALS:
        return
    if urlsplit(api_base).path.rstrip("/").startswith(stand_in):
        raise ValueError(f"api_base: {field} of your own is pointed at the stand-in; set {setting}")
    if secret in PUBLIC_SECRETS:
        raise ValueError(f"secret: the README's public example secret with {field} of your own; set one of your own")


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

    @model_validator(mode="after")
    def _live_token_needs_live_settings(self) -> TelegramConfig:
        """A token BotFather issued must not run with the example's public defaults."""
        if not REAL_BOT_TOKEN.match(self.bot_token):
            return self
        if urlsplit(self.api_base).path.rstrip("/").endswith(STAND_IN_PATH):
            raise ValueError(
                "api_base: a real bot token is pointed at the Bot API stand-in; "
                "set TELEGRAM_API_BASE=https://api.telegram.org"
            )
        if self.secret_token in PUBLIC_SECRETS:
            raise ValueError(
                "secret_token: the README's public example secret with a real bot token; set "
                "TELEGRAM_SECRET_TOKEN to a secret of your own (1-256 of A-Z a-z 0-9 _ -)"
            )
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


class VkConfig(_Strict):
    """A VK community's messages (Callback API): its id, a community token with the `messages` right, the
    secret key and the confirmation string from Settings -> Working with API -> Callback API."""

    group_id: int = Field(ge=1)
    access_token: Secret
    secret: Secret
    confirmation: Secret
    api_base: HttpsUrl = "https://api.vk.com/method"
    version: str = "5.199"

    _check_api_base = field_validator("api_base")(classmethod(lambda cls, v: _secure_url(v).rstrip("/")))

    @model_validator(mode="after")
    def _own_token_needs_live_settings(self) -> VkConfig:
        _refuse_own_credential_on_stand_in(
            self.access_token,
            self.api_base,
            "/sandbox/vk",
            self.secret,
            "a token",
            "VK_API_BASE=https://api.vk.com/method",
        )
        return self


class MaxConfig(_Strict):
    """A MAX bot (Bot API): its token, the secret MAX sends in `X-Max-Bot-Api-Secret` with each webhook
    (set when subscribing), and how updates arrive."""

    bot_token: Secret
    secret: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{5,256}$")] | None = None
    api_base: HttpsUrl = "https://platform-api.max.ru"
    mode: Literal["webhook", "polling"] = "webhook"

    _check_api_base = field_validator("api_base")(classmethod(lambda cls, v: _secure_url(v).rstrip("/")))

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> MaxConfig:
        if self.mode == "webhook" and self.secret is None:
            raise ValueError("secret: required when mode is webhook")
        return self

    @model_validator(mode="after")
    def _own_token_needs_live_settings(self) -> MaxConfig:
        _refuse_own_credential_on_stand_in(
            self.bot_token,
            self.api_base,
            "/sandbox/max",
            self.secret,
            "a bot token",
            "MAX_API_BASE=https://platform-api.max.ru",
        )
        return self


class ChannelsConfig(_Strict):
    telegram: TelegramConfig | None = None
    whatsapp: WhatsAppConfig | None = None
    instagram: InstagramConfig | None = None
    vk: VkConfig | None = None
    max: MaxConfig | None = None


SMS_BASES = {"smsru": "https://sms.ru", "smsc": "https://smsc.ru"}  # each provider's own API


class SmsConfig(_Strict):
    """The last way to reach a client about their own visit (never offers): SMS.ru (`api_id`) or
    SMSC.ru (`login`, `password`)."""

    provider: Literal["smsru", "smsc"]
    api_id: Secret | None = None
    login: Secret | None = None
    password: Secret | None = None
    sender: str | None = Field(default=None, max_length=11)  # an approved sender name; unset: the provider's
    api_base: HttpsUrl | None = None  # unset: https://sms.ru or https://smsc.ru

    _check_api_base = field_validator("api_base")(
        classmethod(lambda cls, v: _secure_url(v).rstrip("/") if v is not None else None)
    )

    @model_validator(mode="after")
    def _credentials(self) -> SmsConfig:
        if self.provider == "smsru" and not self.api_id:
            raise ValueError("api_id: required for provider smsru")
        if self.provider == "smsc" and not (self.login and self.password):
            raise ValueError("login and password: required for provider smsc")
        credential = self.api_id if self.provider == "smsru" else self.login
        if credential is not None and self.api_base is not None:
            setting = f"SMS_API_BASE={SMS_BASES[self.provider]}"
            _refuse_own_credential_on_stand_in(credential, self.api_base, "/sandbox/sms", None, "an account", setting)
        return self

    def base(self) -> str:
        return self.api_base or SMS_BASES[self.provider]
