"""Each experiment's counts read from the store, judged, and said in plain Russian for the owner: the
rows of `GET /api/{tenant}/experiments` and `lead-gateway experiments`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from domain import VisitStatus
from domain.experiments import LOWER_IS_BETTER, Metric
from gateway.settings.experiments import ExperimentConfig
from gateway.settings.texts import Texts
from gateway.store.facts import Kind
from gateway.store.sql import experiments as store
from gateway.usecases.experiments.verdict import MIN_EXPOSED, Counts, Status, Verdict, judge

AFTER = timedelta(days=30)  # a booking or an accepted offer this long after the message counts for it
CONFIRMED_AHEAD = timedelta(hours=3)


def converted(metric: Metric, seen: store.ExposedVisit) -> bool:
    """Whether one exposed visit counts as a conversion by the experiment's metric."""
    if metric == Metric.CONFIRMED_3H:
        return seen.confirmed_at is not None and seen.confirmed_at <= seen.start_at - CONFIRMED_AHEAD
    if metric == Metric.VISITED:
        return seen.status == VisitStatus.VISITED
    if metric == Metric.NO_SHOW:
        return seen.status == VisitStatus.NO_SHOW
    if metric == Metric.BOOKED:
        return any(kind == Kind.BOOKING for kind, _ in seen.later)
    if metric == Metric.OFFER_BOOKED:
        return any(kind in (Kind.BOOKING, Kind.UPSELL) for kind, _ in seen.later)
    return seen.rated  # review_left


async def report(
    engine: AsyncEngine, tenant: str, experiments: Sequence[ExperimentConfig], texts: Texts | None = None
) -> list[dict[str, Any]]:
    """Every experiment judged; `texts`: the tenant's own wording, shown for a `{default}` variant."""
    rows = []
    for experiment in experiments:
        seen = await store.exposed_visits(engine, tenant, experiment.id, AFTER)
        counts = []
        for name in experiment.names():
            mine = [s for s in seen if s.exposure.variant == name]
            counts.append(
                Counts(
                    name=name,
                    exposed=len(mine),
                    converted=sum(converted(experiment.metric, s) for s in mine),
                    no_shows=sum(s.status == VisitStatus.NO_SHOW for s in mine),
                )
            )
        verdict = judge(counts, lower_is_better=experiment.metric in LOWER_IS_BETTER)
        since = min((s.exposure.at for s in seen), default=None)
        own = getattr(texts, experiment.text_id, "") if texts is not None and experiment.text_id else ""
        settings = dict(zip(experiment.names(), experiment.settings(own), strict=True))
        rows.append(
            {
                "id": experiment.id,
                "metric": experiment.metric.value,
                "varies": experiment.varies(),
                "status": verdict.status.value,
                "since": since.isoformat() if since else None,
                "winner": verdict.winner,
                "conclusion": conclusion(verdict),
                "variants": [{**_variant(v), "setting": settings[v.name]} for v in verdict.variants],
            }
        )
    return rows


def _variant(v: Any) -> dict[str, Any]:
    return {
        "name": v.name,
        "exposed": v.exposed,
        "converted": v.converted,
        "rate": _round(v.rate),
        "p_best": round(v.p_best, 4),
        "rate_low": round(v.rate_low, 4),
        "rate_high": round(v.rate_high, 4),
        "no_show_rate": _round(v.no_show_rate),
        "guardrail": v.guardrail,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _chance(p: float) -> str:
    """A probability as a Russian reader writes it; never a certain 100 %."""
    shown = "более 99,9 %" if p > 0.999 else f"{p:.1%}".replace("%", " %")
    return shown.replace(".", ",")


def conclusion(verdict: Verdict) -> str:
    """What the owner may conclude today, in their words."""
    warned = [v.name for v in verdict.variants if v.guardrail]
    warning = f" Внимание: у варианта {', '.join(warned)} заметно больше неявок." if warned else ""
    if verdict.status == Status.WINNER:
        best = next(v for v in verdict.variants if v.name == verdict.winner)
        said = f"Вариант {verdict.winner} лучше с вероятностью {_chance(best.p_best)}: его можно оставить."
    elif verdict.status == Status.NO_DIFFERENCE:
        said = "Разницы между вариантами практически нет (меньше 0,5 п.п.): оставьте любой."
    elif verdict.more_needed:
        said = (
            f"Данных пока мало: нужно ещё ~{verdict.more_needed} записей "
            f"(по {MIN_EXPOSED} на вариант), выводы делать рано."
        )
    else:
        said = "Разница пока не ясна: продолжайте, вывод появится, когда записей станет больше."
    return said + warning
