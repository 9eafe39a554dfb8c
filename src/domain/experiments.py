"""Experiments as the business runs them: which metric decides, and which variant a person gets. The
choice is a hash of the person, so it is the same on every replica and after a restart."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from enum import StrEnum


class Metric(StrEnum):
    CONFIRMED_3H = "confirmed_3h"  # the visit confirmed at least 3 h before it
    BOOKED = "booked"  # the person booked within 30 days of the message
    VISITED = "visited"  # the visit took place
    NO_SHOW = "no_show"  # the visit was missed (lower is better)
    OFFER_BOOKED = "offer_booked"  # the offer was taken: a booking or an accepted upsell within 30 days
    REVIEW_LEFT = "review_left"  # the client rated the visit when asked (lifecycle.review)


LOWER_IS_BETTER = frozenset({Metric.NO_SHOW})
DEFAULT_TEXT = "{default}"  # a text variant that is the tenant's own text


def variant_names(count: int) -> list[str]:
    """A, B, C...: how the owner reads the variants, in the order the config lists them."""
    return [chr(ord("A") + index) for index in range(count)]


def bucket(tenant: str, experiment: str, person: str, shares: Sequence[float]) -> int:
    """The index of the variant `person` falls in, with the variants taking `shares` (summing to 1).

    SHA-256 of the three names, not Python's `hash` (salted per process), read as a fraction in [0, 1)."""
    digest = hashlib.sha256(f"{tenant}\x1f{experiment}\x1f{person}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for index, share in enumerate(shares):
        edge += share
        if point < edge:
            return index
    return len(shares) - 1  # rounding left the last edge a hair under 1
