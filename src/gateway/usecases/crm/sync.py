"""Bring one conversation's deal in Bitrix24 up to date: contact, deal, fields, timeline.

Idempotent: run it any number of times, after any crash, and the portal ends with one contact per
person, one deal per conversation and one timeline entry per message. Whatever is about to be created
is marked pending first; a pending mark found later means the outcome is unknown (a timeout, a crash
after sending), and the portal is asked (phone, IM identity, ORIGIN_ID, the deal's comments) before
anything is sent again.

A sync is at most two round trips: the lookups it needs, then one group of chained commands
(`crm.contact.add`, `crm.deal.add` with `CONTACT_IDS=$result[contact]`, a comment per new message
with `ENTITY_ID=$result[deal]`). The batcher packs groups from many conversations into one `batch`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bitrix import methods
from bitrix.batcher import Batcher, Command, GroupResult
from bitrix.errors import BitrixError, BitrixRequestError, BitrixRetryable
from domain import Channel
from gateway.settings import TenantConfig
from gateway.store import crm_links
from gateway.store.conversation_hold import HeldForSync
from gateway.store.conversations import (
    CrmLink,
    DialogueState,
    TimelineEntry,
    link_writes,
    load_dialogue,
    load_link,
    save_link,
    timeline_from,
)
from qualifier.phone import mask_phone

if TYPE_CHECKING:
    from gateway.store.sql.visits import Visit
    from gateway.usecases.visits.appointments import Appointments

logger = logging.getLogger("gateway.usecases.crm.sync")

ORIGINATOR = "lead-gateway"
CHANNEL_TITLES = {
    Channel.TELEGRAM: "Telegram",
    Channel.WHATSAPP: "WhatsApp",
    Channel.INSTAGRAM: "Instagram",
    Channel.VK: "ВКонтакте",
    Channel.MAX: "MAX",
    Channel.FORM: "формы на сайте",
}
IM_TYPES = {
    Channel.TELEGRAM: "TELEGRAM",
    Channel.VK: "VK",
}  # Bitrix24 has no WHATSAPP/INSTAGRAM IM type: those use OTHER
COMMENTS_PER_SYNC = 40  # with a contact, a deal and updates, a group stays within a batch's 50


@dataclass(frozen=True)
class CrmContext:
    redis: Redis
    crm: Batcher
    tenant: TenantConfig
    service_names: dict[str, str]
    tenant_id: str = ""
    portal: str = ""  # which portal the ids we keep belong to (a digest of its webhook URL)
    appointments: Appointments | None = None  # with `lifecycle:`: the visit goes on the deal

    @property
    def scope(self) -> str:
        """Whose remembered ids: this tenant's, in this portal; another portal's ids mean nothing here."""
        return f"{self.tenant_id}@{self.portal}"


def identity_value(state: DialogueState) -> str:
    """The channel identity kept on the contact's IM field; stable, so it can be searched."""
    return f"{state.channel}:{state.sender_id}"


def _id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def comment_text(entry: TimelineEntry) -> str:
    return f"[{entry.at:%d.%m %H:%M}] {entry.author}: {entry.text}"


async def sync_conversation(ctx: CrmContext, conversation_key: str, read: HeldForSync | None = None) -> CrmLink | None:
    """Bring the deal and contact up to date with the conversation. `read`: what the caller read with
    the sync's lock (state, link, the timeline not yet posted); read here when not given."""
    state = read.state if read is not None else await load_dialogue(ctx.redis, conversation_key)
    if state is None:
        return None
    link = read.link if read is not None else await load_link(ctx.redis, conversation_key)
    if link.portal not in (None, ctx.portal):  # learned in another portal (the sandbox, or a switch)
        logger.warning("%s: CRM link from another portal dropped; the deal is made anew here", conversation_key)
        link = CrmLink()
    link.portal = ctx.portal
    await _verify_ours(ctx, state, link, conversation_key)
    await _remember_episodes(ctx, link, conversation_key)
    person = read.person if read is not None and link is read.link else await _cached_person(ctx, state, link)
    await _settle_unknowns(ctx, state, link, conversation_key, person)
    visit = await _visit(ctx, conversation_key, link)
    fresh = read  # the timeline as read with the lock, until the link has moved past it
    while True:
        if fresh is not None and fresh.start == link.timeline_posted:
            entries, fresh = fresh.timeline, None
        else:
            entries = await timeline_from(ctx.redis, conversation_key, link.timeline_posted)
        group = _changes(ctx, state, link, entries[:COMMENTS_PER_SYNC], visit)
        if group:
            await _apply(ctx, state, link, conversation_key, group, entries[:COMMENTS_PER_SYNC], visit, read)
        if not group or len(entries) <= COMMENTS_PER_SYNC:
            break
    if read is not None and ctx.appointments is not None:  # what waits for the release goes first
        await read.write()
    # the person's conversations by contact (kept as long as the conversation): reminders and robots'
    # messages try their other channels
    if link.contact_id is not None:
        await crm_links.remember_contact_conversation(ctx.redis, ctx.scope, link.contact_id, conversation_key)
    if visit is not None and ctx.appointments is not None and ctx.appointments.online is not None:
        visit = await _visit(ctx, conversation_key, link)  # with its deal attached
        if visit is not None:
            title = deal_fields(ctx, state, link)["TITLE"]
            await ctx.appointments.sync_booking(visit, contact_id=link.contact_id, deal_id=link.deal_id, title=title)
    return link


