"""One deal read back from the portal: whether it still exists, whether it is closed, and a link dropped
when the portal says the deal is gone."""

from __future__ import annotations

import logging
from typing import Any

from bitrix import methods
from bitrix.errors import BitrixError
from gateway.store import crm_links
from gateway.store.conversations import load_link, save_link
from gateway.usecases.crm.context import CrmContext

logger = logging.getLogger("gateway.usecases.crm.deal_reads")


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
