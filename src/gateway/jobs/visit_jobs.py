"""Jobs about visits that reach outside the client's own chat: a website form's lead offered slots on a
messenger the gateway knows them on, a low rating's to-do on the deal, and a payment provider's
notification settled against the deposit it pays. Each runs guarded like every job."""

from __future__ import annotations

from typing import Any

from domain import SendRejected
from gateway.bootstrap import Runtime
from gateway.jobs.guard import guarded
from gateway.store.job_format import PAYMENT_EVENT, RATING_TODO, REACH_LEAD


async def rating_todo(ctx: dict[str, Any], tenant: str, visit_id: int) -> str:
    """A low rating's to-do for the deal's responsible, made or given the client's answer."""
    runtime: Runtime = ctx["runtime"]

    async def work() -> str:
        from gateway.usecases.crm import rating_todo as todo

        if tenant not in runtime.tenants or runtime.tenants[tenant].appointments is None:
            raise SendRejected(f"tenant {tenant!r} no longer has the lifecycle")
        return await todo.rating_todo(runtime.crm_context(tenant), visit_id, runtime.clock())

    return await guarded(ctx, RATING_TODO, [tenant, visit_id], tenant, work, event_id=f"rating:{visit_id}")


async def payment_event(ctx: dict[str, Any], tenant: str, payment_id: str) -> str:
    """A payment's notification: read back from the provider and the deposit it pays settled."""
    runtime: Runtime = ctx["runtime"]

    async def work() -> str:
        services = runtime.tenants.get(tenant)
        if services is None or services.deposits is None:
            raise SendRejected(f"tenant {tenant!r} takes no deposits")
        return str(await services.deposits.settle(payment_id, runtime.clock()))

    return await guarded(ctx, PAYMENT_EVENT, [tenant, payment_id], tenant, work, event_id=f"payment:{payment_id}")


async def reach_lead(ctx: dict[str, Any], payload: dict[str, Any]) -> str:
    """A website form's lead looked for among the conversations the gateway knows, and asked there."""
    runtime: Runtime = ctx["runtime"]
    tenant = str(payload.get("tenant", "?"))

    async def work() -> str:
        from gateway.usecases.conversation.form_answers import Reach
        from gateway.usecases.conversation.lead_reach import reach

        if tenant not in runtime.tenants or runtime.tenants[tenant].visit_replies is None:
            raise SendRejected(f"tenant {tenant!r} no longer has the lifecycle")
        return await reach(runtime.reach_context(tenant), Reach.model_validate(payload), runtime.clock())

    ids = {
        "conversation": str(payload.get("target") or payload.get("form", "?")),
        "event_id": str(payload.get("form_event", "?")),
    }
    return await guarded(ctx, REACH_LEAD, [payload], tenant, work, **ids)
