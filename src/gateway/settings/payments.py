"""A tenant's payment provider, for deposits: YooKassa's shop id and secret key (HTTP Basic)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from gateway.settings.base import HttpsUrl, Secret, _secure_url, _Strict
from gateway.settings.channels import _refuse_own_credential_on_stand_in

YOOKASSA_BASE = "https://api.yookassa.ru/v3"


class PaymentsConfig(_Strict):
    provider: Literal["yookassa"] = "yookassa"
    shop_id: Secret
    secret_key: Secret
    api_base: HttpsUrl = YOOKASSA_BASE
    # where the client lands after paying (the salon's site, a thank-you page); unset: the chat's deep link
    return_url: HttpsUrl | None = None
    vat_code: int = Field(default=1, ge=1, le=12)  # the receipt line's VAT: 1 без НДС (YooKassa's codes)

    _check_urls = field_validator("api_base", "return_url")(
        classmethod(lambda cls, v: _secure_url(v).rstrip("/") if v is not None else None)
    )

    @model_validator(mode="after")
    def _own_key_not_on_the_stand_in(self) -> PaymentsConfig:
        setting = f"YK_API_BASE={YOOKASSA_BASE}"
        _refuse_own_credential_on_stand_in(self.secret_key, self.api_base, "/sandbox/yookassa", None, "a key", setting)
        return self
