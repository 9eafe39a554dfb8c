"""Bitrix24 Online Booking (booking.v1) end to end: slots from a resource's schedule minus its bookings,
the client's booking linked to the contact and deal, and a manager's moves, deletions and bookings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.clock import TZ
from tests.conftest import gateway, wait_for, wait_for_async
from tests.e2e.test_appointments import (
    HEADERS,
    Clock,
    _status,
    _visit_with_deal,
    buttons,
    event_form,
    lifecycle_config,
    message,
    said,
    sent,
    store_of,
    visit_day,
)


def booking_portal(portal: Any) -> int:
    """A master working every day 10:00-21:00 in hour slots, as an admin would set her up."""
    resource = portal.dispatch("booking.v1.resource.add", {"fields": {"name": "Анна", "typeId": 1}})["resource"]["id"]
    rule = {
        "from": 600,
        "to": 1260,
        "timezone": "Asia/Novosibirsk",
        "weekDays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        "slotSize": 60,
    }
    portal.dispatch("booking.v1.resource.slots.set", {"resourceId": resource, "slots": [rule]})
    return int(resource)


def period(start: datetime, hours: int = 1) -> dict[str, Any]:
    return {
        "from": {"timestamp": int(start.timestamp()), "timezone": "Asia/Novosibirsk"},
        "to": {"timestamp": int((start + timedelta(hours=hours)).timestamp()), "timezone": "Asia/Novosibirsk"},
    }


def booking_event(event: str, booking_id: int) -> dict[str, str]:
    form = event_form(event, booking_id)
    form["data[ID]"] = form.pop("data[FIELDS][ID]")
    return form


async def test_a_client_books_a_resource_slot_and_the_portal_booking_follows_managers_and_client(
    make_config, portal, telegram, store_url
):
    resource = booking_portal(portal)
    day = visit_day()
    # a walk-in already holds 16:00
    portal.dispatch(
        "booking.v1.booking.add",
        {"fields": {"resourceIds": [resource], "name": "walk-in", "datePeriod": period(day + timedelta(hours=1))}},
    )
    booking = {"resources": [{"id": resource, "name": "Анна", "services": ["manicure"]}]}
    config = lifecycle_config(make_config, portal, telegram, booking=booking)
    clock = Clock()
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        text = f"Хочу маникюр {said(day)}, мой номер 8 913 123-45-67"
        await client.post("/webhooks/salon/telegram", json=message(1, text), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram)) == 1)
        offered = buttons(sent(telegram)[0])
        assert offered == [f"b:{s:%Y-%m-%dT%H:%M}" for s in (day - timedelta(hours=1), day, day + timedelta(hours=2))]

        from tests.e2e.test_appointments import press

        await client.post("/webhooks/salon/telegram", json=press(2, f"b:{day:%Y-%m-%dT%H:%M}"), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram)) == 2)
        assert sent(telegram)[1]["text"].startswith("Вы записаны: Маникюр")
        await wait_for(lambda: len(portal.state.bookings) == 2, limit=20)
        ours = next(b for b in portal.state.bookings.values() if b["name"] != "walk-in")
        visit = await wait_for_async(lambda: _visit_with_deal(store_of(runtime)))
        contact = next(iter(portal.state.contacts))
        assert ours["resourceIds"] == [resource] and ours["datePeriod"]["from"]["timestamp"] == int(day.timestamp())
        assert ours["clients"] == [{"id": contact, "type": {"module": "crm", "code": "CONTACT"}}]
        assert ours["externalData"] == [{"moduleId": "crm", "entityTypeId": "DEAL", "value": str(visit.deal_id)}]

        # a manager moves the booking on the board; its event reaches the gateway
        moved = day + timedelta(days=1, hours=-2)
        portal.dispatch("booking.v1.booking.update", {"id": ours["id"], "fields": {"datePeriod": period(moved)}})
        await client.post("/bitrix/salon/events", data=booking_event("ONBOOKINGUPDATE", ours["id"]))
        await wait_for(lambda: len(sent(telegram)) == 3)
        assert sent(telegram)[2]["text"].startswith("Ваша запись перенесена: Маникюр")
        await wait_for(
            lambda: (
                datetime.fromisoformat(
                    portal.state.deals[visit.deal_id].get("UF_CRM_VISIT_AT", "2000-01-01T00:00:00+00:00")
                )
                == moved
            )
        )

        # the manager deletes it and the event is lost: the poll finds it, the client is told
        portal.dispatch("booking.v1.booking.delete", {"id": ours["id"]})
        await wait_for(lambda: len(sent(telegram)) == 4, limit=20)
        assert "отменена" in sent(telegram)[3]["text"]
        assert await _status(store_of(runtime), "cancelled")
        await wait_for(lambda: portal.state.deals[visit.deal_id]["STAGE_ID"] == "APOLOGY")

        # a manager books the client again on the board, linked to the deal
        again = day + timedelta(days=2)
        made = portal.dispatch(
            "booking.v1.booking.add",
            {"fields": {"resourceIds": [resource], "name": "Анна", "datePeriod": period(again)}},
        )
        link = [{"moduleId": "crm", "entityTypeId": "DEAL", "value": str(visit.deal_id)}]
        portal.dispatch("booking.v1.booking.externalData.set", {"bookingId": made["id"], "externalData": link})
        await client.post("/bitrix/salon/events", data=booking_event("ONBOOKINGADD", made["id"]))
        await wait_for(lambda: len(sent(telegram)) == 5)
        assert sent(telegram)[4]["text"].startswith("Вы записаны: Маникюр")
        assert await _status(store_of(runtime), "booked")
        await wait_for(lambda: portal.state.deals[visit.deal_id]["STAGE_ID"] == "PREPARATION")

        # the client cancels in words: the portal's booking is deleted, the slot is free
        await client.post("/webhooks/salon/telegram", json=message(3, "отмените запись"), headers=HEADERS)
        # the answer to it, whatever notices the portal's poll adds around it
        await wait_for(lambda: any("отменена" in m["text"] for m in sent(telegram)[5:]), limit=30)
        await wait_for(lambda: made["id"] not in portal.state.bookings)
        assert [b["name"] for b in portal.state.bookings.values()] == ["walk-in"]
        assert len(portal.state.deals) == 1  # the manager's new booking reopened the deal: no second one
        assert clock() < again
        assert TZ is not None
