"""Which variant of each experiment a person gets, and what it changes for them: a text, the reminders'
offsets, the no-show discount. The first choice is kept in the store under every key the person is known
by, so it holds on every channel, after restarts, and once their phone is learned."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import Visit, parse_duration
from domain.experiments import DEFAULT_TEXT, bucket
from gateway.settings.experiments import DISCOUNT, TIMING, ExperimentConfig
from gateway.settings.texts import Texts
from gateway.store.conversations import load_dialogue
from gateway.store.sql import experiments as store

logger = logging.getLogger("gateway.usecases.experiments.book")


@dataclass(frozen=True)
class ExperimentBook:
    engine: AsyncEngine
    redis: Redis
    tenant_id: str
    experiments: Sequence[ExperimentConfig]

    async def people(self, visit: Visit) -> list[str]:
        """Who the visit's client is: the phone their platform vouched for (if any), then the conversation.
        A typed phone is never a key: it would put a stranger's experiments on someone else."""
        state = await load_dialogue(self.redis, visit.conversation)
        vouched = state.vouched_phone if state is not None else None
        return [key for key in (vouched, visit.conversation) if key]

    async def variant(self, experiment: ExperimentConfig, people: Sequence[str], now: datetime) -> int:
        """The index of the person's variant, chosen once and kept."""
        names = experiment.names()
        found = await store.assignments(self.engine, self.tenant_id, experiment.id, people)
        kept = next((found[key] for key in people if key in found), None)
        if kept is None:
            kept = names[bucket(self.tenant_id, experiment.id, people[0], experiment.shares())]
        if len(found) < len(people):  # new, or a key learned since (their phone): kept under it too
            kept = await store.assign(self.engine, self.tenant_id, experiment.id, people, kept, now)
        return names.index(kept) if kept in names else 0  # a variant since removed: the first

    def _of(self, varies: str) -> ExperimentConfig | None:
        return next((e for e in self.experiments if e.varies() == varies), None)

    async def texts(self, texts: Texts, used: Collection[str], people: Sequence[str], now: datetime) -> Texts:
        """The tenant's texts as this person reads them: the variant of each experiment on a text the
        message may use (`used`) in place; a person is put in no experiment their message does not show."""
        changed: dict[str, str] = {}
        for experiment in self.experiments:
            if experiment.text_id is None or experiment.text_id not in used:
                continue
            wording = str(experiment.variants()[await self.variant(experiment, people, now)])
            if wording != DEFAULT_TEXT:
                changed[experiment.text_id] = wording
        return replace(texts, **changed) if changed else texts

    async def offsets(
        self, default: list[tuple[str, timedelta]], people: Sequence[str], now: datetime
    ) -> list[tuple[str, timedelta]]:
        """The reminder offsets of the person's timing variant (the tenant's own without one)."""
        experiment = self._of(TIMING)
        if experiment is None or experiment.reminders is None:
            return default
        chosen = experiment.reminders[await self.variant(experiment, people, now)]
        return [(item, parse_duration(item)) for item in chosen]

    async def discount(self, default: int, people: Sequence[str], now: datetime) -> int:
        """The no-show offer's discount of the person's variant (the tenant's own without one)."""
        experiment = self._of(DISCOUNT)
        if experiment is None or experiment.no_show is None:
            return default
        return experiment.no_show[await self.variant(experiment, people, now)].discount_percent

    async def delivered(self, visit: Visit, people: Sequence[str], varies: Sequence[str], now: datetime) -> list[str]:
        """A message about `visit` went to `people`, showing `varies` (`text:reminder`, `reminders`,
        `no_show`): each experiment on those counts the visit as exposed to the person's variant, once."""
        counted = []
        for experiment in self.experiments:
            if experiment.varies() not in varies:
                continue
            name = experiment.names()[await self.variant(experiment, people, now)]
            exposure = store.Exposure(name, visit.id, people[0], now)
            if await store.expose(self.engine, self.tenant_id, experiment.id, exposure):
                counted.append(experiment.id)
                logger.info("visit %s: exposed to %s of %s", visit.id, name, experiment.id)
        return counted
