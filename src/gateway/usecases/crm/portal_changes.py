"""What a manager did in the portal reaches the visit: a visit booked, moved, confirmed, cancelled, a deal
closed. From Bitrix24's outbound events (an id only: the deal is read) and from a poll of the deals
changed lately, because Bitrix24 never re-sends a lost event. Applying the same deal twice changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bitrix import methods
from bitrix.errors import BitrixRequestError
from domain import ACTIVE, Address, Visit, VisitStatus, conversation_parts
from gateway.store import crm_links, facts, keys
from gateway.store.conversations import CrmLink, TimelineEntry, append_timeline, load_dialogue, load_link, save_link
from gateway.store.facts import Fact, Kind
from gateway.store.sql import visits as store
from gateway.store.sql.episodes import close_episode
from gateway.usecases.crm.context import ORIGINATOR, CrmContext
from gateway.usecases.crm.deal_reads import CLOSED_SEMANTICS
from gateway.usecases.crm.discount_rows import discount_rows
from gateway.usecases.visits.appointments import NOTICE_BOOKED, NOTICE_CANCELLED, NOTICE_MOVED, Appointments

logger = logging.getLogger("gateway.usecases.crm.portal_changes")


PAGE = 50  # rows a Bitrix24 list returns at most


POLL_OVERLAP = timedelta(seconds=120)  # the portal's clock and ours may differ; re-reading a deal is harmless


@dataclass(frozen=True)
class PortalChanges:
    crm: CrmContext
    appointments: Appointments
    durations: dict[str, int]  # service id -> minutes
    queue_sync: Callable[[str], Awaitable[None]]  # conversation -> its CRM sync queued

    def select(self) -> list[str]:
        fields = ["ID", "STAGE_ID", "STAGE_SEMANTIC_ID", "ORIGIN_ID", "ORIGINATOR_ID", "DATE_MODIFY"]
        fields += ["OPPORTUNITY", "ASSIGNED_BY_ID"]
        visit_field = self.crm.tenant.bitrix.visit_field
        return [*fields, visit_field] if visit_field else fields


def status_of_stage(changes: PortalChanges, stage: Any, semantic: Any) -> VisitStatus | None:
    """The visit state a deal's stage stands for: a configured stage by its meaning, else a final stage by
    its semantics (success: visited, failure: cancelled); an unknown stage in progress says nothing."""
    stages = changes.crm.tenant.bitrix.stages
    for status in VisitStatus:
        if str(getattr(stages, status.value)) == str(stage):
            return status
    if semantic == "S":
        return VisitStatus.VISITED
    if semantic == "F":
        return VisitStatus.CANCELLED
    return None


def _start(changes: PortalChanges, row: dict[str, Any]) -> datetime | None:
    field = changes.crm.tenant.bitrix.visit_field
    raw = row.get(field) if field else None
    if not raw or not isinstance(raw, str):
        return None
    try:
        start = datetime.fromisoformat(raw)
    except ValueError:
        logger.warning("deal %s: %s is not a date-time: %r", row.get("ID"), field, raw[:40])
        return None
    return start if start.tzinfo else start.replace(tzinfo=changes.crm.tenant.tz)


async def conversation_of_deal(changes: PortalChanges, row: dict[str, Any], deal_id: int) -> str | None:
    conv: str | None
    if row.get("ORIGINATOR_ID") == ORIGINATOR and isinstance(row.get("ORIGIN_ID"), str):
        conv = str(row["ORIGIN_ID"]).split("#", 1)[0]
    else:
        conv = await crm_links.deal_conversation(changes.crm.redis, changes.crm.scope, deal_id)
    if conv is None or not conv.startswith(f"{changes.crm.tenant_id}:"):
        return None
    return conv


async def read_deal(changes: PortalChanges, deal_id: int) -> dict[str, Any] | None:
    try:
        row = await changes.crm.crm.call(methods.CRM_DEAL_GET, {"id": deal_id})
    except BitrixRequestError as exc:
        if "not found" in exc.description.lower():
            return None
        raise
    return row if isinstance(row, dict) else None


async def apply_deal(changes: PortalChanges, row: dict[str, Any], now: datetime) -> str:
    """Bring the visit of one deal in line with the portal; what happened, as a word for the logs."""
    deal_id = int(str(row.get("ID", "0")) or 0)
    conv = await conversation_of_deal(changes, row, deal_id)
    if conv is None:
        return "not_ours"
    # the CRM sync of the same conversation writes the same link
    async with changes.crm.redis.lock(keys.crm_lock(conv), timeout=120, blocking_timeout=130):
        return await _apply_locked(changes, row, deal_id, conv, now)


async def _apply_locked(changes: PortalChanges, row: dict[str, Any], deal_id: int, conv: str, now: datetime) -> str:
    redis = changes.crm.redis
    link = await load_link(redis, conv)
    if link.deal_id is not None and link.deal_id != deal_id:
        return "earlier_deal"  # a closed episode's deal: its client is on a newer one
    if link.deal_id is None and row.get("ORIGINATOR_ID") == ORIGINATOR and row.get("ORIGIN_ID") != link.origin_id(conv):
        return "earlier_deal"  # not this episode's deal (the conversation's state has moved on, or expired)
    app = changes.appointments
    status, start, stage_changed, start_changed = _differences(changes, row, link)
    if stage_changed or start_changed:
        # The row was read before the lock was taken: a CRM sync may have written the deal since. A change
        # is acted on only as a fresh read, under the lock, still shows it.
        fresh = await read_deal(changes, deal_id)
        if fresh is None:
            return "gone"
        row = fresh
        status, start, stage_changed, start_changed = _differences(changes, row, link)
    visit = await _visit_of(app, conv, deal_id)
    await _keep_up(changes, row, deal_id, conv, link, visit, now)
    outcome = "unchanged"
    final = status is not None and status not in ACTIVE
    if start is not None and not final and (start_changed or stage_changed):
        outcome = await _booked_or_moved(changes, conv, deal_id, visit, start, status if stage_changed else None, now)
        if stage_changed and status is not None and visit is not None and visit.active and visit.status != status.value:
            # confirmed with its time in the same save: the upsell at confirmation and the fact as a button's
            await app.status_changed(visit, status, now)
    elif stage_changed and status is not None and visit is not None and visit.status != status.value:
        outcome = await _stage_moved(app, visit, status, row, now)
    if status is not None:
        link.visit_stage = status.value
    if start is not None:
        link.visit_written = start.isoformat()
    if _closes_or_reopens(link, row, deal_id) and link.closed:
        outcome = f"{outcome},closed"
        won = "won" if row.get("STAGE_SEMANTIC_ID") == "S" else "lost"
        await close_episode(app.engine, tenant=app.tenant_id, portal=app.portal, deal_id=deal_id, outcome=won, now=now)
    await save_link(redis, conv, link)
    if app.online is not None and outcome != "unchanged":  # the portal's booking follows the deal
        await _sync_booking(changes, conv, deal_id, link)
    return outcome


async def _sync_booking(changes: PortalChanges, conv: str, deal_id: int, link: CrmLink) -> None:
    app = changes.appointments
    visit = await store.visit_of_deal(app.engine, app.tenant_id, app.portal, deal_id)
    if visit is not None:
        await app.sync_booking(visit, contact_id=link.contact_id, deal_id=deal_id, title=f"Визит — сделка {deal_id}")


async def _visit_of(app: Appointments, conv: str, deal_id: int) -> Visit | None:
    visit = await store.visit_of_deal(app.engine, app.tenant_id, app.portal, deal_id)
    if visit is not None:
        return visit
    latest = await store.latest_visit(app.engine, app.tenant_id, conv)
    if latest is not None and latest.deal_id is None:  # booked in the chat before the deal existed
        await store.attach_deal(app.engine, app.tenant_id, app.portal, conv, deal_id)
        return await reloaded(app, latest)
    return None


def _closes_or_reopens(link: CrmLink, row: dict[str, Any], deal_id: int) -> bool:
    """A final stage closes the episode (the next message opens a new deal, a returning client's); a
    stage in progress on a closed deal reopens it (a manager booked a visit on it). True if changed."""
    if link.deal_id != deal_id:
        return False
    closed = row.get("STAGE_SEMANTIC_ID") in CLOSED_SEMANTICS
    if closed == link.closed or row.get("STAGE_SEMANTIC_ID") is None:
        return False
    link.closed = closed
    return True


def _differences(
    changes: PortalChanges, row: dict[str, Any], link: CrmLink
) -> tuple[VisitStatus | None, datetime | None, bool, bool]:
    """(status, start, stage changed, start changed): what the portal shows that the deal did not get
    from us (nor we from it) is a manager's change."""
    status = status_of_stage(changes, row.get("STAGE_ID"), row.get("STAGE_SEMANTIC_ID"))
    start = _start(changes, row)
    stage_changed = status is not None and status.value != link.visit_stage
    start_changed = start is not None and start != _written(link)
    return status, start, stage_changed, start_changed


def _written(link: CrmLink) -> datetime | None:
    try:
        return datetime.fromisoformat(link.visit_written) if link.visit_written else None
    except ValueError:
        return None


async def _keep_up(
    changes: PortalChanges,
    row: dict[str, Any],
    deal_id: int,
    conv: str,
    link: CrmLink,
    visit: Visit | None,
    now: datetime,
) -> None:
    """Whatever the change: a recovered visit's discount on product rows added since, and the manager."""
    if visit is not None and visit.discount_percent and visit.active:
        await discount_rows(changes.crm.crm, deal_id, visit.discount_percent)
    if (manager := _id(row.get("ASSIGNED_BY_ID"))) is not None and link.deal_id == deal_id:
        await _assigned(changes, conv, link, manager, now)


async def _assigned(changes: PortalChanges, conv: str, link: CrmLink, manager: int, now: datetime) -> None:
    """The deal's manager, as the portal shows it now: the manager KPIs count the lead for them."""
    lead = link.origin_id(conv)
    fact = Fact(f"assigned:{lead}", Kind.ASSIGNED, changes.appointments.tenant_id, now, lead, manager=manager)
    await facts.emit(changes.crm.redis, [fact])


async def _stage_moved(app: Appointments, visit: Visit, status: VisitStatus, row: dict[str, Any], now: datetime) -> str:
    """A manager moved the deal to a visit state: visited (its amount is the revenue), no-show, cancelled."""
    if status == VisitStatus.VISITED:
        revenue, manager = _number(row.get("OPPORTUNITY")), _id(row.get("ASSIGNED_BY_ID"))
        await store.set_revenue(app.engine, visit.id, revenue, manager)
    await app.set_status(visit, status, now)  # its fact reads the revenue just written
    if status == VisitStatus.CANCELLED and visit.active:
        await app.plan(await reloaded(app, visit), now, NOTICE_CANCELLED)
    return status.value


def _number(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _id(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


async def reloaded(app: Appointments, visit: Visit) -> Visit:
    return await store.visit_by_id(app.engine, visit.id) or visit


async def _booked_or_moved(
    changes: PortalChanges,
    conv: str,
    deal_id: int,
    visit: Visit | None,
    start: datetime,
    status: VisitStatus | None,
    now: datetime,
) -> str:
    app = changes.appointments
    to, asked, phone = await client_of(changes, conv)
    services = visit.services if visit is not None else asked
    minutes = max((changes.durations.get(s, 60) for s in services), default=60)
    if visit is not None and visit.active:
        notice = NOTICE_MOVED if visit.start_at != start else None
        new_status = status or VisitStatus(visit.status)
    else:
        notice, new_status = NOTICE_BOOKED, status if status in ACTIVE else VisitStatus.BOOKED
    end = start + timedelta(minutes=minutes)
    saved = await save_from_portal(
        changes,
        conv=conv,
        deal_id=deal_id,
        start=start,
        end=end,
        services=tuple(services),
        status=new_status,
        now=now,
        to=to,
        phone=phone,
    )
    await app.plan(saved, now, notice)
    if notice == NOTICE_MOVED and visit is not None:  # the old time is free for those waiting
        await app.freed(visit, now)
    return notice or new_status.value


async def save_from_portal(
    changes: PortalChanges,
    *,
    conv: str,
    deal_id: int,
    start: datetime,
    end: datetime,
    services: tuple[str, ...],
    status: str,
    now: datetime,
    to: Address | None = None,
    phone: str | None = None,
) -> Visit:
    """The deal's visit as the portal now has it; `to`: where its client is written to (None: as kept)."""
    app = changes.appointments
    return await store.save_visit(
        app.engine,
        tenant=app.tenant_id,
        portal=app.portal,
        deal_id=deal_id,
        conversation=conv,
        start_at=start,
        end_at=end,
        services=services,
        status=status,
        now=now,
        to=to,
        phone=phone,
    )


async def client_of(changes: PortalChanges, conv: str) -> tuple[Address, tuple[str, ...], str | None]:
    """Where the conversation's client is written to, the services they asked for and their phone, from
    one read of the dialogue (or the conversation key alone, once Redis has forgotten it)."""
    state = await load_dialogue(changes.crm.redis, conv)
    if state is not None:
        address = Address(state.channel.value, state.chat_id, state.channel_phone)
        return address, tuple(state.service_ids), state.phone
    _tenant, channel, chat_id = conversation_parts(conv)
    return Address(channel, chat_id), (), None


async def poll(changes: PortalChanges, since: datetime, now: datetime) -> tuple[int, int]:
    """Apply every deal of ours changed since `since`: (deals read, requests made)."""
    requests, seen, start = 0, 0, 0
    moment = (since - POLL_OVERLAP).astimezone(changes.crm.tenant.tz).isoformat(timespec="seconds")
    while True:
        rows = await changes.crm.crm.call(
            methods.CRM_DEAL_LIST,
            {
                "filter": {">=DATE_MODIFY": moment, "=ORIGINATOR_ID": ORIGINATOR},
                "select": changes.select(),
                "order": {"ID": "ASC"},
                "start": start,
            },
        )
        requests += 1
        rows = rows if isinstance(rows, list) else []
        for row in rows:
            if isinstance(row, dict):
                await apply_deal(changes, row, now)
                seen += 1
        if len(rows) < PAGE:
            return seen, requests
        start += PAGE


async def note_on_deal(changes: PortalChanges, conv: str, text: str, now: datetime) -> None:
    """On the deal's timeline (and a CRM sync queued, which also writes the visit's stage)."""
    entry = TimelineEntry(
        key=f"portal:{now.timestamp()}", text=text, at=now.astimezone(changes.crm.tenant.tz), author="Бот"
    )
    await append_timeline(changes.crm.redis, conv, entry)
    await changes.queue_sync(conv)
