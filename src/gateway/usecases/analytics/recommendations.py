"""The tenant's service pairs: mined from a year of visited visits once a day (off the reply path, on the
agenda's cron), kept in Redis, read by `upsell: auto`, the retention offer and
`GET /api/{tenant}/recommendations`."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import parse_duration
from domain.recommendations import Pair, mine
from gateway.settings.lifecycle import RecommendConfig
from gateway.store import keys
from gateway.store.redis_result import result
from gateway.store.sql.occupancy import visited_services

logger = logging.getLogger("gateway.usecases.analytics.recommendations")

HISTORY = timedelta(days=365)  # the visits mined
EVERY = timedelta(days=1)
KEPT_SECONDS = 3 * 24 * 3600  # a day's mining missed (a long outage) leaves yesterday's pairs in use


async def mine_if_due(engine: AsyncEngine, redis: Redis, tenant: str, config: RecommendConfig, now: datetime) -> bool:
    """Mine the tenant's pairs unless it was done in the last day (by this process or another)."""
    if not await result(redis.set(keys.recommendations_mined(tenant), "1", nx=True, ex=int(EVERY.total_seconds()))):
        return False
    await mine_now(engine, redis, tenant, config, now)
    return True


async def mine_now(
    engine: AsyncEngine, redis: Redis, tenant: str, config: RecommendConfig, now: datetime
) -> list[Pair]:
    visits = await visited_services(engine, tenant, now - HISTORY)
    pairs = mine(visits, within=parse_duration(config.within), min_clients=config.min_clients, min_lift=config.min_lift)
    body = {"at": now.isoformat(), "visits": len(visits), "pairs": [pair.__dict__ for pair in pairs]}
    await result(redis.set(keys.recommendations(tenant), json.dumps(body), ex=KEPT_SECONDS))
    logger.info("%s: %d pairs mined from %d visits", tenant, len(pairs), len(visits))
    return pairs


async def pairs_of(redis: Redis, tenant: str) -> list[Pair]:
    """The pairs of the last mining (none before the first)."""
    raw = await result(redis.get(keys.recommendations(tenant)))
    if raw is None:
        return []
    return [Pair(**pair) for pair in json.loads(raw)["pairs"]]


async def report(redis: Redis, tenant: str, names: dict[str, str]) -> list[dict[str, object]]:
    """`GET /api/{tenant}/recommendations`: `[{service, offer, clients, confidence, lift}]`, strongest first,
    with the catalog's names of both for people (`service_name`, `offer_name`)."""
    return [
        {
            **pair.__dict__,
            "service_name": names.get(pair.service, pair.service),
            "offer_name": names.get(pair.offer, pair.offer),
        }
        for pair in await pairs_of(redis, tenant)
    ]
