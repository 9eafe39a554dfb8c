"""The channels a tenant answers on, with their credentials."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints, field_validator, model_validator

from gateway.settings.base import HttpsUrl, Secret, _secure_url, _Strict


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

