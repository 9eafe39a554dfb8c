"""The one retry policy every job runs under: backoff on what may pass, the dead-letter queue for what
will not, so no job is ever dropped by arq."""

from __future__ import annotations

import asyncio
import logging
import random
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from arq import Retry
from pydantic import ValidationError
from redis.exceptions import LockError, RedisError

from bitrix.errors import BitrixAuthError, BitrixRequestError, BitrixRetryable, OperationTimeLimit
from domain import SendRejected, SendRetryable
from domain.payments import PaymentError, PaymentRetryable
from gateway.bootstrap import Runtime
from gateway.logs import log_context
from gateway.store import dlq
from gateway.store.job_format import JOBS

logger = logging.getLogger("gateway.jobs.guard")

TRANSIENT = (SendRetryable, BitrixRetryable, PaymentRetryable, LockError, RedisError, OSError, TimeoutError)
# Refused for good: the request, the credentials or the payload is wrong, and the same call fails again.
PERMANENT = (BitrixAuthError, BitrixRequestError, PaymentError, ValidationError, SendRejected)
# An exception nobody foresaw (a bug, an odd answer) may still pass: retried this often, then parked.
UNEXPECTED_ATTEMPTS = 3
PARKED = "parked"  # the outcome of a job left in the dead-letter queue
MAX_BACKOFF_SECONDS = 300.0  # a recovered portal is drained within five minutes
# Seconds a job may run before it is retried (store/job_format.py's JOBS); arq's own timeout is 10 s
# longer, and a crashed worker's jobs are picked up again once that plus 10 s has passed.
JOB_DEADLINES = {name: kind.deadline for name, kind in JOBS.items()}


def backoff_seconds(attempt: int, base: float, hint: float | None = None) -> float:
    if hint is not None and hint > 0:
        return hint
    # jitter keeps a burst of failed jobs from hammering the portal in step
    return float(min(base * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS) * (0.75 + random.random() / 2))  # noqa: S311


async def guarded(
    ctx: dict[str, Any],
    function: str,
    args: list[Any],
    tenant: str,
    work: Callable[[], Awaitable[str]],
    **log_ids: str,
) -> str:
    """Run a job's work so that every way it can end is one of: done, retried, or parked.

    arq drops a job for good on any exception but `Retry`, so none may escape: transient failures are
    retried with backoff until `queue.max_attempts`, refusals (bad request, credentials, payload) are
    parked at once, anything unforeseen is retried `UNEXPECTED_ATTEMPTS` times and then parked. A parked
    job is in the dead-letter queue with its reason, counted, and listed by `dlq list` and /readyz.
    """
    runtime: Runtime = ctx["runtime"]
    attempt = int(ctx.get("job_try", 1))
    limit = runtime.config.queue.max_attempts
    with log_context(tenant=tenant, **log_ids):
        try:
            # Our own deadline, inside arq's: a job arq times out is not retried, one we time out is.
            async with asyncio.timeout(JOB_DEADLINES[function]):
                outcome = await work()
        except TRANSIENT as exc:
            if attempt >= limit:
                return await _park(runtime, function, args, tenant, exc, attempt, f"after {attempt} attempts")
            hint = getattr(exc, "retry_after", None)
            if isinstance(exc, OperationTimeLimit) and exc.reset_at:
                hint = max(exc.reset_at - datetime.now(UTC).timestamp(), 1.0)
            _retrying(runtime, function, attempt, exc)
            raise Retry(defer=backoff_seconds(attempt, ctx["retry_base"], hint)) from exc
        except PERMANENT as exc:
            return await _park(runtime, function, args, tenant, exc, attempt, "not retryable")
        except Exception as exc:
            if store_outage(exc):  # the business store is away: like Redis, retried until it is back
                if attempt >= limit:
                    return await _park(runtime, function, args, tenant, exc, attempt, f"after {attempt} attempts")
                _retrying(runtime, function, attempt, exc)
                raise Retry(defer=backoff_seconds(attempt, ctx["retry_base"])) from exc
            logger.exception("%s attempt %d failed unexpectedly", function, attempt)
            if attempt >= min(limit, UNEXPECTED_ATTEMPTS):
                return await _park(runtime, function, args, tenant, exc, attempt, "unexpected error")
            _retrying(runtime, function, attempt, exc)
            raise Retry(defer=backoff_seconds(attempt, ctx["retry_base"])) from exc
    runtime.metrics.jobs.labels(function, outcome).inc()
    return outcome


def store_outage(exc: BaseException) -> bool:
    """An error of the business store's connection (down, restarting, unreachable), not of a statement.
    Read from SQLAlchemy only if it is loaded: a process without `lifecycle:` never imports it."""
    errors = sys.modules.get("sqlalchemy.exc")
    if errors is None:
        return False
    if isinstance(exc, errors.InterfaceError | errors.TimeoutError):  # a connection (or the pool) failed
        return True
    if isinstance(exc, errors.DBAPIError) and exc.connection_invalidated:
        return True
    # SQLite and PostgreSQL both say OperationalError for a bad statement too: only these mean "away"
    message = str(getattr(exc, "orig", exc)).lower()
    return isinstance(exc, errors.OperationalError) and any(hint in message for hint in STORE_AWAY)


STORE_AWAY = (
    "database is locked",
    "unable to open database",
    "disk i/o error",
    "could not connect",
    "connection refused",
    "server closed the connection",
    "terminating connection",
    "the database system is starting up",
    "the database system is shutting down",
)


def _retrying(runtime: Runtime, function: str, attempt: int, exc: Exception) -> None:
    runtime.metrics.jobs.labels(function, "retry").inc()
    logger.warning("%s attempt %d failed, retrying: %s: %s", function, attempt, type(exc).__name__, exc)


async def _park(
    runtime: Runtime, function: str, args: list[Any], tenant: str, exc: Exception, attempt: int, why: str
) -> str:
    reason = f"{type(exc).__name__}: {exc}"
    try:
        await dlq.park(runtime.redis, function, args, tenant, reason, attempt)
    except (RedisError, OSError) as redis_down:  # cannot park now: keep the job, and park it on a later try
        logger.warning("%s could not be parked (%s); retried", function, type(redis_down).__name__)
        raise Retry(defer=backoff_seconds(attempt, 1.0)) from exc
    runtime.metrics.jobs.labels(function, "dead_letter").inc()
    logger.error("%s parked (%s): %s", function, why, reason)
    return PARKED
