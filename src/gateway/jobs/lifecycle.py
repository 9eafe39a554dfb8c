"""The appointment lifecycle's scheduled work, run by arq's cron on the CRM worker (no daemon of our own):
send what the agenda holds once its moment comes, and read the deals changed in each portal.

Both are idempotent and guarded by a Redis lock, so several worker processes may run them: whatever one
misses while everything is down, the next run finds (the agenda is in the business store, not in Redis).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.cron import CronJob, cron
from redis.exceptions import LockError

from domain import DueReminder
from gateway.bootstrap import Runtime, TenantServices
from gateway.store import keys
from gateway.store.queue import queue_crm_sync, release_reaches
from gateway.store.redis_result import result

logger = logging.getLogger("gateway.jobs.lifecycle")

DRAIN_AGENDA = "drain_agenda"
POLL_PORTALS = "poll_portals"
DRAIN_SECONDS = 50.0  # one drain sends for at most this long; the next one goes on
POLL_CHECK_SECONDS = 10  # how often each tenant's `poll_interval` is looked at


def lifecycle_tenants(runtime: Runtime) -> list[TenantServices]:
    return [t for t in runtime.tenants.values() if t.appointments is not None]


def served(runtime: Runtime) -> list[tuple[str, str]]:
    """The (tenant, portal) pairs whose agenda this process sends: a tenant of the same name on another
    portal is another business."""
    return sorted((t.id, t.portal) for t in lifecycle_tenants(runtime))


def served_digest(pairs: Sequence[tuple[str, str]]) -> str:
    return hashlib.sha256(repr(list(pairs)).encode()).hexdigest()[:16]


async def drain_agenda(ctx: dict[str, Any]) -> str:
    runtime: Runtime = ctx["runtime"]
    if runtime.store is None or not lifecycle_tenants(runtime):
        return "off"
    # one drain at a time per set of tenants served: processes with another config (a rolling deploy)
    # drain their own tenants' rows beside it; a row both serve is claimed once (claim_reminder)
    pairs = served(runtime)
    try:
        async with runtime.redis.lock(
            keys.agenda_lock(served_digest(pairs)), timeout=DRAIN_SECONDS + 30, blocking_timeout=0.01
        ):
            await release_reaches(runtime.redis, runtime.clock())
            sent = await _drain(runtime, ctx.setdefault("pacer", _pacer()), pairs)
            sent += await _offer_freed_slots(runtime, ctx["pacer"])
    except LockError:
        return "busy"  # another process is draining
    await _prune(runtime)
    await _mine(runtime)
    return f"{sent} handled"


async def _mine(runtime: Runtime) -> None:
    """Each lifecycle tenant's service pairs, once a day (whichever process gets there first)."""
    from gateway.usecases.analytics.recommendations import mine_if_due

    assert runtime.store is not None  # noqa: S101 - checked by the caller
    for tenant in lifecycle_tenants(runtime):
        try:
            await mine_if_due(runtime.store, runtime.redis, tenant.id, tenant.config.recommend, runtime.clock())
        except Exception:  # the pairs of the day before stay in use; the next day tries again
            logger.exception("%s: service pairs not mined", tenant.id)


# Visits, their reminders and episodes are kept this long (the README says so): LTV and returning clients
# need the history; past it the client's chat id and phone are gone from the store.
KEPT = timedelta(days=3 * 365)
PRUNE_EVERY_SECONDS = 3600
WAIT_KEPT = timedelta(days=30)  # a waitlist place is kept this long after the time it waited for


async def _prune(runtime: Runtime) -> None:
    """Once an hour, by whichever process gets there first."""
    if runtime.store is None or not await runtime.redis.set(keys.pruned(), "1", nx=True, ex=PRUNE_EVERY_SECONDS):
        return
    from gateway.store.sql import consents, episodes, visits, waitlist

    await waitlist.prune(runtime.store, runtime.clock() - WAIT_KEPT)
    before = runtime.clock() - KEPT
    removed = (
        await visits.prune(runtime.store, before),
        await episodes.prune(runtime.store, before),
        await consents.prune(runtime.store, before),
    )
    if any(removed):
        logger.info(
            "business store: %d visits, %d episodes and %d superseded consent records older than %s removed",
            *removed,
            before.date(),
        )


def _pacer() -> Any:
    from gateway.usecases.outreach.pacing import Pacer

    return Pacer()


# A reminder whose moment is this close is waited for within the drain; one farther off is left to the
# next run of the cron, so a drain never sits idle holding its lock.
WAIT_WITHIN_DRAIN = timedelta(seconds=2)
READ_AT_ONCE = 2000  # due rows read a pass: a burst must be seen whole to be spread before its moment


async def _drain(runtime: Runtime, pacer: Any, pairs: Sequence[tuple[str, str]]) -> int:
    from gateway.store.sql.agenda import due_reminders
    from gateway.usecases.outreach.pacing import EARLY_AT_MOST, send_moments

    assert runtime.store is not None  # noqa: S101 - checked by the caller
    started, handled = time.monotonic(), 0
    while time.monotonic() - started < DRAIN_SECONDS:
        batch = await due_reminders(runtime.store, runtime.clock() + EARLY_AT_MOST, pairs, READ_AT_ONCE)
        moments = send_moments(batch, pacer.per_second)
        progressed = False
        for due in sorted(batch, key=lambda d: (moments[d.id], d.id)):
            ahead = moments[due.id] - runtime.clock()
            if ahead > WAIT_WITHIN_DRAIN or time.monotonic() - started >= DRAIN_SECONDS:
                break
            if ahead > timedelta():
                await asyncio.sleep(ahead.total_seconds())
            outcome = await _deliver_one(runtime, pacer, due)
            if outcome is not None:
                handled += 1
                progressed = progressed or outcome != "postponed"
        if not progressed:
            break
    return handled


