"""One business: its time zone, hours, catalog, deep links, texts, portal and channels."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, StringConstraints, field_validator, model_validator

from domain import OpenHours, Service, WeekHours, parse_duration
from gateway.settings.base import Secret, _Strict
from gateway.settings.bitrix import BitrixConfig
from gateway.settings.channels import ChannelsConfig, SmsConfig
from gateway.settings.experiments import ExperimentConfig
from gateway.settings.lifecycle import BookingConfig, LifecycleConfig, RecommendConfig
from gateway.settings.payments import PaymentsConfig
from gateway.settings.texts import check_texts

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


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
    return_after: str | None = None  # when a client of this service is due back (replaces the middle retention step)

    @field_validator("return_after")
    @classmethod
    def _return_after(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


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


PUBLIC_PASSWORDS = frozenset({"change-me-dashboard"})  # the example config's, for trying it locally


class FormsConfig(_Strict):
    """`POST /forms/{tenant}`: website forms (Tilda's webhook, or JSON) as leads."""

    require_consent: bool = False  # refuse a form whose consent checkbox is unticked
    honeypot: str | None = "website"  # a field hidden from people: a form that fills it is a bot's
    per_minute: int = Field(default=5, ge=1, le=1000)  # forms an address may post a minute


class DashboardConfig(_Strict):
    """`GET /dashboard/{tenant}` and `/api/{tenant}/...`: HTTP Basic, user the tenant id."""

    password: Secret = Field(min_length=8)


class CostsConfig(_Strict):
    variable_per_visit: float = Field(default=0.0, ge=0)  # materials and fees, for the contribution margin


class KpiConfig(_Strict):
    """A manager's bonus: `base`, plus `percent_of_revenue` of the revenue of their visits when their
    conversion lead -> booking and attendance reach the minimums (shares, 0..1)."""

    base: float = Field(default=0.0, ge=0)
    percent_of_revenue: float = Field(default=0.0, ge=0, le=100)
    min_conversion: float = Field(default=0.0, ge=0, le=1)
    min_attendance: float = Field(default=0.0, ge=0, le=1)


class TenantConfig(_Strict):
    timezone: str = "Europe/Moscow"
    bitrix: BitrixConfig = BitrixConfig()
    channels: ChannelsConfig = ChannelsConfig()
    deeplinks: dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")], Utm] = {}
    catalog: list[CatalogItem] = []
    texts: dict[str, str] = {}  # the bot's phrases, by name (see gateway.settings.texts.Texts); Russian defaults
    # Days left out take the hours of the nearest listed day before them (mon covers tue..fri).
    hours: dict[Weekday, Any] = Field(default_factory=_default_hours)
    # Set: the bot books visits, reminds, and follows the deals in the portal; unset: round 1's behaviour.
    lifecycle: LifecycleConfig | None = None
    capacity: int = Field(default=1, ge=1, le=100)  # visits that may overlap (chairs, masters)
    booking: BookingConfig | None = None  # Bitrix24 Online Booking; unset: visits live on deals only
    dashboard: DashboardConfig | None = None  # set: the owner's numbers are kept and shown
    forms: FormsConfig | None = None  # set: POST /forms/{tenant} takes website forms
    sms: SmsConfig | None = None  # set: a reminder no messenger can take goes by SMS
    costs: CostsConfig = CostsConfig()
    kpi: KpiConfig | None = None
    experiments: list[ExperimentConfig] = []  # with lifecycle: variants of texts, timing and discounts
    payments: PaymentsConfig | None = None  # a payment provider, for lifecycle.deposit
    recommend: RecommendConfig = RecommendConfig()  # which mined pairs are kept (upsell: auto, the API)

    @model_validator(mode="after")
    def _deposit_needs_payments(self) -> TenantConfig:
        if self.lifecycle is not None and self.lifecycle.deposit is not None and self.payments is None:
            raise ValueError("lifecycle.deposit: needs payments: {provider: yookassa, shop_id, secret_key}")
        return self

    @property
    def analytics(self) -> bool:
        """Facts are recorded (and folded into the business store) for this tenant."""
        return self.lifecycle is not None or self.dashboard is not None

    @model_validator(mode="after")
    def _lifecycle_needs_visit_field(self) -> TenantConfig:
        if self.lifecycle is not None and self.bitrix.visit_field is None:
            raise ValueError("bitrix.visit_field: required with lifecycle (the deal's date-time field for the visit)")
        return self

    @model_validator(mode="after")
    def _live_dashboard_needs_own_password(self) -> TenantConfig:
        """A real portal's numbers must not be behind the example config's public password."""
        if self.dashboard is not None and self.bitrix.webhook_url and self.dashboard.password in PUBLIC_PASSWORDS:
            raise ValueError(
                "dashboard.password: the example's public password with a real portal; set DASHBOARD_PASSWORD"
            )
        return self

    @model_validator(mode="after")
    def _upsell_names_the_catalog(self) -> TenantConfig:
        known = {item.id for item in self.catalog}
        for index, rule in enumerate(self.lifecycle.upsell if self.lifecycle else []):
            for name in ("service", "offer"):
                if getattr(rule, name) not in known:
                    raise ValueError(f"lifecycle.upsell[{index}].{name}: {getattr(rule, name)!r} is not in the catalog")
        return self

    @model_validator(mode="after")
    def _experiments_fit(self) -> TenantConfig:
        """Each experiment needs what it varies, and no two vary the same thing (a person would get both)."""
        ids: set[str] = set()
        varied: dict[str, str] = {}
        for index, experiment in enumerate(self.experiments):
            where = f"experiments[{index}] ({experiment.id})"
            if self.lifecycle is None:
                raise ValueError(f"{where}: needs lifecycle (the visits and messages it counts)")
            if experiment.no_show is not None and self.lifecycle.no_show is None:
                raise ValueError(f"{where}: a discount experiment needs lifecycle.no_show (its valid_days)")
            if experiment.id in ids:
                raise ValueError(f"{where}: a second experiment with this id")
            ids.add(experiment.id)
            what = experiment.varies()
            if what in varied:
                raise ValueError(f"{where}: {varied[what]} already varies {what}")
            varied[what] = experiment.id
        return self

    def return_after(self, service_ids: tuple[str, ...] | list[str]) -> str | None:
        """The soonest `return_after` of these services, as written."""
        found = [c.return_after for c in self.catalog if c.id in service_ids and c.return_after]
        return min(found, key=parse_duration) if found else None

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
        return check_texts(value)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, Any]) -> dict[str, Any]:
        wrong: list[str] = []
        for day, spec in value.items():
            try:
                _parse_hours(spec)
            except ValueError as exc:
                wrong.append(f"{day}: {exc}")
        if wrong:  # every bad day at once, a line each
            raise ValueError("\n".join(wrong))
        return value

    def services(self) -> list[Service]:
        """The catalog as the qualifier reads it."""
        return [Service(c.id, c.name, tuple(c.aliases), c.duration_min, c.price) for c in self.catalog]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def opening_hours(self) -> WeekHours:
        """Hours for mon..sun, with unlisted days inheriting from the previous listed day."""
        week: list[OpenHours | None] = []
        current: OpenHours | None = (time(10), time(21))
        for day in WEEKDAYS:
            if day in self.hours:
                current = _parse_hours(self.hours[day])
            week.append(current)
        return week
