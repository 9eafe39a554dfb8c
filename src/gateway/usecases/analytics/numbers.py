"""The owner's numbers from the facts, exactly as the contract defines them: per `by` key and in total.

A ratio whose denominator is zero is None, never 0. Money is rounded to kopecks, ratios to four places.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from statistics import mean
from typing import Any

from gateway.store.facts import Fact, Kind
from gateway.store.sql.analytics import SpendRow

BY_KEYS = ("channel", "utm_source", "utm_campaign", "service", "manager")
SPEND_KEYS = ("utm_source", "utm_campaign")  # spend belongs to the ad: per row only when keyed by it
LTV_MIN_HISTORY_DAYS = 90


@dataclass(frozen=True)
class Costs:
    variable_per_visit: float = 0.0


@dataclass(frozen=True)
class Kpi:
    base: float = 0.0
    percent_of_revenue: float = 0.0
    min_conversion: float = 0.0
    min_attendance: float = 0.0


def ratio(top: float, bottom: float, places: int = 4) -> float | None:
    return round(top / bottom, places) if bottom else None


def percentile(values: Sequence[float], share: float) -> float | None:
    """Linear interpolation between the closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 2)


@dataclass
class _Row:
    leads: int = 0
    replies: list[float] | None = None
    bookings: int = 0
    visits: int = 0
    no_shows: int = 0
    cancellations: int = 0
    recovered: int = 0
    revenue: float = 0.0
    new_clients: int = 0
    spend: float | None = None
    manager_replies: list[float] | None = None  # seconds from hand-off to a manager's first reply
    sla_missed: int = 0
    scores: list[float] | None = None  # clients' ratings of their visits, 1 to 5
    deposits_paid: int = 0
    waitlist_filled: int = 0  # freed slots booked from the waitlist
    waitlist_revenue: float = 0.0  # what the visits so booked brought
    visits_with_deposit: int = 0  # visits and no-shows of bookings whose deposit was paid
    no_shows_with_deposit: int = 0

    def __post_init__(self) -> None:
        self.replies = []
        self.manager_replies = []
        self.scores = []


class Lifetime:
    """Visits per client a year and years a client stays, from every visit up to the period's end."""

    def __init__(self, visits: Iterable[Fact], end: datetime) -> None:
        by_person: dict[str, list[datetime]] = defaultdict(list)
        for fact in visits:
            by_person[fact.person or fact.lead].append(fact.at)
        self.clients = len(by_person)
        self.visits = sum(len(times) for times in by_person.values())
        first = min((min(t) for t in by_person.values()), default=None)
        self.span_days = (end - first).total_seconds() / 86400 if first else 0.0
        stays = [(max(t) - min(t)).total_seconds() / 86400 / 365 for t in by_person.values()]
        self.years = mean(stays) if stays else 0.0

    def ltv(self, aov: float | None) -> float | None:
        if aov is None or not self.clients or self.span_days < LTV_MIN_HISTORY_DAYS:
            return None
        per_year = self.visits / self.clients / (self.span_days / 365)
        return round(aov * per_year * self.years, 2)


def _keyer(by: str, managers: dict[str, int]) -> Callable[[Fact], Any]:
    if by == "manager":
        return lambda f: f.manager if f.manager is not None else managers.get(f.lead)
    return lambda f: getattr(f, by) or None


COUNTED = {
    Kind.LEAD: "leads",
    Kind.BOOKING: "bookings",
    Kind.VISIT: "visits",
    Kind.NO_SHOW: "no_shows",
    Kind.CANCELLATION: "cancellations",
    Kind.RECOVERED: "recovered",
    Kind.DEPOSIT_PAID: "deposits_paid",
    Kind.WAITLIST_FILLED: "waitlist_filled",
}


def visit_of_key(key: str) -> int | None:
    """The visit a visit fact is about: its key ends with the visit's id (visit:17, no_show:17, deposit:17)."""
    tail = key.rpartition(":")[2]
    return int(tail) if tail.isdigit() else None


_ATTENDED = (Kind.VISIT, Kind.NO_SHOW)


