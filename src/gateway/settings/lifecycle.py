"""The appointment lifecycle of one business: reminders, quiet hours, templates, how often the portal is read."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from domain import QuietHours, parse_duration
from gateway.settings.base import Secret, _Strict


def _a_duration(value: str) -> str:
    parse_duration(value)  # 90s, 15m, 2h, 7d; anything else fails at load, naming the key
    return value


Duration = Annotated[str, AfterValidator(_a_duration)]
_QUIET = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class ReminderTemplate(_Strict):
    """An approved WhatsApp template for a reminder outside the 24-hour window; its body's parameters are
    the service, the date and the time of the visit, in that order."""

    name: Secret
    language: str = "ru"


class LifecycleTemplates(_Strict):
    reminder: ReminderTemplate | None = None


class NoShowOffer(_Strict):
    """A client who did not come is offered to rebook at a discount, valid this many days."""

    discount_percent: int = Field(ge=1, le=100)
    valid_days: int = Field(default=14, ge=1, le=365)


class UpsellRule(_Strict):
    """Offer catalog service `offer` to a client booked for `service`: when the visit is confirmed
    (`confirmation`), and/or a duration before it (`48h`)."""

    service: str
    offer: str
    at: list[str] = Field(default=["confirmation"], min_length=1)

    @field_validator("at")
    @classmethod
    def _moments(cls, value: list[str]) -> list[str]:
        for item in value:
            if item != "confirmation":
                parse_duration(item)
        return value


class ConsentConfig(_Strict):
    """The one question about offers the bot asks after a first booking (38-FZ art. 18; a separate act
    since 2025-09-01): the policy it links to and the version of the text, kept with every answer."""

    policy_url: str = Field(pattern=r"^https?://")
    text_version: str = Field(min_length=1, max_length=64)


class ReviewConfig(_Strict):
    """After a visit, one question: a rating of 1 to 5. 4 and 5 get the review links, 1 to 3 «что пошло не
    так?» and the deal's responsible a to-do due `todo_within` of opening hours. Never a reward for a review
    (Yandex does not publish reviews written for one)."""

    after: Duration = "3h"
    links: dict[str, str] = {}  # shown to 4 and 5 in this order: {Яндекс Карты: https://..., 2ГИС: https://...}
    todo_within: Duration = "1h"

    @field_validator("links")
    @classmethod
    def _links(cls, value: dict[str, str]) -> dict[str, str]:
        for name, url in value.items():
            if not re.match(r"^https://\S+$", url):
                raise ValueError(f"review link {name!r}: an https:// address, got {url!r}")
        return value


class DepositConfig(_Strict):
    """A booking by a client a rule names is held for `hold` with a payment link (tenant `payments:`);
    paid, it is booked; not paid in time, the slot is freed and the client told."""

    amount: int = Field(ge=1, le=1_000_000)  # rubles
    # whose bookings: a client with no visit yet, a client who missed one (usecases/visits/deposits.py)
    for_: list[Literal["new_client", "after_no_show"]] = Field(alias="for", min_length=1)
    hold: str = "30m"

    @field_validator("hold")
    @classmethod
    def _hold(cls, value: str) -> str:
        if not timedelta(seconds=1) <= parse_duration(value) <= timedelta(hours=24):
            raise ValueError("between 1s and 24h: a payment link is payable for an hour or a day, not longer")
        return value


class RecommendConfig(_Strict):
    """Pairs mined from the visits ("had A, then B in the same visit or within `within`") are kept when at
    least `min_clients` people had both and the lift is at least `min_lift`."""

    min_clients: int = Field(default=5, ge=1)
    min_lift: float = Field(default=1.5, ge=1.0)
    within: Duration = "60d"


class WaitlistConfig(_Strict):
    """When no offered time suits, the client may wait for one near the time they asked (`around` either
    side); a slot freed by a cancellation or a move goes to them in the order they joined, each for
    `offer_for`."""

    offer_for: Duration = "15m"
    around: Duration = "2h"


class LifecycleConfig(_Strict):
    reminders: list[str] = ["24h", "2h"]  # before the visit
    quiet_hours: str | None = "21:00-09:00"  # tenant-local; nothing bot-initiated is sent inside
    templates: LifecycleTemplates = LifecycleTemplates()
    # How often the portal is asked for deals changed meanwhile (Bitrix24 never re-sends a lost event).
    poll_interval: str = "60s"
    min_lead: str = "30m"  # the soonest a slot offered may start
    no_show: NoShowOffer | None = None
    retention: list[str] = []  # after a visit, e.g. [7d, 30d, 90d]; a service's return_after replaces the middle one
    upsell: list[UpsellRule] = []  # `auto` in it (or `upsell: auto`): mined pairs too (upsell_auto)
    upsell_auto: bool = False  # set by `auto`: the best mined pair is offered where no listed rule is
    consent: ConsentConfig | None = None
    marketing_gap: str = "1d"  # at most one advertising message per person in this span, across channels
    review: ReviewConfig | None = None  # after a visit: the rating question
    waitlist: WaitlistConfig | None = None  # clients waiting for a freed slot near the time they asked
    deposit: DepositConfig | None = None  # a payment link for risky bookings (needs the tenant's payments)

    @model_validator(mode="before")
    @classmethod
    def _auto_upsell(cls, data: Any) -> Any:
        """`upsell: auto`, or `auto` among the listed rules: the mined pairs are offered too."""
        if not isinstance(data, dict):
            return data
        upsell = data.get("upsell")
        if upsell == "auto" or (isinstance(upsell, list) and "auto" in upsell):
            rules = [rule for rule in upsell if rule != "auto"] if isinstance(upsell, list) else []
            return {**data, "upsell": rules, "upsell_auto": True}
        return data

    @model_validator(mode="after")
    def _offers_need_consent(self) -> LifecycleConfig:
        if self.consent is None and (self.no_show or self.retention or self.upsell or self.upsell_auto):
            raise ValueError(
                "no_show, retention and upsell are advertising (38-FZ art. 18): set lifecycle.consent "
                "{policy_url, text_version} so the bot can ask for, and keep, the client's yes"
            )
        return self

    @field_validator("min_lead", "marketing_gap", "reminders", "retention")
    @classmethod
    def _durations(cls, value: str | list[str]) -> str | list[str]:
        for item in [value] if isinstance(value, str) else value:
            parse_duration(item)
        return value

    @field_validator("poll_interval")
    @classmethod
    def _poll(cls, value: str) -> str:
        if parse_duration(value) > timedelta(minutes=1):
            raise ValueError("at most 60s: a lost Bitrix24 event must be noticed within a minute")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        if value is not None:
            _parse_quiet(value)
        return value

    def offsets(self) -> list[tuple[str, timedelta]]:
        """(as written, the duration) of each reminder: the kind a reminder is recorded under."""
        return [(item, parse_duration(item)) for item in self.reminders]

    def gap(self) -> timedelta:
        return parse_duration(self.marketing_gap)

    def retention_offsets(self, return_after: str | None) -> list[tuple[str, timedelta]]:
        """(as written, the duration) of each retention step; `return_after` (the visited service's)
        replaces the middle step."""
        steps = list(self.retention)
        if return_after and steps:
            steps[len(steps) // 2] = return_after
        return [(item, parse_duration(item)) for item in steps]

    def quiet(self) -> QuietHours | None:
        return _parse_quiet(self.quiet_hours) if self.quiet_hours else None

    def poll_seconds(self) -> float:
        return parse_duration(self.poll_interval).total_seconds()


def _parse_quiet(value: str) -> QuietHours:
    match = _QUIET.match(value.strip())
    if not match:
        raise ValueError(f"{value!r}: expected HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        begins, ends = time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ValueError(f"{value!r}: {exc}") from None
    if begins == ends:
        raise ValueError(f"{value!r}: begins and ends at the same time")
    return QuietHours(begins, ends)


class Stages(_Strict):
    """STAGE_IDs of the tenant's pipeline, by meaning (defaults: Bitrix24's default deal pipeline)."""

    booked: Secret = "PREPARATION"
    confirmed: Secret = "PREPAYMENT_INVOICE"
    visited: Secret = "WON"
    no_show: Secret = "LOSE"
    cancelled: Secret = "APOLOGY"


class BookingResource(_Strict):
    id: int = Field(ge=1)  # booking.v1.resource.list
    name: str = ""
    services: list[str] = []  # catalog ids this resource does; empty: every service


class BookingConfig(_Strict):
    """Bitrix24 Online Booking (booking.v1, scope `booking`): visits are bookings of these resources,
    offered from their slot schedules minus their bookings."""

    resources: list[BookingResource] = Field(min_length=1)

    def serving(self, service_ids: list[str] | tuple[str, ...]) -> list[int]:
        """The resources that do all of these services."""
        return [r.id for r in self.resources if not r.services or set(service_ids) <= set(r.services)]
