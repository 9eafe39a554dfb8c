"""The verdict on an experiment's counts, honest at salon volumes: Bayesian beta-binomial with a uniform
prior. A variant wins only with ≥ 150 exposed in every variant and a probability of being best ≥ 0.997;
the variants are called equal when choosing any costs under half a point in expectation. Peeking every
month keeps false winners rare (bench/experiments_bench.py measures how rare)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from scipy import integrate, stats

MIN_EXPOSED = 150
WINNER_P = 0.997
NO_DIFFERENCE_LOSS = 0.005  # half a percentage point
GUARDRAIL_P = 0.95
INTERVAL = 0.95
GRID = 4001  # points of the integrals over the posteriors' common support


class Status(StrEnum):
    NOT_ENOUGH_DATA = "not_enough_data"
    WINNER = "winner"
    NO_DIFFERENCE = "no_difference"


@dataclass(frozen=True)
class Counts:
    name: str
    exposed: int
    converted: int
    no_shows: int = 0


@dataclass(frozen=True)
class VariantVerdict:
    name: str
    exposed: int
    converted: int
    rate: float | None
    p_best: float
    expected_loss: float
    rate_low: float
    rate_high: float
    no_show_rate: float | None
    guardrail: bool


@dataclass(frozen=True)
class Verdict:
    status: Status
    variants: list[VariantVerdict]
    winner: str | None
    more_needed: int  # exposures still missing before any verdict may be given (0 once all have 150)


def judge(counts: Sequence[Counts], lower_is_better: bool = False) -> Verdict:
    posteriors = [stats.beta(1 + c.converted, 1 + c.exposed - c.converted) for c in counts]
    p_best, loss = _best_and_loss(posteriors, lower_is_better)
    guarded = _guardrails(counts)
    variants = []
    for index, c in enumerate(counts):
        low, high = posteriors[index].ppf([(1 - INTERVAL) / 2, (1 + INTERVAL) / 2])
        variants.append(
            VariantVerdict(
                name=c.name,
                exposed=c.exposed,
                converted=c.converted,
                rate=c.converted / c.exposed if c.exposed else None,
                p_best=p_best[index],
                expected_loss=loss[index],
                rate_low=float(low),
                rate_high=float(high),
                no_show_rate=c.no_shows / c.exposed if c.exposed else None,
                guardrail=guarded[index],
            )
        )
    more = sum(max(0, MIN_EXPOSED - c.exposed) for c in counts)
    best = max(range(len(counts)), key=lambda i: p_best[i])
    if more > 0:
        return Verdict(Status.NOT_ENOUGH_DATA, variants, None, more)
    if p_best[best] >= WINNER_P:
        return Verdict(Status.WINNER, variants, counts[best].name, 0)
    if max(loss) < NO_DIFFERENCE_LOSS:
        return Verdict(Status.NO_DIFFERENCE, variants, None, 0)
    return Verdict(Status.NOT_ENOUGH_DATA, variants, None, 0)


def _grid(posteriors: Sequence[Any]) -> Any:
    """Where all the posteriors' mass lies: the integrals need no points where every density is ~0."""
    low = min(float(p.ppf(1e-12)) for p in posteriors)
    high = max(float(p.ppf(1 - 1e-12)) for p in posteriors)
    return np.linspace(max(0.0, low), min(1.0, high), GRID)


def _best_and_loss(posteriors: Sequence[Any], lower: bool) -> tuple[list[float], list[float]]:
    """P(i is best) = ∫ f_i(x) Π_{j≠i} P(θ_j on the worse side of x) dx. The expected loss of choosing i
    is E[best θ] − E[θ_i] (reversed when lower is better), with E[max θ] = b − ∫ Π F_j and
    E[min θ] = a + ∫ Π (1 − F_j) over the support [a, b]."""
    x = _grid(posteriors)
    pdf = np.array([p.pdf(x) for p in posteriors])
    cdf = np.array([p.cdf(x) for p in posteriors])
    worse = (1 - cdf) if lower else cdf
    p_best = []
    for i in range(len(posteriors)):
        others = np.prod(np.delete(worse, i, axis=0), axis=0)
        p_best.append(float(integrate.simpson(pdf[i] * others, x=x)))
    means = [float(p.mean()) for p in posteriors]
    if lower:
        best_mean = float(x[0]) + float(integrate.simpson(np.prod(1 - cdf, axis=0), x=x))
        return p_best, [max(0.0, m - best_mean) for m in means]
    best_mean = float(x[-1]) - float(integrate.simpson(np.prod(cdf, axis=0), x=x))
    return p_best, [max(0.0, best_mean - m) for m in means]


def _guardrails(counts: Sequence[Counts]) -> list[bool]:
    """A variant whose no-show rate is higher than another's with probability ≥ 0.95."""
    posteriors = [stats.beta(1 + c.no_shows, 1 + c.exposed - c.no_shows) for c in counts]
    x = _grid(posteriors)
    flagged = []
    for i, mine in enumerate(posteriors):
        worse = any(
            float(integrate.simpson(mine.pdf(x) * other.cdf(x), x=x)) >= GUARDRAIL_P  # P(θ_i > θ_j)
            for j, other in enumerate(posteriors)
            if j != i and counts[i].exposed and counts[j].exposed
        )
        flagged.append(worse)
    return flagged
