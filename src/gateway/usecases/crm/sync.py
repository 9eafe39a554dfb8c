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

import logging
from typing import Any

from redis.asyncio.client import Pipeline

from bitrix import methods
from bitrix.batcher import Command
from bitrix.errors import BitrixRetryable
from domain import Visit
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
from gateway.usecases.crm.context import COMMENTS_PER_SYNC, CrmContext, comment_text, identity_value, int_id
from gateway.usecases.crm.deal_fields import CHANNEL_TITLES, deal_fields, digest, im_entries, stage_for_visit
from gateway.usecases.crm.portal_lookups import (
    first_id,
    found_contact,
    gone,
    lookups_for,
    reconcile_timeline,
    verify_ours,
)
from qualifier.phone import mask_phone

logger = logging.getLogger("gateway.usecases.crm.sync")


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
    await verify_ours(ctx, state, link, conversation_key)
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
        link.contact_id = int_id(cached_person) if cached_person else None
    lookups = lookups_for(state, link, conv)
    if lookups:
        found = await ctx.crm.submit(lookups)
        if link.contact_id is None:
            by_phone, by_identity = found_contact(found, identity_value(state))
            link.contact_id = by_phone or by_identity
            link.contact_verified = link.contact_id is not None  # found by this client's phone or identity
            # What the contact already carries is what it was found by; only the rest is added to it
            # (an entry without an ID is appended to a multifield, so adding it twice would duplicate it).
            link.phone_on_contact = state.phone if by_phone else None
            link.identity_linked = by_identity is not None and by_identity == link.contact_id
        if "deal" in lookups:
            rows = found.value("deal")
            link.deal_id = first_id(rows, lambda row: row.get("ORIGIN_ID") in (None, link.origin_id(conv)))
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
        await reconcile_timeline(ctx, link, conv)
    elif link.timeline_pending:  # the deal was never created, so neither were its comments
        link.timeline_pending = False
        await save_link(ctx.redis, conv, link)


def _changes(
    ctx: CrmContext, state: DialogueState, link: CrmLink, entries: list[TimelineEntry], visit: Visit | None = None
) -> dict[str, Command]:
    """The one group of commands that brings the portal up to date, chained by `$result[...]`."""
    group: dict[str, Command] = {}
    if link.contact_id is None:
        contact: dict[str, Any] = {
            "NAME": state.name or state.username or "Клиент",
            "IM": im_entries(state),
            "SOURCE_ID": ctx.tenant.bitrix.source_ids.get(state.channel, "OTHER"),
            "SOURCE_DESCRIPTION": CHANNEL_TITLES.get(state.channel, state.channel),
        }
        if state.phone:
            contact["PHONE"] = [{"VALUE": state.phone, "VALUE_TYPE": "MOBILE"}]
        group["contact"] = (methods.CRM_CONTACT_ADD, {"fields": contact})
    else:
        update: dict[str, Any] = {}
        if not link.identity_linked:
            update["IM"] = im_entries(state)
        if state.phone and link.phone_on_contact != state.phone:
            update["PHONE"] = [{"VALUE": state.phone, "VALUE_TYPE": "MOBILE"}]
        if update:
            group["contact_update"] = (methods.CRM_CONTACT_UPDATE, {"id": link.contact_id, "fields": update})
    contact_ref: int | str | None = "$result[contact]" if "contact" in group else link.contact_id
    fields = deal_fields(ctx, state, link, contact_ref, visit)
    qualify = bool(ctx.tenant.bitrix.qualified_stage_id) and not state.missing() and not link.qualified
    visit_stage = stage_for_visit(ctx, link, visit)
    stage = visit_stage or (ctx.tenant.bitrix.qualified_stage_id if qualify else None)
    if link.deal_id is None:
        create = dict(fields)
        stage = stage or ctx.tenant.bitrix.stage_id
        if stage:
            create["STAGE_ID"] = stage
        group["deal"] = (methods.CRM_DEAL_ADD, {"fields": create, "params": {"REGISTER_SONET_EVENT": "Y"}})
    elif link.deal_digest != digest(fields) or stage:
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
    if gone(outcome, "deal_update") or gone(outcome, "contact_update"):
        # deleted in Bitrix24 behind our back: forget it, and let the retry create it anew
        if gone(outcome, "deal_update"):
            link.deal_id, link.deal_digest, link.qualified, link.timeline_posted = None, None, False, 0
        if gone(outcome, "contact_update"):
            link.contact_id, link.identity_linked, link.phone_on_contact = None, False, None
            await crm_links.forget_person(ctx.redis, ctx.scope, state.channel, state.sender_id)
        link.deal_pending = link.timeline_pending = False
        await save_link(ctx.redis, conv, link)
        raise BitrixRetryable("GONE", "the deal or contact was deleted in the portal; it is created again")
    if "contact" in group:
        link.contact_id = int_id(outcome.results.get("contact")) if "contact" not in outcome.errors else None
        if link.contact_id is not None:  # the person's contact is remembered with the link, below
            link.identity_linked, link.phone_on_contact, link.contact_verified = True, state.phone, True
            logger.info("contact %s created for %s phone=%s", link.contact_id, conv, mask_phone(state.phone or ""))
    if "contact_update" in group and "contact_update" not in outcome.errors:
        link.identity_linked, link.phone_on_contact = True, state.phone or link.phone_on_contact
    if "deal" in group and "deal" not in outcome.errors:
        link.deal_id = int_id(outcome.results.get("deal"))
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
    link.deal_digest = digest(fields)
    link.qualified = link.qualified or (bool(ctx.tenant.bitrix.qualified_stage_id) and not state.missing())
    if visit is not None:
        link.visit_stage = visit.status
        link.closed = link.closed and not visit.active  # a visit booked on it again reopens the deal
        link.visit_written = visit.start_at.astimezone(ctx.tenant.tz).isoformat()
        if link.deal_id is not None and visit.deal_id is None and ctx.appointments is not None:
            from gateway.store.sql.visits import attach_deal  # SQLAlchemy: only with `lifecycle:`

            await attach_deal(ctx.appointments.engine, ctx.tenant_id, ctx.portal, conv, link.deal_id)


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
