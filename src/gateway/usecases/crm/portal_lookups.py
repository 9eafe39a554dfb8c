"""Before writing, find what the portal already has: a remembered deal or contact checked to be ours,
a contact by phone or identity, a deal whose create was never confirmed, comments already posted."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bitrix import methods
from bitrix.batcher import Command, GroupResult
from bitrix.errors import BitrixRequestError
from gateway.store import crm_links
from gateway.store.conversations import CrmLink, DialogueState, save_link, timeline_from
from gateway.usecases.crm.context import ORIGINATOR, CrmContext, comment_text, identity_value, int_id

logger = logging.getLogger("gateway.usecases.crm.portal_lookups")


async def verify_ours(ctx: CrmContext, state: DialogueState, link: CrmLink, conv: str) -> None:
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
        mine = first_id(
            found.value("deal"),
            lambda row: (
                int_id(row.get("ID")) == deal_id
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
        mine = first_id(
            found.value("contact"),
            lambda row: int_id(row.get("ID")) == contact_id and _holds_client(row, identity_value(state), state.phone),
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


def lookups_for(state: DialogueState, link: CrmLink, conv: str) -> dict[str, Command]:
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


def first_id(rows: Any, matches: Callable[[dict[str, Any]], bool]) -> int | None:
    """The first row the filter returned that really matches: a portal (or a stand-in) that ignores a
    filter it does not support must not make us adopt someone else's contact or deal."""
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and matches(row):
            return int_id(row.get("ID"))
    return None


def _carries(row: dict[str, Any], key: str, value: str) -> bool:
    entries = row.get(key)
    if entries is None:  # not returned: trust the filter
        return True
    return any(isinstance(e, dict) and e.get("VALUE") == value for e in entries)


def gone(outcome: GroupResult, name: str) -> bool:
    error = outcome.errors.get(name)
    return isinstance(error, BitrixRequestError) and "not found" in error.description.lower()


def found_contact(found: GroupResult, identity: str) -> tuple[int | None, int | None]:
    """(the contact with this phone, the contact with this channel identity)."""
    phone_hits = found.value("by_phone") if "by_phone" in found.results or "by_phone" in found.errors else None
    ids = phone_hits.get("CONTACT", []) if isinstance(phone_hits, dict) else []
    by_phone = (min(int_id(i) or 0 for i in ids) or None) if ids else None
    by_identity = first_id(found.value("by_identity"), lambda row: _carries(row, "IM", identity))
    return by_phone, by_identity


async def reconcile_timeline(ctx: CrmContext, link: CrmLink, conv: str) -> None:
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
