"""An owner's experiments: variants of a text, of the reminders' timing, or of the no-show discount,
each judged by one metric. Written as `experiments:` in a tenant's config (README, "Experiments")."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from domain import parse_duration
from domain.experiments import DEFAULT_TEXT, Metric, variant_names
from gateway.settings.base import _Strict
from gateway.settings.texts import PLACEHOLDERS, Texts

# The texts of the messages the bot starts about a visit: their delivery is what an experiment counts.
OUTREACH_TEXTS = frozenset(
    {
        "reminder",
        "sms_reminder",
        "booked_by_manager",
        "moved_by_manager",
        "cancelled_by_manager",
        "no_show_offer",
        "retention_offer",
        "upsell_offer",
        "consent_question",
        "review_question",
    }
)
# What the store records: every metric (review_left from the ratings of lifecycle.review).
RECORDED_METRICS = frozenset(Metric)
SHARE_TOLERANCE = 1e-6
# What an experiment varies, as the message that shows it names it (one experiment each).
TIMING = "reminders"
DISCOUNT = "no_show"


def text_varies(text_id: str) -> str:
    return f"text:{text_id}"


class DiscountVariant(_Strict):
    discount_percent: int = Field(ge=1, le=100)


class ExperimentConfig(_Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,48}$")]
    metric: Metric
    split: list[float] | None = None  # shares of the variants, in their order; equal when unset
    texts: dict[str, list[str]] | None = None  # one text: its variants ("{default}": the tenant's own)
    reminders: list[list[str]] | None = None  # the reminder offsets of each variant: [[24h, 2h], [48h, 3h]]
    no_show: list[DiscountVariant] | None = None  # the no-show offer's discount of each variant

    @model_validator(mode="after")
    def _one_kind(self) -> ExperimentConfig:
        given = [name for name in ("texts", "reminders", "no_show") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                f"experiment {self.id}: give exactly one of texts, reminders, no_show (got {given or 'none'})"
            )
        if self.metric not in RECORDED_METRICS:
            raise ValueError(
                f"experiment {self.id}: metric {self.metric.value} needs review requests, not available yet"
            )
        count = len(self.variants())
        if count < 2 or count > 8:
            raise ValueError(f"experiment {self.id}: 2 to 8 variants, got {count}")
        if self.split is not None:
            if len(self.split) != count or any(share <= 0 for share in self.split):
                raise ValueError(f"experiment {self.id}: split needs {count} positive shares")
            if abs(sum(self.split) - 1) > SHARE_TOLERANCE:
                raise ValueError(f"experiment {self.id}: split must add up to 1 (got {sum(self.split)})")
        return self

    @field_validator("texts")
    @classmethod
    def _texts(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if value is None:
            return None
        if len(value) != 1:
            raise ValueError("one text per experiment (a second text is a second experiment)")
        ((text_id, variants),) = value.items()
        if text_id not in Texts.__dataclass_fields__:
            raise ValueError(f"{text_id}: no such text")
        if text_id not in OUTREACH_TEXTS:
            allowed = ", ".join(sorted(OUTREACH_TEXTS))
            raise ValueError(f"{text_id}: only the texts of messages the bot starts can be tried: {allowed}")
        for variant in variants:
            if variant == DEFAULT_TEXT:
                continue
            try:
                variant.format(**dict.fromkeys(PLACEHOLDERS, ""))
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"{text_id}: {variant!r}: unknown placeholder {exc}") from None
        return value

    @field_validator("reminders")
    @classmethod
    def _reminders(cls, value: list[list[str]] | None) -> list[list[str]] | None:
        for offsets in value or []:
            if not offsets:
                raise ValueError("a variant with no reminders: write at least one offset")
            for item in offsets:
                parse_duration(item)
        return value

    def variants(self) -> list[object]:
        """What each variant sets, in order: a text, a list of offsets, or a discount."""
        if self.texts is not None:
            return list(next(iter(self.texts.values())))
        if self.reminders is not None:
            return list(self.reminders)
        return list(self.no_show or [])

    def settings(self, own_text: str = "") -> list[str]:
        """Each variant as the owner reads it: the text (`own_text` for the tenant's own), the reminder
        offsets, or the discount."""
        if self.texts is not None:
            return [own_text if text == DEFAULT_TEXT else text for text in self.variants() if isinstance(text, str)]
        if self.reminders is not None:
            return [", ".join(offsets) for offsets in self.reminders]
        return [f"скидка {variant.discount_percent}%" for variant in self.no_show or []]

    def names(self) -> list[str]:
        return variant_names(len(self.variants()))

    def shares(self) -> list[float]:
        count = len(self.variants())
        return list(self.split) if self.split is not None else [1 / count] * count

    def varies(self) -> str:
        """What the experiment changes: `text:<id>`, `reminders` or `no_show` (one experiment each)."""
        return text_varies(self.text_id) if self.text_id else TIMING if self.reminders is not None else DISCOUNT

    @property
    def text_id(self) -> str | None:
        return next(iter(self.texts)) if self.texts is not None else None