def _context(runtime: Runtime, tenant: Any, pacer: Any) -> Any:
    from gateway.usecases.outreach.reminders import ReminderContext

    return ReminderContext(
        appointments=tenant.appointments,
        dialogue=tenant.dialogue,
        sender_of=functools.partial(runtime.sender, tenant.id),
        queue_crm_sync=functools.partial(queue_crm_sync, runtime.redis, tenant.id),
        pacer=pacer,
        deposits=tenant.deposits,
    )


async def _offer_freed_slots(runtime: Runtime, pacer: Any) -> int:
    """Each waitlist tenant's freed slots offered to the next in line (one tenant's fault stops no other)."""
    from gateway.usecases.outreach.waitlist_offers import offer_freed

    offered = 0
    for tenant in lifecycle_tenants(runtime):
        if tenant.config.lifecycle is None or tenant.config.lifecycle.waitlist is None:
            continue
        try:
            offered += await offer_freed(_context(runtime, tenant, pacer), runtime.clock())
        except Exception:
            logger.exception("%s: freed slots not offered this run; tried again on the next", tenant.id)
    return offered


async def _deliver_one(runtime: Runtime, pacer: Any, due: DueReminder) -> str | None:
    """Send one reminder of a tenant this process serves; its outcome, None if it was not handled."""
    from gateway.store.sql.visits import visit_by_id
    from gateway.usecases.outreach.reminders import deliver

    assert runtime.store is not None  # noqa: S101 - checked by the caller
    visit = await visit_by_id(runtime.store, due.visit_id)
    tenant = runtime.tenants.get(visit.tenant) if visit is not None else None
    if visit is None or tenant is None or tenant.appointments is None or visit.portal != tenant.portal:
        return None  # gone since the batch was read, or (a config reloaded meanwhile) not ours
    context = _context(runtime, tenant, pacer)
    try:
        outcome: str = await deliver(context, due, visit, runtime.clock())
    except Exception:  # one reminder's fault (a bug, the store away) must not stop the rest
        logger.exception("reminder %s could not be handled; tried again on the next run", due.id)
        return None
    runtime.metrics.reminders.labels(visit.tenant, due.kind, outcome).inc()
    return outcome


async def poll_portals(ctx: dict[str, Any]) -> str:
    """Ask each lifecycle tenant's portal for the deals changed since the last poll, once its
    `poll_interval` has passed; a lost outbound event is caught up with within that interval."""
    runtime: Runtime = ctx["runtime"]
    polled = 0
    for tenant in lifecycle_tenants(runtime):
        lifecycle = tenant.config.lifecycle
        assert lifecycle is not None  # noqa: S101 - lifecycle tenants have it
        # the wall clock, not the business clock: this is compared with the portal's DATE_MODIFY
        now = datetime.now(UTC)
        key = keys.portal_polled(tenant.id)
        last_raw = await result(runtime.redis.get(key))
        last = float(last_raw) if last_raw else 0.0
        if now.timestamp() - last < lifecycle.poll_seconds() - 0.5:
            continue
        # taken by one process: set only if nobody moved it since we read it
        if not await _take_turn(runtime, key, last_raw, now.timestamp()):
            continue
        since = datetime.fromtimestamp(last, UTC) if last else now
        try:
            seen, requests = await _poll_one(runtime, tenant, since, runtime.clock())
        except Exception as exc:  # the portal down or refusing: the next turn reads the same span again
            await runtime.redis.set(key, str(last) if last else "0", ex=keys.CONVERSATION_TTL_SECONDS)
            logger.warning("%s: portal poll failed (%s: %s)", tenant.id, type(exc).__name__, exc)
            continue
        runtime.metrics.portal_polls.labels(tenant.id).inc(requests)
        polled += 1
        logger.debug("%s: %d changed deals read in %d requests", tenant.id, seen, requests)
    return f"{polled} polled"


_TAKE_TURN = """
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


async def _take_turn(runtime: Runtime, key: str, seen: Any, now: float) -> bool:
    expected = seen.decode() if isinstance(seen, bytes) else (seen or "")
    lifetime = str(keys.CONVERSATION_TTL_SECONDS)
    taken = await result(runtime.redis.eval(_TAKE_TURN, 1, key, expected, repr(now), lifetime))
    return bool(taken)


async def _poll_one(runtime: Runtime, tenant: TenantServices, since: datetime, now: datetime) -> tuple[int, int]:
    from gateway.usecases.crm.booking_changes import poll_bookings
    from gateway.usecases.crm.portal_changes import poll

    changes = runtime.portal_changes(tenant.id)
    seen, requests = await poll(changes, since, now)
    return seen, requests + await poll_bookings(changes, now)


def lifecycle_crons(agenda_seconds: int = 5) -> Sequence[CronJob]:
    """The drain and the facts' fold every `agenda_seconds`, the poll check every `agenda_seconds` or 10 s
    if that is less often."""
    every = max(1, min(agenda_seconds, 60))
    check = min(every, POLL_CHECK_SECONDS)
    from gateway.jobs.facts import FOLD_FACTS, fold_facts

    return [
        cron(drain_agenda, name=DRAIN_AGENDA, second=set(range(0, 60, every)), microsecond=0, timeout=120),
        cron(poll_portals, name=POLL_PORTALS, second=set(range(0, 60, check)), microsecond=0, timeout=120),
        cron(fold_facts, name=FOLD_FACTS, second=set(range(0, 60, every)), microsecond=0, timeout=120),
    ]