@dataclass
class _Tally:
    """The rows by key and the total, counted together: every fact lands in its row and in the total."""

    key_of: Callable[[Fact], Any]
    start: datetime
    end: datetime
    deposits: dict[int, float] = field(default_factory=dict)  # paid deposits (rubles) by visit, ever
    waitlisted: set[int] = field(default_factory=set)  # visits booked from the waitlist, ever
    rows: dict[Any, _Row] = field(default_factory=lambda: defaultdict(_Row))
    total: _Row = field(default_factory=_Row)

    def of(self, fact: Fact) -> tuple[_Row, _Row]:
        return self.rows[self.key_of(fact)], self.total

    def count(self, period: Sequence[Fact]) -> None:
        """Leads, bookings, visits... that happened in the period; first replies of the period's leads."""
        in_period = [f for f in period if self.start <= f.at < self.end]
        leads = {f.lead: f for f in in_period if f.kind == Kind.LEAD}
        for fact in period:
            if fact.kind == Kind.FIRST_REPLY and fact.lead in leads and fact.seconds is not None:
                for row in self.of(leads[fact.lead]):
                    row.replies.append(fact.seconds)  # type: ignore[union-attr]
        for fact in in_period:
            if fact.kind in (Kind.MANAGER_REPLY, Kind.SLA_MISSED):
                self._manager(fact)
                continue
            if fact.kind == Kind.RATING and fact.amount is not None:
                for row in self.of(fact):
                    row.scores.append(fact.amount)  # type: ignore[union-attr]
                continue
            name = COUNTED.get(fact.kind)
            if name is not None:
                self._counted(fact, name)

    def _counted(self, fact: Fact, name: str) -> None:
        visit = visit_of_key(fact.key) if fact.kind in _ATTENDED else None
        deposit = self.deposits.get(visit) if visit is not None else None
        for row in self.of(fact):
            setattr(row, name, getattr(row, name) + 1)
            if fact.kind == Kind.VISIT:
                row.revenue += fact.amount or 0.0
                row.waitlist_revenue += (fact.amount or 0.0) if visit in self.waitlisted else 0.0
            if deposit is not None:  # a missed visit's deposit is kept: it is that booking's revenue
                row.visits_with_deposit += fact.kind == Kind.VISIT
                row.no_shows_with_deposit += fact.kind == Kind.NO_SHOW
                row.revenue += deposit if fact.kind == Kind.NO_SHOW else 0.0

    def _manager(self, fact: Fact) -> None:
        for row in self.of(fact):
            if fact.kind == Kind.SLA_MISSED:
                row.sla_missed += 1
            elif fact.seconds is not None:
                row.manager_replies.append(fact.seconds)  # type: ignore[union-attr]

    def new_clients(self, visits: Sequence[Fact]) -> None:
        """People whose first visit ever is in the period, in the row of that visit."""
        firsts: dict[str, Fact] = {}
        for fact in sorted(visits, key=lambda f: f.at):
            firsts.setdefault(fact.person or fact.lead, fact)
        for fact in firsts.values():
            if self.start <= fact.at < self.end:
                for row in self.of(fact):
                    row.new_clients += 1


def compute(
    *,
    tenant: str,
    first: date,
    last: date,
    by: str,
    start: datetime,
    end: datetime,
    period: Sequence[Fact],
    history: Sequence[Fact],
    spend: Sequence[SpendRow],
    costs: Costs,
    kpi: Kpi | None = None,
) -> dict[str, Any]:
    """`period`: the facts in [start, end) (first replies a little past it too); `history`: every visit
    and manager fact before `end`."""
    managers = {f.lead: int(f.manager) for f in history if f.kind == Kind.ASSIGNED and f.manager is not None}
    deposits = {v: f.amount or 0.0 for f in history if f.kind == Kind.DEPOSIT_PAID if (v := visit_of_key(f.key))}
    waitlisted = {v for f in history if f.kind == Kind.WAITLIST_FILLED if (v := visit_of_key(f.key))}
    tally = _Tally(_keyer(by, managers), start, end, deposits, waitlisted)
    tally.count(period)
    visits = [f for f in history if f.kind == Kind.VISIT]
    tally.new_clients(visits)
    rows, total = tally.rows, tally.total
    total.spend = round(sum(s.amount for s in spend), 2)
    if by in SPEND_KEYS:
        for paid in spend:
            row = rows[getattr(paid, by)]
            row.spend = round((row.spend or 0.0) + paid.amount, 2)
    lifetime = Lifetime(visits, end)
    body = [_numbers(key, row, by in SPEND_KEYS, costs, lifetime) for key, row in rows.items()]
    body.sort(key=lambda r: (-r["leads"], -r["visits"], str(r["key"])))
    if by == "manager":
        for numbers in body:
            numbers.update(_manager_kpis(numbers, kpi))
            numbers.update(_first_responses(rows[numbers["key"]]))
    return {
        "tenant": tenant,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "by": by,
        "rows": body,
        "total": _numbers(None, total, True, costs, lifetime),
    }


