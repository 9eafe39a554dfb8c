"""Every number of the contract's analytics on a scripted month, worked out by hand in the comments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.store.facts import Fact, Kind
from gateway.store.sql.analytics import SpendRow
from gateway.usecases.analytics.numbers import Costs, Kpi, compute, percentile

MSK = ZoneInfo("Europe/Moscow")
START, END = datetime(2026, 11, 1, tzinfo=MSK), datetime(2026, 12, 1, tzinfo=MSK)


def at(day: int, month: int = 11, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=MSK)


def fact(kind: str, key: str, lead: str, when: datetime, **tags: object) -> Fact:
    return Fact(key=key, kind=kind, tenant="salon", at=when, lead=lead, **tags)  # type: ignore[arg-type]


TG_VK = {"channel": "telegram", "utm_source": "vk", "utm_campaign": "spring"}
TG = {"channel": "telegram"}
WA_IG = {"channel": "whatsapp", "utm_source": "ig", "utm_campaign": "reels"}
FIRST_VISIT_A = fact(Kind.VISIT, "visit:1", "a", at(1, 6), person="A", amount=1000, service="manicure", **TG_VK)
PERIOD = [
    fact(Kind.LEAD, "lead:t1", "t1", at(3), **TG_VK),
    fact(Kind.LEAD, "lead:t2", "t2", at(4), **TG),
    fact(Kind.LEAD, "lead:w3", "w3", at(5), **WA_IG),
    fact(Kind.FIRST_REPLY, "first_reply:t1", "t1", at(3), seconds=0.4, **TG_VK),
    fact(Kind.FIRST_REPLY, "first_reply:t2", "t2", at(4), seconds=1.0, **TG),
    fact(Kind.FIRST_REPLY, "first_reply:w3", "w3", at(5), seconds=2.0, **WA_IG),
    fact(Kind.BOOKING, "booking:11", "t1", at(3), service="manicure", person="P1", **TG_VK),
    fact(Kind.BOOKING, "booking:12", "t2", at(4), service="manicure", person="P2", **TG),
    fact(Kind.BOOKING, "booking:13", "w3", at(5), service="haircut", person="P3", **WA_IG),
    fact(Kind.VISIT, "visit:11", "t1", at(8), service="manicure", person="P1", amount=1500, **TG_VK),
    fact(Kind.VISIT, "visit:13", "w3", at(9), service="haircut", person="P3", amount=2500, **WA_IG),
    fact(Kind.VISIT, "visit:2", "a", at(10), service="manicure", person="A", amount=1000, **TG_VK),
    fact(Kind.NO_SHOW, "no_show:12", "t2", at(8), service="manicure", person="P2", **TG),
    fact(Kind.CANCELLATION, "cancellation:14", "w3", at(20), service="haircut", person="P3", **WA_IG),
]
HISTORY = [
    FIRST_VISIT_A,
    *[f for f in PERIOD if f.kind == Kind.VISIT],
    fact(Kind.ASSIGNED, "assigned:t1", "t1", at(3), manager=7),
    fact(Kind.ASSIGNED, "assigned:t2", "t2", at(4), manager=7),
    fact(Kind.ASSIGNED, "assigned:w3", "w3", at(5), manager=8),
]
SPEND = [SpendRow(date(2026, 11, 5), "vk", "spring", 3000), SpendRow(date(2026, 11, 6), "ig", "reels", 1000)]


def numbers(by: str, more: Sequence[Fact] = ()) -> dict:
    """The scripted month by `by`, with `more` facts in the period."""
    return compute(
        tenant="salon",
        first=date(2026, 11, 1),
        last=date(2026, 11, 30),
        by=by,
        start=START,
        end=END,
        period=[*PERIOD, *more],
        history=HISTORY,
        spend=SPEND,
        costs=Costs(variable_per_visit=300),
        kpi=Kpi(base=1000, percent_of_revenue=5, min_conversion=0.5, min_attendance=0.6),
    )


def rows(body: dict) -> dict:
    return {row["key"]: row for row in body["rows"]}


def test_totals_follow_the_contracts_definitions():
    total = numbers("channel")["total"]
    assert (total["leads"], total["bookings"], total["visits"], total["no_shows"], total["cancellations"]) == (
        3,
        3,
        3,
        1,
        1,
    )
    assert total["first_reply_p50_s"] == 1.0 and total["first_reply_p90_s"] == 1.8  # 1.0 + (2.0 - 1.0) * 0.8
    assert total["no_show_rate"] == 0.25  # 1 / (3 + 1)
    assert total["revenue"] == 5000 and total["aov"] == 1666.67
    assert total["new_clients"] == 2  # P1 and P3; A first came in June
    assert total["spend"] == 4000 and total["cac"] == 2000 and total["cpo"] == 1333.33
    assert total["contribution"] == -633.33 and total["stop"] is True  # 1666.67 - 300 - 2000
    # LTV: 4 visits by 3 clients over the 182.5 days since A's first visit; they stayed 162, 0 and 0 days
    span_years, stay_years = 182.5 / 365, (162 / 365) / 3
    assert total["ltv"] == round(1666.67 * (4 / 3 / span_years) * stay_years, 2)  # the AOV as reported


def test_rows_by_channel_leave_spend_to_the_total():
    by = rows(numbers("channel"))
    telegram, whatsapp = by["telegram"], by["whatsapp"]
    assert (telegram["leads"], telegram["bookings"], telegram["visits"], telegram["no_shows"]) == (2, 2, 2, 1)
    assert telegram["first_reply_p50_s"] == 0.7 and telegram["first_reply_p90_s"] == 0.94
    assert telegram["no_show_rate"] == 0.3333 and telegram["revenue"] == 2500 and telegram["aov"] == 1250
    assert telegram["spend"] is None and telegram["cac"] is None and telegram["contribution"] is None
    assert (whatsapp["visits"], whatsapp["cancellations"], whatsapp["no_show_rate"], whatsapp["new_clients"]) == (
        1,
        1,
        0.0,
        1,
    )


def test_rows_by_source_carry_their_spend_and_say_which_to_stop():
    by = rows(numbers("utm_source"))
    vk, ig, untagged = by["vk"], by["ig"], by[None]
    assert (vk["visits"], vk["revenue"], vk["new_clients"], vk["spend"], vk["cac"], vk["cpo"]) == (
        2,
        2500,
        1,
        3000,
        3000,
        1500,
    )
    assert vk["contribution"] == -2050 and vk["stop"] is True  # 1250 - 300 - 3000
    assert (ig["cac"], ig["cpo"], ig["contribution"], ig["stop"]) == (1000, 1000, 1200, False)
    # no visit and no new client: every ratio over them is null, never 0
    assert untagged["leads"] == 1 and untagged["aov"] is None and untagged["cac"] is None and untagged["cpo"] is None
    assert untagged["spend"] == 0 and untagged["contribution"] is None and untagged["stop"] is False


def test_manager_kpis_and_the_bonus_formula():
    by = rows(numbers("manager"))
    first, second = by[7], by[8]
    assert (first["leads_handled"], first["conversion"], first["attendance"], first["revenue"]) == (2, 1.0, 0.5, 1500)
    assert first["bonus"] == 1000  # attendance 0.5 is under 0.6: the base only
    assert (second["conversion"], second["attendance"], second["bonus"]) == (1.0, 1.0, 1125)  # 1000 + 5% of 2500
    assert by[None]["visits"] == 1  # A's visit: nobody assigned to its lead


@pytest.mark.parametrize(
    ("values", "share", "expected"), [([], 0.5, None), ([3.0], 0.9, 3.0), ([1, 2, 3, 4], 0.5, 2.5)]
)
def test_percentiles_interpolate_and_none_for_nothing(values, share, expected):
    assert percentile(values, share) == expected


def test_a_period_without_facts_gives_nulls_not_zeros():
    body = compute(
        tenant="salon",
        first=date(2026, 11, 1),
        last=date(2026, 11, 30),
        by="channel",
        start=START,
        end=END,
        period=[],
        history=[],
        spend=[],
        costs=Costs(),
    )
    total = body["total"]
    assert body["rows"] == [] and total["leads"] == 0 and total["no_show_rate"] is None and total["aov"] is None
    assert total["ltv"] is None and total["cac"] is None and total["first_reply_p50_s"] is None


def test_managers_first_responses_after_a_hand_off_and_missed_deadlines():
    handed = [
        fact(Kind.MANAGER_REPLY, "manager_reply:t1", "t1", at(3), manager=7, seconds=120.0, **TG_VK),
        fact(Kind.MANAGER_REPLY, "manager_reply:t2", "t2", at(4), manager=7, seconds=600.0, **TG),
        fact(Kind.MANAGER_REPLY, "manager_reply:t3", "t3", at(5), manager=7, seconds=1800.0, **TG),
        fact(Kind.SLA_MISSED, "sla_missed:t3", "t3", at(5), manager=7, **TG),
        fact(Kind.MANAGER_REPLY, "manager_reply:w3", "w3", at(5), manager=8, seconds=60.0, **WA_IG),
        fact(Kind.MANAGER_REPLY, "manager_reply:old", "t9", at(20, 10), manager=8, seconds=9999.0, **TG),  # October
    ]
    body = numbers("manager", handed)
    by = rows(body)
    # 7: 120, 600, 1800 s -> the median 600, p90 between 600 and 1800: 600 + 0.8 * 1200 = 1560; one past its deadline
    assert (by[7]["first_response_p50_s"], by[7]["first_response_p90_s"], by[7]["sla_missed"]) == (600.0, 1560.0, 1)
    assert (by[8]["first_response_p50_s"], by[8]["sla_missed"]) == (60.0, 0)  # October's is outside the period
    assert by[None]["first_response_p50_s"] is None
    assert "first_response_p50_s" not in body["total"] and by[7]["leads_handled"] == 2  # other numbers as before


def test_deposits_count_and_split_the_no_show_rate_and_a_missed_visits_deposit_is_revenue():
    # P2 paid a 500 ₽ deposit (in October) and did not come; P1 paid one and came; P3 and A paid none
    deposits = [
        fact(Kind.DEPOSIT_PAID, "deposit:12", "t2", at(30, 10), amount=500, **TG),
        fact(Kind.DEPOSIT_PAID, "deposit:11", "t1", at(2), amount=500, **TG_VK),
    ]
    body = compute(
        tenant="salon",
        first=date(2026, 11, 1),
        last=date(2026, 11, 30),
        by="channel",
        start=START,
        end=END,
        period=[*PERIOD, deposits[1]],
        history=[*HISTORY, *deposits],
        spend=SPEND,
        costs=Costs(),
    )
    total = body["total"]
    assert total["deposits_paid"] == 1  # paid in the period; October's counts in October
    assert total["no_show_rate_deposit"] == 0.5  # of 11 (visited) and 12 (missed)
    assert total["no_show_rate_no_deposit"] == 0.0  # 13 and 2 came
    assert total["revenue"] == 1500 + 2500 + 1000 + 500  # the missed visit's deposit is kept
    telegram = rows(body)["telegram"]
    assert telegram["no_show_rate_deposit"] == 0.5 and telegram["revenue"] == 1500 + 1000 + 500
