"""A service the business sells, as its catalog names it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    duration_min: int = 60
    price: float | None = None
