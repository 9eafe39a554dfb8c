"""Recommendations on generated histories:

1. Planted pairs: 5,000 clients, 20 services, a year of visits; three pairs planted with lift >= 3 (most
   clients of A also take B, in the same visit or weeks later), every other service chosen at random.
   Are the three found, and is any pair kept that is below the thresholds (defaults: 5 clients, lift 1.5)?
2. Mining time for a year of 50 salons (the same generator, 50 x 5,000 clients), one salon at a time as
   the daily cron does.

    python bench/recommend_bench.py [--clients 5000] [--salons 50] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from domain.recommendations import Had, mine

SERVICES = [f"s{n:02d}" for n in range(20)]
PLANTED = [("s00", "s01"), ("s02", "s03"), ("s04", "s05")]
YEAR = datetime(2026, 1, 1, tzinfo=UTC)


def history(rng: random.Random, clients: int, salon: str = "") -> list[Had]:
    visits = []
    for n in range(clients):
        person = f"{salon}p{n}"
        day = rng.randrange(300)
        for _ in range(rng.randint(1, 4)):  # a few visits, weeks apart
            first = rng.choice(SERVICES[6:]) if rng.random() < 0.7 else rng.choice([a for a, _ in PLANTED])
            services = [first]
            partner = dict(PLANTED).get(first)
            later = None
            if partner is not None and rng.random() < 0.6:  # the planted pair: 60 % take the partner
                if rng.random() < 0.5:
                    services.append(partner)
                else:
                    later = Had(person, YEAR + timedelta(days=day + rng.randint(7, 50)), (partner,))
            visits.append(Had(person, YEAR + timedelta(days=day), tuple(services)))
            if later is not None:
                visits.append(later)
            day += rng.randint(20, 60)
    return visits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--salons", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    visits = history(rng, args.clients)
    started = time.monotonic()
    pairs = mine(visits)
    took = time.monotonic() - started
    found = {(p.service, p.offer) for p in pairs}
    planted = [f"{a}->{b} lift {p.lift:.1f}" for p in pairs for a, b in PLANTED if (p.service, p.offer) == (a, b)]
    weak = [p for p in pairs if p.clients < 5 or p.lift < 1.5]
    others = sorted(found - set(PLANTED))
    print(
        f"1. {args.clients} clients, {len(visits)} visits, 20 services: "
        f"{len(pairs)} pairs kept in {took * 1000:.0f} ms; "
        f"planted found {len(planted)}/3 ({', '.join(planted)}); kept below the thresholds: {len(weak)}; "
        f"others kept: {others}"
    )
    total, visits_count = 0.0, 0
    for salon in range(args.salons):
        year = history(random.Random(args.seed + salon), args.clients, f"salon{salon}:")
        visits_count += len(year)
        began = time.monotonic()
        mine(year)
        total += time.monotonic() - began
    print(
        f"2. a year of {args.salons} salons ({visits_count} visits): mined in {total:.1f} s in all, "
        f"{total / args.salons * 1000:.0f} ms a salon"
    )


if __name__ == "__main__":
    main()