def _numbers(key: Any, row: _Row, with_spend: bool, costs: Costs, lifetime: Lifetime) -> dict[str, Any]:
    aov = ratio(row.revenue, row.visits, 2)
    spend = (row.spend or 0.0) if with_spend else None
    cac = ratio(spend, row.new_clients, 2) if spend is not None else None
    cpo = ratio(spend, row.visits, 2) if spend is not None else None
    contribution = round(aov - costs.variable_per_visit - cac, 2) if aov is not None and cac is not None else None
    return {
        "key": key,
        "leads": row.leads,
        "first_reply_p50_s": percentile(row.replies or [], 0.5),
        "first_reply_p90_s": percentile(row.replies or [], 0.9),
        "bookings": row.bookings,
        "visits": row.visits,
        "no_shows": row.no_shows,
        "cancellations": row.cancellations,
        "no_show_rate": ratio(row.no_shows, row.visits + row.no_shows),
        "recovered": row.recovered,
        "revenue": round(row.revenue, 2),
        "aov": aov,
        "new_clients": row.new_clients,
        "spend": spend,
        "cac": cac,
        "cpo": cpo,
        "ltv": lifetime.ltv(aov),
        "contribution": contribution,
        "stop": contribution is not None and contribution < 0,
        "deposits_paid": row.deposits_paid,
        # whether deposits pay: the no-show rate of the bookings with a paid deposit and of the rest
        "no_show_rate_deposit": ratio(row.no_shows_with_deposit, row.visits_with_deposit + row.no_shows_with_deposit),
        "no_show_rate_no_deposit": ratio(
            row.no_shows - row.no_shows_with_deposit,
            row.visits + row.no_shows - row.visits_with_deposit - row.no_shows_with_deposit,
        ),
        "waitlist_filled": row.waitlist_filled,
        "waitlist_revenue": round(row.waitlist_revenue, 2),
        "ratings": len(row.scores or []),
        "rating_avg": round(mean(row.scores), 2) if row.scores else None,
    }


def _first_responses(row: _Row) -> dict[str, Any]:
    """App mode: how fast a manager answered a client the bot handed over, and how often past the deadline."""
    return {
        "first_response_p50_s": percentile(row.manager_replies or [], 0.5),
        "first_response_p90_s": percentile(row.manager_replies or [], 0.9),
        "sla_missed": row.sla_missed,
    }


def _manager_kpis(row: dict[str, Any], kpi: Kpi | None) -> dict[str, Any]:
    """Seeds 004: leads handled, conversion lead -> booking, attendance, revenue; and the bonus, if the
    tenant has a formula: base, plus a share of the revenue when both thresholds are met."""
    conversion = ratio(row["bookings"], row["leads"])
    attendance = ratio(row["visits"], row["visits"] + row["no_shows"])
    extra: dict[str, Any] = {"leads_handled": row["leads"], "conversion": conversion, "attendance": attendance}
    if kpi is not None:
        met = (conversion or 0.0) >= kpi.min_conversion and (attendance or 0.0) >= kpi.min_attendance
        share = row["revenue"] * kpi.percent_of_revenue / 100 if met else 0.0
        extra["bonus"] = round(kpi.base + share, 2)
    return extra
