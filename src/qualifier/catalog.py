"""The tenant's services named in a message: inflections, diminutives and typos included."""

from __future__ import annotations

from rapidfuzz import fuzz

from domain import Service
from qualifier.morphology import lemma, words

_STOP = frozenset({"на", "в", "и", "по", "для", "с", "к", "у", "о"})


def _term_lemmas(term: str) -> tuple[str, ...]:
    return tuple(lemma(w) for w in words(term) if w not in _STOP)


def _word_matches(term_lemma: str, token: str, token_lemma: str) -> bool:
    if token_lemma == term_lemma or token == term_lemma:
        return True
    if len(term_lemma) >= 5:
        stem = term_lemma[:-1] if len(term_lemma) < 7 else term_lemma[:-2]
        if token.startswith(stem) or token_lemma.startswith(stem):  # маникюрчик, бровки
            return True
        if len(token) >= 5 and fuzz.ratio(term_lemma, token_lemma) >= 84:  # маникуюр, педекюр
            return True
    return False


class ServiceMatcher:
    def __init__(self, services: list[Service]) -> None:
        self.services = services
        self._terms: list[tuple[Service, tuple[str, ...]]] = []
        for service in services:
            for term in (service.name, *service.aliases):
                lemmas = _term_lemmas(term)
                if lemmas:
                    self._terms.append((service, lemmas))

    def by_id(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def find(self, text: str) -> list[Service]:
        """Services named in `text`, the most specific match first.

        A match whose words all belong to a longer match of another service is dropped:
        "детская стрижка" is the kids' haircut, not also the "стрижка" of the men's one.
        """
        tokens = [w for w in words(text) if w not in _STOP]
        pairs = [(t, lemma(t)) for t in tokens]
        best: dict[str, tuple[frozenset[int], Service]] = {}
        for service, term in self._terms:
            used: set[int] = set()
            for term_lemma in term:
                hit = next((i for i, (tok, tokl) in enumerate(pairs) if _word_matches(term_lemma, tok, tokl)), None)
                if hit is None:
                    break
                used.add(hit)
            else:
                if service.id not in best or len(best[service.id][0]) < len(used):
                    best[service.id] = (frozenset(used), service)
        kept = [
            (span, service)
            for span, service in best.values()
            if not any(span < other for other, _ in best.values())  # strictly inside another match
        ]
        kept.sort(key=lambda pair: (-len(pair[0]), min(pair[0])))
        return [service for _, service in kept]
