"""`GET /api/{tenant}/utilisation`: the masters' load, per resource (Online Booking) or per seat of
`capacity`, per day, and the free minutes hour by hour that the dashboard's heat map draws."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.utilisation import Load, utilisation
from gateway.settings import TenantConfig
from gateway.store.sql.occupancy import occupied_between
from gateway.usecases.analytics.reports import Period


async def report(engine: AsyncEngine, tenant_id: str, tenant: TenantConfig, period: Period) -> dict[str, Any]:
    start, end = period.bounds(tenant)
    taken = await occupied_between(engine, tenant_id, start, end)
    resources = tenant.booking.resources if tenant.booking is not None else []
    load = utilisation(
        period.first,
        period.last,
        tenant.opening_hours(),
        tenant.tz,
        taken,
        resources=[r.id for r in resources],
        capacity=tenant.capacity,
    )
    names = {str(r.id): r.name or str(r.id) for r in resources}
    return {
        "tenant": tenant_id,
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "resources": [
            {
                "key": key,
                "name": names.get(key, key),
                "days": [
                    {
                        "date": day.isoformat(),
                        "open_min": d.open_min,
                        "booked_min": d.booked_min,
                        "free_min": d.free_min,
                    }
                    for day, d in sorted(days.items())
                ],
            }
            for key, days in load.days.items()
        ],
        "hours": [
            {
                "date": day.isoformat(),
                "hour": hour,
                "open_min": h.open_min,
                "booked_min": h.booked_min,
                "free_min": h.free_min,
            }
            for (day, hour), h in sorted(load.hours.items())
        ],
    }


def _minutes(load: Load) -> dict[str, int]:
    return {"open_min": load.open_min, "booked_min": load.booked_min, "free_min": load.free_min}