async def _remember_episodes(ctx: CrmContext, link: CrmLink, conversation_key: str) -> None:
    """A conversation Redis has forgotten (180 days) that had deals before, by the business store: its
    new deal is the next episode's, and a returning client's."""
    if ctx.appointments is None or link.deal_id is not None or link.deal_pending or link.returning:
        return
    from gateway.store.sql.episodes import episodes_so_far

    earlier = await episodes_so_far(ctx.appointments.engine, ctx.tenant_id, conversation_key, ctx.portal)
    if earlier >= link.episode:
        link.episode, link.returning = earlier + 1, True
        await save_link(ctx.redis, conversation_key, link)


async def _visit(ctx: CrmContext, conversation_key: str, link: CrmLink) -> Visit | None:
    """The episode's visit, whose time and state the deal shows (booked in the chat or in the portal)."""
    if ctx.appointments is None:
        return None
    from gateway.store.sql.visits import latest_visit

    visit = await latest_visit(ctx.appointments.engine, ctx.tenant_id, conversation_key)
    if visit is None or visit.portal != ctx.portal:
        return None
    if visit.deal_id is not None and visit.deal_id != link.deal_id:
        return None  # another episode's deal
    return visit


async def _verify_ours(ctx: CrmContext, state: DialogueState, link: CrmLink, conv: str) -> None:
    """Before a remembered deal or contact is first written to, check in the portal that it is ours: the
    deal carries our ORIGINATOR_ID and this conversation's ORIGIN_ID, the contact this client's identity
    or phone. One that is not (a portal restored or replaced behind our back) is dropped, not overwritten."""
    checks: dict[str, Command] = {}
    if link.deal_id is not None and not link.deal_verified:
        select = ["ID", "ORIGIN_ID", "ORIGINATOR_ID"]
        checks["deal"] = (methods.CRM_DEAL_LIST, {"filter": {"ID": link.deal_id}, "select": select})
    if link.contact_id is not None and not link.contact_verified:
        checks["contact"] = (
            methods.CRM_CONTACT_LIST,
            {"filter": {"ID": link.contact_id}, "select": ["ID", "IM", "PHONE"]},
        )
    if not checks:
        return
    found = await ctx.crm.submit(checks)
    if "deal" in checks:
        deal_id = link.deal_id
        origin = link.origin_id(conv)
        mine = _first_id(
            found.value("deal"),
            lambda row: (
                _id(row.get("ID")) == deal_id
                and (row.get("ORIGIN_ID"), row.get("ORIGINATOR_ID")) == (origin, ORIGINATOR)
            ),
        )
        if mine is not None:
            link.deal_verified = True
        else:
            logger.warning("%s: deal %s is not ours in this portal; a new one is made", conv, link.deal_id)
            link.deal_id, link.deal_digest, link.qualified, link.timeline_posted = None, None, False, 0
            link.deal_pending = True  # ours may still be there under another id: looked up by ORIGIN_ID
    if "contact" in checks:
        contact_id = link.contact_id
        mine = _first_id(
            found.value("contact"),
            lambda row: _id(row.get("ID")) == contact_id and _holds_client(row, identity_value(state), state.phone),
        )
        if mine is not None:
            link.contact_verified = True
        else:
            logger.warning("%s: contact %s is not this client's; looked up again", conv, link.contact_id)
            link.contact_id, link.identity_linked, link.phone_on_contact = None, False, None
            await crm_links.forget_person(ctx.redis, ctx.scope, state.channel, state.sender_id)
    await save_link(ctx.redis, conv, link)


