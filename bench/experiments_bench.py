"""How honest the experiments' verdict is at a salon's volume: simulated experiments judged by the real
`judge` once a month, as an owner who looks at the dashboard monthly would.

1. A/A: both variants confirm at 60 %; how often is a winner declared at any monthly look in a year?
2. A real difference (60 % → 70 % confirmations): how often is B declared the winner within six months,
   and how often is A (wrongly)?

300 reminders a month, each to a variant by a fair coin (as the hash assigns people).

    python bench/experiments_bench.py [--runs 1000] [--per-month 300] [--seed 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gateway.usecases.experiments.verdict import Counts, Status, judge


def simulate(rng: np.random.Generator, rates: tuple[float, float], months: int, per_month: int) -> str | None:
    """The first winner declared at a monthly look, or None."""
    exposed = np.zeros(2, dtype=int)
    converted = np.zeros(2, dtype=int)
    for _ in range(months):
        to_b = rng.binomial(per_month, 0.5)
        month = np.array([per_month - to_b, to_b])
        exposed += month
        converted += rng.binomial(month, rates)
        verdict = judge([Counts(name, int(n), int(k)) for name, n, k in zip("AB", exposed, converted, strict=True)])
        if verdict.status == Status.WINNER:
            return verdict.winner
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--per-month", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    false_winners = sum(simulate(rng, (0.6, 0.6), 12, args.per_month) is not None for _ in range(args.runs))
    found = [simulate(rng, (0.6, 0.7), 6, args.per_month) for _ in range(args.runs)]
    elapsed = time.perf_counter() - started
    print(f"A/A, 12 monthly looks, {args.per_month} reminders a month, {args.runs} runs:")
    print(f"  a winner declared in {false_winners / args.runs:.1%} (target ≤ 5 %)")
    print(f"60 % → 70 %, 6 monthly looks, {args.runs} runs:")
    print(f"  B declared the winner in {found.count('B') / args.runs:.1%}")
    print(f"  A declared the winner (wrongly) in {found.count('A') / args.runs:.1%}")
    print(f"{elapsed:.0f} s, {elapsed / (args.runs * 18) * 1000:.1f} ms a verdict")


if __name__ == "__main__":
    main()
