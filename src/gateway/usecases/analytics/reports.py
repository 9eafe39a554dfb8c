"""The owner's numbers for a period, from the business store: what the API, the dashboard and
`lead-gateway report` show. Dates are the tenant's, `last` included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.settings import TenantConfig
from gateway.store.facts import Kind
from gateway.store.sql import analytics as store
from gateway.usecases.analytics.numbers import BY_KEYS, Costs, Kpi, compute

REPLY_MARGIN = timedelta(hours=1)  # a lead late on the last day is answered after midnight


class BadPeriod(ValueError):
    """A period or key the caller must correct (answered 400)."""


# The days the numbers can be asked about: year 1 or 9999 would overflow a day's bounds in some zones.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @classmethod
    def parse(cls, first: str | None, last: str | None, today: date, days: int = 30) -> Period:
        try:
            end = date.fromisoformat(last) if last else today
            start = date.fromisoformat(first) if first else end - timedelta(days=days - 1)
        except ValueError:
            raise BadPeriod("dates are YYYY-MM-DD") from None
        if start < FIRST_DAY or end > LAST_DAY:
            raise BadPeriod(f"dates are between {FIRST_DAY} and {LAST_DAY}")
        if start > end:
            raise BadPeriod("`from` is after `to`")
        if (end - start).days > 3 * 366:
            raise BadPeriod("at most three years at a time")
        return cls(start, end)

    def bounds(self, tenant: TenantConfig) -> tuple[datetime, datetime]:
        """[start, end) as aware instants: the first day's midnight to the midnight after the last day."""
        zone = tenant.tz
        return datetime.combine(self.first, time(), zone), datetime.combine(self.last + timedelta(days=1), time(), zone)


async def analytics(
    engine: AsyncEngine, tenant_id: str, tenant: TenantConfig, period: Period, by: str
) -> dict[str, Any]:
    if by not in BY_KEYS:
        raise BadPeriod(f"`by` is one of {', '.join(BY_KEYS)}")
    start, end = period.bounds(tenant)
    facts = await store.facts_between(engine, tenant_id, start, end + REPLY_MARGIN)
    # every visit (first visits, lifetimes); the managers of leads only when rows are keyed by them
    kinds = [Kind.VISIT, Kind.DEPOSIT_PAID, Kind.WAITLIST_FILLED] + ([Kind.ASSIGNED] if by == "manager" else [])
    history = await store.history(engine, tenant_id, end, kinds)
    spend = await store.spend_between(engine, tenant_id, period.first, period.last)
    kpi = Kpi(**tenant.kpi.model_dump()) if tenant.kpi is not None else None
    return compute(
        tenant=tenant_id,
        first=period.first,
        last=period.last,
        by=by,
        start=start,
        end=end,
        period=facts,
        history=history,
        spend=spend,
        costs=Costs(tenant.costs.variable_per_visit),
        kpi=kpi,
    )


async def appointments(engine: AsyncEngine, tenant_id: str, tenant: TenantConfig, period: Period) -> dict[str, Any]:
    """The visits starting in the period, with their status and what was sent about each."""
    start, end = period.bounds(tenant)
    found = await store.visits_with_messages(engine, tenant_id, start, end)

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(tenant.tz).isoformat() if moment is not None else None

    return {
        "tenant": tenant_id,
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "visits": [
            {
                "id": visit.id,
                "deal_id": visit.deal_id,
                "start": local(visit.start_at),
                "end": local(visit.end_at),
                "services": list(visit.services),
                "status": visit.status,
                "channel": visit.channel,
                "booking_id": visit.booking_id,
                "discount_percent": visit.discount_percent,
                "revenue": visit.revenue,
                "messages": [{"kind": k, "outcome": o, "sent_at": local(at)} for k, o, at in messages],
            }
            for visit, messages in found
        ],
    }
