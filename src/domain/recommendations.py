"""Which services go together, mined from the visits: "clients who had A also had B in the same visit or
within 60 days after". For each ordered pair A -> B: the clients with both, the confidence (of those who
had A, the share who also had B) and the lift (that share over B's share among all clients). Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Had:
    """One visited visit: whose, when, with which services."""

    person: str
    at: datetime
    services: tuple[str, ...]


@dataclass(frozen=True)
class Pair:
    service: str
    offer: str
    clients: int  # people who had both
    confidence: float  # P(offer | service)
    lift: float  # confidence / P(offer)


def mine(
    visits: Iterable[Had], *, within: timedelta = timedelta(days=60), min_clients: int = 5, min_lift: float = 1.5
) -> list[Pair]:
    """The pairs kept by both thresholds, strongest first (lift, then clients)."""
    by_person: dict[str, list[Had]] = defaultdict(list)
    for visit in visits:
        by_person[visit.person].append(visit)
    had: dict[str, set[str]] = defaultdict(set)  # service -> people who had it
    both: dict[tuple[str, str], set[str]] = defaultdict(set)
    for person, history in by_person.items():
        history.sort(key=lambda v: v.at)
        for index, visit in enumerate(history):
            # the same visit, then the later ones within the window
            together = [v for v in history[index + 1 :] if v.at - visit.at <= within]
            others = {other for v in (visit, *together) for other in v.services}
            for service in visit.services:
                had[service].add(person)
                for other in others - {service}:
                    both[(service, other)].add(person)
    people = len(by_person)
    found = []
    for (service, offer), who in both.items():
        confidence = len(who) / len(had[service])
        lift = confidence / (len(had[offer]) / people)
        if len(who) >= min_clients and lift >= min_lift:
            found.append(Pair(service, offer, len(who), round(confidence, 4), round(lift, 4)))
    return sorted(found, key=lambda p: (-p.lift, -p.clients, p.service, p.offer))


def best_for(pairs: Iterable[Pair], services: Iterable[str]) -> Pair | None:
    """The strongest pair for a visit of these services whose offer it does not have yet."""
    have = set(services)
    fitting = [p for p in pairs if p.service in have and p.offer not in have]
    return max(fitting, key=lambda p: (p.lift, p.clients), default=None)
