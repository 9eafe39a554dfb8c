"""The experiments' verdicts on fixed counts, checked against their definitions: p_best and the expected
loss against a Monte Carlo draw from the same beta posteriors, the thresholds at their edges."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.usecases.experiments.verdict import MIN_EXPOSED, Counts, Status, judge

DRAWS = 400_000


def monte_carlo(counts: list[Counts], lower: bool = False) -> tuple[list[float], list[float]]:
    """p_best and expected loss by sampling: the definitions, computed the slow way."""
    rng = np.random.default_rng(7)
    samples = np.array([rng.beta(1 + c.converted, 1 + c.exposed - c.converted, DRAWS) for c in counts])
    best = samples.argmin(axis=0) if lower else samples.argmax(axis=0)
    p_best = [float(np.mean(best == i)) for i in range(len(counts))]
    edge = samples.min(axis=0) if lower else samples.max(axis=0)
    loss = [float(np.mean(samples[i] - edge if lower else edge - samples[i])) for i in range(len(counts))]
    return p_best, loss


@pytest.mark.parametrize(
    "counts",
    [
        [Counts("A", 300, 180), Counts("B", 300, 210)],
        [Counts("A", 150, 90), Counts("B", 150, 92), Counts("C", 150, 80)],
        [Counts("A", 40, 3), Counts("B", 500, 20)],
    ],
)
@pytest.mark.parametrize("lower", [False, True])
def test_p_best_and_loss_match_their_definitions(counts, lower):
    verdict = judge(counts, lower_is_better=lower)
    p_best, loss = monte_carlo(counts, lower)
    for variant, expected_p, expected_loss in zip(verdict.variants, p_best, loss, strict=True):
        assert variant.p_best == pytest.approx(expected_p, abs=0.004)
        assert variant.expected_loss == pytest.approx(expected_loss, abs=0.0005)
    assert sum(v.p_best for v in verdict.variants) == pytest.approx(1.0, abs=1e-3)


def test_fewer_than_150_in_any_variant_is_not_enough_data_even_with_a_clear_leader():
    verdict = judge([Counts("A", 149, 20), Counts("B", 400, 380)])
    assert verdict.status == Status.NOT_ENOUGH_DATA and verdict.winner is None
    assert verdict.more_needed == 1
    assert verdict.variants[1].p_best > 0.999  # the leader is clear; the minimum still holds


def test_a_clear_difference_with_enough_data_names_the_winner():
    verdict = judge([Counts("A", 300, 180), Counts("B", 300, 240)])  # 60 % against 80 %
    assert verdict.status == Status.WINNER and verdict.winner == "B"
    assert verdict.variants[1].p_best >= 0.997


def test_lower_is_better_names_the_lower_rate():
    verdict = judge([Counts("A", 400, 80), Counts("B", 400, 30)], lower_is_better=True)  # no-shows
    assert verdict.status == Status.WINNER and verdict.winner == "B"


def test_near_equal_rates_with_much_data_are_no_difference():
    verdict = judge([Counts("A", 20_000, 12_000), Counts("B", 20_000, 12_010)])
    assert verdict.status == Status.NO_DIFFERENCE and verdict.winner is None
    assert max(v.expected_loss for v in verdict.variants) < 0.005


def test_a_small_unclear_gap_stays_not_enough_data_with_nothing_more_owed_by_the_minimum():
    verdict = judge([Counts("A", 200, 120), Counts("B", 200, 130)])
    assert verdict.status == Status.NOT_ENOUGH_DATA and verdict.more_needed == 0
    assert all(v.exposed >= MIN_EXPOSED for v in verdict.variants)


def test_the_interval_holds_95_percent_of_the_posterior():
    (variant,) = judge([Counts("A", 200, 120)]).variants
    assert variant.rate == 0.6
    draws = np.random.default_rng(3).beta(1 + 120, 1 + 80, DRAWS)  # the uniform prior's posterior
    low, high = np.quantile(draws, [0.025, 0.975])
    assert variant.rate_low == pytest.approx(low, abs=0.002) and variant.rate_high == pytest.approx(high, abs=0.002)


def test_a_variant_with_clearly_more_no_shows_is_flagged_and_the_other_is_not():
    verdict = judge([Counts("A", 300, 200, no_shows=15), Counts("B", 300, 210, no_shows=40)])
    assert [v.guardrail for v in verdict.variants] == [False, True]
    assert verdict.variants[1].no_show_rate == pytest.approx(40 / 300)
    even = judge([Counts("A", 300, 200, no_shows=20), Counts("B", 300, 210, no_shows=24)])
    assert [v.guardrail for v in even.variants] == [False, False]
