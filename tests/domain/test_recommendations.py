"""Pair mining on a small history worked out by hand: same visit, within 60 days, not after; confidence,
lift, the thresholds; and which pair a visit is offered."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.recommendations import Had, Pair, best_for, mine

MSK = ZoneInfo("Europe/Moscow")
DAY = datetime(2026, 3, 1, 12, tzinfo=MSK)


def had(person: str, days: int, *services: str) -> Had:
    return Had(person, DAY + timedelta(days=days), services)


HISTORY = [
    had("p1", 0, "manicure", "paraffin"),  # the same visit
    had("p2", 0, "manicure"),
    had("p2", 30, "paraffin"),  # within 60 days after
    had("p3", 0, "manicure"),
    had("p3", 90, "paraffin"),  # too late: not a pair
    had("p4", 0, "haircut"),
    had("p5", 0, "haircut"),
    had("p6", 0, "paraffin"),
]


def test_pairs_count_the_same_visit_and_sixty_days_after_with_confidence_and_lift():
    pairs = mine(HISTORY, min_clients=2, min_lift=1.0)
    # 6 people; manicure: p1 p2 p3; paraffin: p1 p2 p3 p6 (4/6); both manicure -> paraffin: p1 p2
    # confidence 2/3, lift (2/3)/(4/6) = 1.0
    assert pairs == [Pair("manicure", "paraffin", 2, 0.6667, 1.0)]
    # paraffin -> manicure: p1 (same visit) only; p2's manicure came before her paraffin
    # confidence 1/4, lift 0.25 / (3/6) = 0.5: kept only with a lift threshold under it
    assert Pair("paraffin", "manicure", 1, 0.25, 0.5) in mine(HISTORY, min_clients=1, min_lift=0.1)
    assert all(p.service != "paraffin" for p in mine(HISTORY, min_clients=1, min_lift=1.0))


def test_thresholds_keep_only_strong_enough_pairs_and_a_visit_gets_the_best_it_lacks():
    assert mine(HISTORY, min_clients=3, min_lift=1.0) == []  # only two people had both
    assert mine(HISTORY, min_clients=2, min_lift=1.5) == []  # lift 1.0
    weak = Pair("manicure", "brows", 9, 0.3, 1.6)
    strong = Pair("manicure", "paraffin", 5, 0.6, 3.0)
    assert best_for([weak, strong], ["manicure"]) == strong
    assert best_for([weak, strong], ["manicure", "paraffin"]) == weak  # already has the strongest
    assert best_for([weak, strong], ["haircut"]) is None
