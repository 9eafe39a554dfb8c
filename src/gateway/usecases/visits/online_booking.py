"""Bitrix24 Online Booking (booking.v1) for a tenant with `booking:`: the resources' slot schedules and
bookings to compute free slots from (Bitrix24 has no free-slot method), and the portal's booking of a
visit kept in step with it: made once the deal and contact exist, moved, deleted.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bitrix import methods
from bitrix.batcher import Batcher
from bitrix.errors import BitrixRequestError
from domain import WEEKDAY_NAMES, Busy, SlotRule
from gateway.settings.lifecycle import BookingConfig

logger = logging.getLogger("gateway.usecases.visits.online_booking")

SCHEDULE_SECONDS = 300.0  # slot schedules change rarely: read again after five minutes
PAGE = 50
NOT_FOUND = ("1021", "1019")  # booking not found (get, update)


@dataclass(frozen=True)
class PortalBooking:
    id: int
    start: datetime
    end: datetime
    resources: tuple[int, ...]


def _moment(node: Any) -> datetime | None:
    if not isinstance(node, dict):
        return None
    try:
        return datetime.fromtimestamp(int(node.get("timestamp")), UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def parse_booking(row: Any) -> PortalBooking | None:
    if not isinstance(row, dict):
        return None
    found = row.get("datePeriod")
    period: dict[str, Any] = found if isinstance(found, dict) else {}
    start, end = _moment(period.get("from")), _moment(period.get("to"))
    listed = row.get("resourceIds")
    resources: list[Any] = listed if isinstance(listed, list) else []
    try:
        booking_id = int(row.get("id"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if start is None or end is None:
        return None
    return PortalBooking(booking_id, start, end, tuple(int(r) for r in resources if str(r).isdigit()))


def parse_rules(rows: Any, fallback: ZoneInfo) -> list[SlotRule]:
    rules = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        try:
            zone = ZoneInfo(str(row.get("timezone"))) if row.get("timezone") else fallback
        except (ZoneInfoNotFoundError, ValueError):
            zone = fallback
        days = frozenset(WEEKDAY_NAMES.index(d) for d in row.get("weekDays") or [] if d in WEEKDAY_NAMES)
        try:
            start, end, size = int(row["from"]), int(row["to"]), int(row.get("slotSize") or 30)
        except (KeyError, TypeError, ValueError):
            continue
        rules.append(SlotRule(start, end, days, size, zone))
    return rules


def _period(start: datetime, end: datetime, zone: str) -> dict[str, Any]:
    return {
        "from": {"timestamp": int(start.timestamp()), "timezone": zone},
        "to": {"timestamp": int(end.timestamp()), "timezone": zone},
    }


@dataclass
class OnlineBooking:
    crm: Batcher
    config: BookingConfig
    zone: str
    _schedules: dict[int, tuple[float, list[SlotRule]]] = field(default_factory=dict)

    async def schedules(self, resources: list[int]) -> dict[int, list[SlotRule]]:
        now = time.monotonic()
        stale = [r for r in resources if r not in self._schedules or now - self._schedules[r][0] > SCHEDULE_SECONDS]
        if stale:
            found = await self.crm.submit(
                {f"r{r}": (methods.BOOKING_RESOURCE_SLOTS_LIST, {"resourceId": r}) for r in stale}
            )
            for r in stale:
                value = found.value(f"r{r}") if f"r{r}" not in found.errors else None
                rows = value.get("slots") if isinstance(value, dict) else None
                self._schedules[r] = (now, parse_rules(rows, ZoneInfo(self.zone)))
        return {r: self._schedules[r][1] for r in resources}

    async def bookings(self, start: datetime, end: datetime) -> list[PortalBooking]:
        """Every booking in [start, end): the list filters by time only (no resource filter)."""
        found: list[PortalBooking] = []
        offset = 0
        while True:
            result = await self.crm.call(
                methods.BOOKING_LIST,
                {
                    "filter": {"within": {"dateFrom": int(start.timestamp()), "dateTo": int(end.timestamp())}},
                    "order": {"id": "ASC"},
                    "start": offset,
                },
            )
            rows = result.get("booking") if isinstance(result, dict) else None
            rows = rows if isinstance(rows, list) else []
            found += [b for b in (parse_booking(r) for r in rows) if b is not None]
            if len(rows) < PAGE:
                return found
            offset += PAGE

    async def busy(self, start: datetime, end: datetime) -> dict[int, list[Busy]]:
        taken: dict[int, list[Busy]] = {}
        for booking in await self.bookings(start, end):
            for resource in booking.resources:
                taken.setdefault(resource, []).append(Busy(booking.start, booking.end))
        return taken

    async def get(self, booking_id: int) -> PortalBooking | None:
        try:
            result = await self.crm.call(methods.BOOKING_GET, {"id": booking_id})
        except BitrixRequestError as exc:
            if exc.code in NOT_FOUND:
                return None
            raise
        return parse_booking(result.get("booking") if isinstance(result, dict) else None)

    async def deal_of(self, booking_id: int) -> int | None:
        """The CRM deal a booking is linked to (externalData), if any."""
        try:
            result = await self.crm.call(methods.BOOKING_EXTERNAL_DATA_LIST, {"bookingId": booking_id})
        except BitrixRequestError as exc:
            if exc.code in NOT_FOUND:
                return None
            raise
        rows = result.get("externalData") if isinstance(result, dict) else None
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and row.get("moduleId") == "crm" and row.get("entityTypeId") == "DEAL":
                value = str(row.get("value", ""))
                if value.isdigit():
                    return int(value)
        return None

    async def find(self, resource: int, start: datetime, end: datetime, contact_id: int) -> int | None:
        """A booking this visit already has (made by a try whose answer was lost): the contact's booking
        of this resource at this time."""
        result = await self.crm.call(
            methods.BOOKING_LIST,
            {
                "filter": {
                    "within": {"dateFrom": int(start.timestamp()), "dateTo": int(end.timestamp())},
                    "client": {"entities": [{"code": "CONTACT", "module": "crm", "id": str(contact_id)}]},
                }
            },
        )
        rows = result.get("booking") if isinstance(result, dict) else None
        for booking in (parse_booking(r) for r in (rows if isinstance(rows, list) else [])):
            if booking is not None and booking.start == start and resource in booking.resources:
                return booking.id
        return None

    async def add(
        self, *, resource: int, start: datetime, end: datetime, name: str, contact_id: int, deal_id: int
    ) -> int:
        """The booking, linked to the contact and the deal, in one batch."""
        done = await self.crm.submit(
            {
                "booking": (
                    methods.BOOKING_ADD,
                    {"fields": {"resourceIds": [resource], "name": name, "datePeriod": _period(start, end, self.zone)}},
                ),
                "client": (
                    methods.BOOKING_CLIENT_SET,
                    {
                        "bookingId": "$result[booking][id]",
                        "clients": [{"id": contact_id, "type": {"module": "crm", "code": "CONTACT"}}],
                    },
                ),
                "deal": (
                    methods.BOOKING_EXTERNAL_DATA_SET,
                    {
                        "bookingId": "$result[booking][id]",
                        "externalData": [{"moduleId": "crm", "entityTypeId": "DEAL", "value": str(deal_id)}],
                    },
                ),
            }
        )
        created = done.value("booking")  # raises the add's error, if it failed
        booking_id = int(created["id"]) if isinstance(created, dict) else int(created)
        for step in ("client", "deal"):
            if step in done.errors:
                logger.warning("booking %s made, but its %s link failed: %s", booking_id, step, done.errors[step])
        return booking_id

    async def move(self, booking_id: int, start: datetime, end: datetime) -> bool:
        """False when the booking is gone (deleted in the portal)."""
        try:
            await self.crm.call(
                methods.BOOKING_UPDATE,
                {"id": booking_id, "fields": {"datePeriod": _period(start, end, self.zone)}},
            )
        except BitrixRequestError as exc:
            if exc.code in NOT_FOUND:
                return False
            raise
        return True

    async def delete(self, booking_id: int) -> None:
        try:
            await self.crm.call(methods.BOOKING_DELETE, {"id": booking_id})
        except BitrixRequestError as exc:
            if exc.code not in NOT_FOUND:
                raise
