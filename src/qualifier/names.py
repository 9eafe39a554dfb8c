"""A client's first name: "меня зовут Анна", "это Аня", or a name signed at either end."""

from __future__ import annotations

import re
from functools import lru_cache

from qualifier.morphology import _analyzer

_INTRO = re.compile(
    r"(?:меня зовут|зовут меня|мо[её] имя|я\s*[-—]|это|с вами|на имя)\s+([А-ЯЁ][а-яё]{1,20}|[а-яё]{2,20})",
    re.IGNORECASE,
)
_EDGE_WORD = re.compile(r"^\s*([А-ЯЁ][а-яё]{1,20})\s*[,.!]|[,.!\s]\s*([А-ЯЁ][а-яё]{1,20})[\s.!)]*$")


@lru_cache(maxsize=10_000)
def _is_first_name(word: str) -> bool:
    return any("Name" in p.tag for p in _analyzer().parse(word) if p.score >= 0.05)


def _nominative(word: str) -> str:
    for p in _analyzer().parse(word):
        if "Name" in p.tag:
            form = p.inflect({"nomn"})
            if form is not None:
                return str(form.word).capitalize()
    return word.capitalize()


def find_name(text: str) -> str | None:
    m = _INTRO.search(text)
    if m and _is_first_name(m.group(1).lower()):
        return _nominative(m.group(1).lower())
    m = _EDGE_WORD.search(text.strip())
    if m:
        word = m.group(1) or m.group(2)
        if word and _is_first_name(word.lower()):
            return _nominative(word.lower())
    return None
