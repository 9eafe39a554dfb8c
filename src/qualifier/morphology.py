"""Russian word forms -> lemmas (pymorphy3), loaded once on first use."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_WORD = re.compile(r"[а-яёa-z]+", re.IGNORECASE)


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


def words(text: str) -> list[str]:
    return [w.lower().replace("ё", "е") for w in _WORD.findall(text)]


@lru_cache(maxsize=50_000)
def lemma(word: str) -> str:
    parsed = _analyzer().parse(word)
    return str(parsed[0].normal_form).replace("ё", "е") if parsed else word


def lemmas(text: str) -> list[str]:
    return [lemma(w) for w in words(text)]