def _holds_client(row: dict[str, Any], identity: str, phone: str | None) -> bool:
    """True if a contact row holds this client's channel identity, or their phone (strictly: a row
    without the fields proves nothing)."""
    values = []
    for field in ("IM", "PHONE"):
        entries = row.get(field)
        values += [str(e.get("VALUE", "")) for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return identity in values or bool(digits and any("".join(c for c in v if c.isdigit()) == digits for v in values))


async def _cached_person(ctx: CrmContext, state: DialogueState, link: CrmLink) -> str | None:
    """The contact id remembered for this person, when the link has none."""
    if link.contact_id is not None:
        return None
    return await crm_links.person_contact(ctx.redis, ctx.scope, state.channel, state.sender_id)


async def _settle_unknowns(
    ctx: CrmContext, state: DialogueState, link: CrmLink, conv: str, cached_person: str | None
) -> None:
    """Find what may exist already: the contact (by phone, then identity, unless the person's contact
    is remembered), a deal whose create was never confirmed (by ORIGIN_ID), comments whose post was never
    confirmed (on the deal)."""
    if link.contact_id is None:
        link.contact_id = _id(cached_person) if cached_person else None
    lookups = _lookups(state, link, conv)
    if lookups:
        found = await ctx.crm.submit(lookups)
        if link.contact_id is None:
            by_phone, by_identity = _found_contact(found, identity_value(state))
            link.contact_id = by_phone or by_identity
            link.contact_verified = link.contact_id is not None  # found by this client's phone or identity
            # What the contact already carries is what it was found by; only the rest is added to it
            # (an entry without an ID is appended to a multifield, so adding it twice would duplicate it).
            link.phone_on_contact = state.phone if by_phone else None
            link.identity_linked = by_identity is not None and by_identity == link.contact_id
        if "deal" in lookups:
            rows = found.value("deal")
            link.deal_id = _first_id(rows, lambda row: row.get("ORIGIN_ID") in (None, link.origin_id(conv)))
            link.deal_pending = False
            link.deal_verified = link.deal_id is not None  # found by our ORIGINATOR_ID and ORIGIN_ID
            if link.deal_id is not None:
                await _record_deal(ctx, state, link, conv, deal_is_new=True, new_contact=None)
        async with ctx.redis.pipeline(transaction=True) as pipe:  # the link and who the person is, together
            link_writes(pipe, conv, link)
            if link.contact_id is not None:
                crm_links.person_writes(pipe, ctx.scope, state.channel, state.sender_id, link.contact_id)
            await pipe.execute()
    if link.timeline_pending and link.deal_id is not None:
        await _reconcile_timeline(ctx, link, conv)
    elif link.timeline_pending:  # the deal was never created, so neither were its comments
        link.timeline_pending = False
        await save_link(ctx.redis, conv, link)


def _lookups(state: DialogueState, link: CrmLink, conv: str) -> dict[str, Command]:
    lookups: dict[str, Command] = {}
    if link.contact_id is None:
        if state.phone:
            lookups["by_phone"] = (
                methods.CRM_DUPLICATE_FINDBYCOMM,
                {"type": "PHONE", "values": [state.phone], "entity_type": "CONTACT"},
            )
        lookups["by_identity"] = (
            methods.CRM_CONTACT_LIST,
            {"filter": {"IM": identity_value(state)}, "select": ["ID", "IM"]},
        )
    if link.deal_id is None and link.deal_pending:
        lookups["deal"] = (
            methods.CRM_DEAL_LIST,
            {
                "filter": {"=ORIGINATOR_ID": ORIGINATOR, "=ORIGIN_ID": link.origin_id(conv)},
                "select": ["ID", "ORIGIN_ID"],
            },
        )
    return lookups


def _first_id(rows: Any, matches: Callable[[dict[str, Any]], bool]) -> int | None:
    """The first row the filter returned that really matches: a portal (or a stand-in) that ignores a
    filter it does not support must not make us adopt someone else's contact or deal."""
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and matches(row):
            return _id(row.get("ID"))
    return None


def _carries(row: dict[str, Any], key: str, value: str) -> bool:
    entries = row.get(key)
    if entries is None:  # not returned: trust the filter
        return True
    return any(isinstance(e, dict) and e.get("VALUE") == value for e in entries)


def _gone(outcome: GroupResult, name: str) -> bool:
    error = outcome.errors.get(name)
    return isinstance(error, BitrixRequestError) and "not found" in error.description.lower()


def _found_contact(found: GroupResult, identity: str) -> tuple[int | None, int | None]:
    """(the contact with this phone, the contact with this channel identity)."""
    phone_hits = found.value("by_phone") if "by_phone" in found.results or "by_phone" in found.errors else None
    ids = phone_hits.get("CONTACT", []) if isinstance(phone_hits, dict) else []
    by_phone = (min(_id(i) or 0 for i in ids) or None) if ids else None
    by_identity = _first_id(found.value("by_identity"), lambda row: _carries(row, "IM", identity))
    return by_phone, by_identity


async def _reconcile_timeline(ctx: CrmContext, link: CrmLink, conv: str) -> None:
    """Count which of the unconfirmed comments are on the deal (or its contact) already."""
    entries = await timeline_from(ctx.redis, conv, link.timeline_posted)
    present = await _comments_on(ctx, "deal", link.deal_id)
    if link.contact_id is not None and any(entry.on_contact for entry in entries):
        present |= await _comments_on(ctx, "contact", link.contact_id)
    for entry in entries:
        if comment_text(entry) not in present:
            break
        link.timeline_posted += 1
    link.timeline_pending = False
    await save_link(ctx.redis, conv, link)


async def _comments_on(ctx: CrmContext, owner: str, owner_id: int | None) -> set[str]:
    try:
        rows = await ctx.crm.call(
            methods.CRM_TIMELINE_COMMENT_LIST,
            {
                "filter": {"ENTITY_ID": owner_id, "ENTITY_TYPE": owner},
                "select": ["ID", "COMMENT"],
                "order": {"ID": "DESC"},
            },
        )
    except BitrixRequestError as exc:  # the list refused: post again rather than risk losing a message
        logger.warning("cannot list the %s's comments (%s); unconfirmed ones are posted again", owner, exc.code)
        rows = []
    return {str(r.get("COMMENT")) for r in rows} if isinstance(rows, list) else set()


def _im_entries(state: DialogueState) -> list[dict[str, str]]:
    im_type = IM_TYPES.get(state.channel, "OTHER")
    entries = [{"VALUE": identity_value(state), "VALUE_TYPE": im_type}]
    if state.username:
        entries.append({"VALUE": f"@{state.username}", "VALUE_TYPE": im_type})
    return entries


def _changes(
    ctx: CrmContext, state: DialogueState, link: CrmLink, entries: list[TimelineEntry], visit: Visit | None = None
) -> dict[str, Command]:
    """The one group of commands that brings the portal up to date, chained by `$result[...]`."""
    group: dict[str, Command] = {}
    if link.contact_id is None:
        contact: dict[str, Any] = {
            "NAME": state.name or state.username or "Клиент",
            "IM": _im_entries(state),
            "SOURCE_ID": ctx.tenant.bitrix.source_ids.get(state.channel, "OTHER"),
            "SOURCE_DESCRIPTION": CHANNEL_TITLES.get(state.channel, state.channel),
        }
        if state.phone:
            contact["PHONE"] = [{"VALUE": state.phone, "VALUE_TYPE": "MOBILE"}]
        group["contact"] = (methods.CRM_CONTACT_ADD, {"fields": contact})
    else:
        update: dict[str, Any] = {}
        if not link.identity_linked:
            update["IM"] = _im_entries(state)
        if state.phone and link.phone_on_contact != state.phone:
            update["PHONE"] = [{"VALUE": state.phone, "VALUE_TYPE": "MOBILE"}]
        if update:
            group["contact_update"] = (methods.CRM_CONTACT_UPDATE, {"id": link.contact_id, "fields": update})
    contact_ref: int | str | None = "$result[contact]" if "contact" in group else link.contact_id
    fields = deal_fields(ctx, state, link, contact_ref, visit)
    qualify = bool(ctx.tenant.bitrix.qualified_stage_id) and not state.missing() and not link.qualified
    visit_stage = _visit_stage(ctx, link, visit)
    stage = visit_stage or (ctx.tenant.bitrix.qualified_stage_id if qualify else None)
    if link.deal_id is None:
        create = dict(fields)
        stage = stage or ctx.tenant.bitrix.stage_id
        if stage:
            create["STAGE_ID"] = stage
        group["deal"] = (methods.CRM_DEAL_ADD, {"fields": create, "params": {"REGISTER_SONET_EVENT": "Y"}})
    elif link.deal_digest != _digest(fields) or stage:
        update_fields = {**fields, "STAGE_ID": stage} if stage else fields
        group["deal_update"] = (methods.CRM_DEAL_UPDATE, {"id": link.deal_id, "fields": update_fields})
    deal_ref: int | str | None = "$result[deal]" if "deal" in group else link.deal_id
    for index, entry in enumerate(entries):
        owner, kind = (contact_ref, "contact") if entry.on_contact and contact_ref else (deal_ref, "deal")
        group[f"comment{index}"] = (
            methods.CRM_TIMELINE_COMMENT_ADD,
            {"fields": {"ENTITY_ID": owner, "ENTITY_TYPE": kind, "COMMENT": comment_text(entry)}},
        )
    return group


async def _apply(
    ctx: CrmContext,
    state: DialogueState,
    link: CrmLink,
    conv: str,
    group: dict[str, Command],
    entries: list[TimelineEntry],
    visit: Visit | None = None,
    held: HeldForSync | None = None,
) -> None:
    """Send the group with pending marks saved first; keep what succeeded; raise the first failure.
    `held`: the sync's lock, with which the last writes go (see HeldForSync.defer)."""
    link.deal_pending = link.deal_pending or "deal" in group
    link.timeline_pending = bool(entries)
    await _save_pending(ctx, link, conv, held)
    outcome = await ctx.crm.submit(group)  # a transport failure raises here: every mark stays pending
    first_error = next((outcome.errors[name] for name in group if name in outcome.errors), None)
    if _gone(outcome, "deal_update") or _gone(outcome, "contact_update"):
        # deleted in Bitrix24 behind our back: forget it, and let the retry create it anew
        if _gone(outcome, "deal_update"):
            link.deal_id, link.deal_digest, link.qualified, link.timeline_posted = None, None, False, 0
        if _gone(outcome, "contact_update"):
            link.contact_id, link.identity_linked, link.phone_on_contact = None, False, None
            await crm_links.forget_person(ctx.redis, ctx.scope, state.channel, state.sender_id)
        link.deal_pending = link.timeline_pending = False
        await save_link(ctx.redis, conv, link)
        raise BitrixRetryable("GONE", "the deal or contact was deleted in the portal; it is created again")
    if "contact" in group:
        link.contact_id = _id(outcome.results.get("contact")) if "contact" not in outcome.errors else None
        if link.contact_id is not None:  # the person's contact is remembered with the link, below
            link.identity_linked, link.phone_on_contact, link.contact_verified = True, state.phone, True
            logger.info("contact %s created for %s phone=%s", link.contact_id, conv, mask_phone(state.phone or ""))
    if "contact_update" in group and "contact_update" not in outcome.errors:
        link.identity_linked, link.phone_on_contact = True, state.phone or link.phone_on_contact
    if "deal" in group and "deal" not in outcome.errors:
        link.deal_id = _id(outcome.results.get("deal"))
        link.deal_verified = link.deal_id is not None
        logger.info("deal %s created for %s", link.deal_id, conv)
        await _record_episode(ctx, conv, link.deal_id)
    deal_written = ("deal" in group or "deal_update" in group) and not {"deal", "deal_update"} & set(outcome.errors)
    if deal_written:
        await _deal_written(ctx, state, link, conv, visit)
    link.deal_pending = False  # answered: created, or refused for certain
    for index in range(len(entries)):
        if f"comment{index}" in outcome.errors:
            break
        link.timeline_posted += 1
    link.timeline_pending = False
    new_contact = link.contact_id if "contact" in group else None
    await _record_deal(ctx, state, link, conv, deal_is_new="deal" in group, new_contact=new_contact, held=held)
    if first_error is not None:
        raise first_error


async def _save_pending(ctx: CrmContext, link: CrmLink, conv: str, held: HeldForSync | None) -> None:
    """The pending marks, before the portal is called; after anything deferred by an earlier group."""
    if held is None:
        await save_link(ctx.redis, conv, link)
        return
    pending = link.model_copy()
    await held.write(lambda pipe: link_writes(pipe, conv, pending))


async def _record_episode(ctx: CrmContext, conv: str, deal_id: int | None) -> None:
    if deal_id is None or ctx.appointments is None:
        return
    from gateway.store.sql.episodes import record_episode  # SQLAlchemy: only with `lifecycle:`

    engine, now = ctx.appointments.engine, ctx.appointments.clock()
    await record_episode(engine, tenant=ctx.tenant_id, conversation=conv, portal=ctx.portal, deal_id=deal_id, now=now)


async def _deal_written(ctx: CrmContext, state: DialogueState, link: CrmLink, conv: str, visit: Visit | None) -> None:
    fields = deal_fields(ctx, state, link, link.contact_id, visit)
    link.deal_digest = _digest(fields)
    link.qualified = link.qualified or (bool(ctx.tenant.bitrix.qualified_stage_id) and not state.missing())
    if visit is not None:
        link.visit_stage = visit.status
        link.closed = link.closed and not visit.active  # a visit booked on it again reopens the deal
        link.visit_written = visit.start_at.astimezone(ctx.tenant.tz).isoformat()
        if link.deal_id is not None and visit.deal_id is None and ctx.appointments is not None:
            from gateway.store.sql.visits import attach_deal  # SQLAlchemy: only with `lifecycle:`

            await attach_deal(ctx.appointments.engine, ctx.tenant_id, ctx.portal, conv, link.deal_id)


async def _deal_row(ctx: CrmContext, deal_id: int, fields: list[str]) -> dict[str, Any] | None:
    """The deal's row as the portal has it now, or None when it has none (one request)."""
    rows = await ctx.crm.call(methods.CRM_DEAL_LIST, {"filter": {"ID": deal_id}, "select": ["ID", *fields]})
    found = (
        (r for r in rows if isinstance(r, dict) and str(r.get("ID")) == str(deal_id)) if isinstance(rows, list) else ()
    )
    return next(iter(found), None)


async def deal_exists(ctx: CrmContext, deal_id: int) -> bool:
    """Ask the portal: an event's word alone is not enough to drop a link (its token may have leaked)."""
    return await _deal_row(ctx, deal_id, []) is not None


CLOSED_SEMANTICS = ("S", "F")  # STAGE_SEMANTIC_ID of a won or lost deal (P: in progress)


async def deal_closed(ctx: CrmContext, deal_id: int) -> bool:
    """Whether the portal has the deal at a final stage (one request). A portal that cannot answer now
    says no: the client's message is never held up for it, and goes on the deal it has."""
    try:
        row = await _deal_row(ctx, deal_id, ["STAGE_SEMANTIC_ID"])
    except BitrixError as exc:
        logger.warning("deal %s: its stage could not be read (%s); taken as open", deal_id, exc)
        return False
    return row is not None and row.get("STAGE_SEMANTIC_ID") in CLOSED_SEMANTICS


async def forget_deal(ctx: CrmContext, deal_id: int) -> str | None:
    """The deal was deleted in Bitrix24: the conversation gets a new deal, with its whole transcript, when
    it next syncs. Returns the conversation that had it, if any."""
    redis = ctx.redis
    conv = await crm_links.deal_conversation(redis, ctx.scope, deal_id)
    if conv is None:
        return None
    link = await load_link(redis, conv)
    if link.deal_id == deal_id:
        link.deal_id, link.deal_digest, link.deal_pending = None, None, False
        link.qualified, link.timeline_posted, link.timeline_pending = False, 0, False
        await save_link(redis, conv, link)
    await crm_links.forget_deal(redis, ctx.scope, deal_id)
    return conv


async def _record_deal(
    ctx: CrmContext,
    state: DialogueState,
    link: CrmLink,
    conv: str,
    *,
    deal_is_new: bool,
    new_contact: int | None,
    held: HeldForSync | None = None,
) -> None:
    """Keep the link; when the deal id is new to us, also the conversation under the deal (for reminders),
    and a new contact under the person; in one transaction, which waits for the lock's release when the
    sync holds one (a round trip less; a sync that fails after it still writes it on the way out)."""
    kept = link.model_copy()

    def writes(pipe: Pipeline) -> None:
        link_writes(pipe, conv, kept)
        if deal_is_new and kept.deal_id is not None:
            crm_links.deal_writes(pipe, ctx.scope, kept.deal_id, conv)
        if new_contact is not None:
            crm_links.person_writes(pipe, ctx.scope, state.channel, state.sender_id, new_contact)

    if held is not None:
        held.defer(writes)
        return
    async with ctx.redis.pipeline(transaction=True) as pipe:
        writes(pipe)
        await pipe.execute()


def _source_description(state: DialogueState) -> str:
    channel = CHANNEL_TITLES.get(state.channel, state.channel)
    parts = [channel + (f" @{state.username}" if state.username else f" id {state.sender_id}")]
    if state.attribution and state.attribution.code:
        parts.append(f"ссылка: {state.attribution.code}")
    if state.attribution and state.attribution.description:
        parts.append(state.attribution.description)
    return "; ".join(parts)


def _comments(state: DialogueState, services: str) -> str:
    lines = [f"Услуга: {services}"] if services else []
    if state.time_start:
        end = f"–{state.time_end:%d.%m.%Y %H:%M}" if state.time_end else ""
        lines.append(f"Желаемое время: {state.time_start:%d.%m.%Y %H:%M}{end}")
    if state.phone:
        lines.append(f"Телефон: {state.phone}")
    return "\n".join(lines)


def _user_fields(ctx: CrmContext, state: DialogueState, services: str) -> dict[str, str]:
    names = ctx.tenant.bitrix.fields
    values = {
        names.service: services or None,
        names.desired_time: state.time_start.isoformat() if state.time_start else None,
        names.desired_time_end: state.time_end.isoformat() if state.time_end else None,
    }
    return {name: value for name, value in values.items() if name and value}


def _visit_stage(ctx: CrmContext, link: CrmLink, visit: Visit | None) -> str | None:
    """The stage the deal moves to for a visit state it has not shown yet; a final stage (visited, no-show)
    is the portal's to set, never ours."""
    if visit is None or link.visit_stage == visit.status or visit.status not in WRITTEN_STAGES:
        return None
    return str(getattr(ctx.tenant.bitrix.stages, visit.status))


WRITTEN_STAGES = ("booked", "confirmed", "cancelled")


def deal_fields(
    ctx: CrmContext,
    state: DialogueState,
    link: CrmLink,
    contact: int | str | None = None,
    visit: Visit | None = None,
) -> dict[str, Any]:
    channel = CHANNEL_TITLES.get(state.channel, state.channel)
    services = ", ".join(ctx.service_names.get(s, s) for s in state.service_ids)
    who = state.name or (f"@{state.username}" if state.username else "клиент")
    fields: dict[str, Any] = {
        "TITLE": f"{services} — {who}" if services else f"Заявка из {channel} — {who}",
        "CONTACT_IDS": [contact] if contact else [],
        "SOURCE_ID": ctx.tenant.bitrix.source_ids.get(state.channel, "OTHER"),
        "SOURCE_DESCRIPTION": _source_description(state),
        "ORIGINATOR_ID": ORIGINATOR,
        "ORIGIN_ID": link.origin_id(state.conversation_key),
    }
    if link.returning:
        fields["IS_RETURN_CUSTOMER"] = "Y"
    visit_field = ctx.tenant.bitrix.visit_field
    if visit is not None and visit_field:
        fields[visit_field] = visit.start_at.astimezone(ctx.tenant.tz).isoformat()
    if state.attribution:
        for tag in ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"):
            value = getattr(state.attribution, tag)
            if value:
                fields[tag.upper()] = value
    comments = _comments(state, services)
    if visit is not None and visit.discount_percent:
        comments += f"\nСкидка {visit.discount_percent}%: повторная запись после неявки"
    if comments:
        fields["COMMENTS"] = comments
    if ctx.tenant.bitrix.category_id is not None:
        fields["CATEGORY_ID"] = ctx.tenant.bitrix.category_id
    fields.update(_user_fields(ctx, state, services))
    return fields


def _digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
