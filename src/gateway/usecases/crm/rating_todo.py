"""A low rating becomes a to-do for the deal's responsible, due `review.todo_within` of opening hours: made
when the client rates, and the client's answer to «что пошло не так?» written into it when it comes.
One job at a time per visit, so the to-do is made once and the answer lands whichever job runs first."""

from __future__ import annotations

import logging
from datetime import datetime

from bitrix import methods
from bitrix.messageservice import OwnerType
from domain import SendRetryable, Visit, after_open_time, parse_duration
from gateway.store import keys
from gateway.store.sql import ratings
from gateway.store.sql import visits as store
from gateway.usecases.crm.context import CrmContext, int_id

logger = logging.getLogger("gateway.usecases.crm.rating_todo")

LOCK_SECONDS = 60


async def rating_todo(ctx: CrmContext, visit_id: int, now: datetime) -> str:
    app = ctx.appointments
    if app is None or app.lifecycle.review is None:
        return "no_reviews"
    async with ctx.redis.lock(keys.review_lock(visit_id), timeout=LOCK_SECONDS, blocking_timeout=LOCK_SECONDS):
        rating = await ratings.rating_of(app.engine, visit_id)
        visit = await store.visit_by_id(app.engine, visit_id)
        if rating is None or visit is None:
            return "gone"  # forgotten meanwhile
        if visit.deal_id is None:
            raise SendRetryable(f"visit {visit_id} has no deal yet")  # its sync makes it: retried
        if rating.todo_id is None:
            return await _make(ctx, visit, visit.deal_id, rating, now)
        if rating.comment and not rating.todo_has_comment:
            params = {
                "id": rating.todo_id,
                "ownerTypeId": OwnerType.DEAL,
                "ownerId": visit.deal_id,
                "value": _description(ctx, rating, visit.start_at),
            }
            await ctx.crm.call(methods.CRM_ACTIVITY_TODO_UPDATE_DESCRIPTION, params)
            await ratings.todo_made(app.engine, visit_id, rating.todo_id, with_comment=True)
            return "answer_added"
        return "done_before"


async def _make(ctx: CrmContext, visit: Visit, deal_id: int, rating: ratings.Rating, now: datetime) -> str:
    app = ctx.appointments
    assert app is not None and app.lifecycle.review is not None  # noqa: S101 - checked by the caller
    local = now.astimezone(ctx.tenant.tz)
    due = after_open_time(local, parse_duration(app.lifecycle.review.todo_within), ctx.tenant.opening_hours())
    params: dict[str, object] = {
        "ownerTypeId": OwnerType.DEAL,
        "ownerId": deal_id,
        "deadline": due.isoformat(timespec="seconds"),
        "title": f"Клиент оценил визит на {rating.score} из 5: свяжитесь с ним",
        "description": _description(ctx, rating, visit.start_at),
    }
    manager = visit.manager_id
    if manager is None:
        deal = await ctx.crm.call(methods.CRM_DEAL_GET, {"id": deal_id})
        manager = int_id(deal.get("ASSIGNED_BY_ID")) if isinstance(deal, dict) else None
    if manager is not None:
        params["responsibleId"] = manager
    created = await ctx.crm.call(methods.CRM_ACTIVITY_TODO_ADD, params)
    todo = int_id(created.get("id") if isinstance(created, dict) else created)
    if todo is None:
        raise SendRetryable(f"crm.activity.todo.add answered {created!r}")
    await ratings.todo_made(app.engine, rating.visit_id, todo, with_comment=bool(rating.comment))
    when = f"{due:%d.%m %H:%M}"  # not an ISO date: the log's phone mask would take its digits for one
    logger.info(
        "visit %s rated %s: to-do %s for the deal %s due %s", rating.visit_id, rating.score, todo, deal_id, when
    )
    return "made"


def _description(ctx: CrmContext, rating: ratings.Rating, start: datetime) -> str:
    when = start.astimezone(ctx.tenant.tz)
    said = (
        f"Ответ клиента: «{rating.comment}»"
        if rating.comment
        else "Бот спросил, что пошло не так; ответ пока не пришёл."
    )
    return f"Оценка {rating.score} из 5 за визит {when:%d.%m %H:%M}. {said}"
