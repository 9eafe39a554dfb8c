"""When the bot's offers go out: a rebooking offer after a no-show, the retention chain after a visit, and
upsell offers at a visit's confirmation or a duration before it. Pure: the callers store the moments."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import QuietHours, VisitStatus, parse_duration
from domain.consent import NO_SHOW_OFFER, RETENTION_PREFIX, REVIEW_REQUEST, UPSELL_PREFIX
from gateway.settings import TenantConfig
from gateway.settings.lifecycle import LifecycleConfig

CONFIRMATION = "confirmation"


def after_quiet(moment: datetime, quiet: QuietHours | None) -> datetime:
    """`moment` (tenant-local), or the end of the quiet hours that hold it."""
    return quiet.end_after(moment) if quiet is not None and quiet.contains(moment) else moment


def offers_on_status(
    tenant: TenantConfig, lifecycle: LifecycleConfig, status: VisitStatus, services: tuple[str, ...], now: datetime
) -> list[tuple[str, datetime]]:
    """(kind, moment) of the offers a visit's new status starts; `now` tenant-local."""
    quiet = lifecycle.quiet()
    if status == VisitStatus.NO_SHOW and lifecycle.no_show is not None:
        return [(NO_SHOW_OFFER, after_quiet(now, quiet))]
    if status == VisitStatus.VISITED:
        steps = lifecycle.retention_offsets(tenant.return_after(services))
        planned = [(f"{RETENTION_PREFIX}{label}", after_quiet(now + offset, quiet)) for label, offset in steps]
        if lifecycle.review is not None:
            planned.append((REVIEW_REQUEST, after_quiet(now + parse_duration(lifecycle.review.after), quiet)))
        return planned
    if status == VisitStatus.CONFIRMED:
        return [
            (upsell_kind(rule.offer, CONFIRMATION), after_quiet(now, quiet))
            for rule in lifecycle.upsell
            if rule.service in services and rule.offer not in services and CONFIRMATION in rule.at
        ]
    return []


def upsell_before(
    lifecycle: LifecycleConfig, services: tuple[str, ...], start: datetime, now: datetime
) -> list[tuple[str, datetime]]:
    """(kind, moment) of the upsell offers a duration before the visit at `start` still ahead of `now`."""
    planned = []
    quiet = lifecycle.quiet()
    for rule in lifecycle.upsell:
        if rule.service not in services or rule.offer in services:
            continue
        for at in rule.at:
            if at == CONFIRMATION:
                continue
            moment = after_quiet(start - parse_duration(at), quiet)
            if now < moment < start - timedelta(minutes=30):
                planned.append((upsell_kind(rule.offer, at), moment))
    return planned


def upsell_kind(offer: str, at: str) -> str:
    return f"{UPSELL_PREFIX}{offer}:{at}"


def upsell_offer(kind: str) -> str:
    """The catalog id an upsell kind offers."""
    return kind[len(UPSELL_PREFIX) :].rpartition(":")[0]
