"""What the client wants: booking, price, reschedule, cancel or other."""

from __future__ import annotations

import re

Intent = str  # one of INTENTS
INTENTS = ("booking", "price", "reschedule", "cancel", "other")

_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "cancel",
        re.compile(r"отмен|не смогу прийти|не приду|не получится прийти|не получится придти|снимите (меня|запись)"),
    ),
    ("reschedule", re.compile(r"перенес|перенест|перезапис|поменять время|другое время|сдвинуть|передвинуть")),
    (
        "price",
        re.compile(
            r"сколько стоит|сколько будет стоить|сколько за|почем|по ч[её]м|цен[аыуе]|стоимост|прайс|прейскурант"
        ),
    ),
    (
        "booking",
        re.compile(
            r"запис|запиш|хочу|хотел|можно|свобод|окошк|окно|подстри|сделать|попасть"
            r"|на при[её]м|забронир|есть место|бы\b"
        ),
    ),
)


def find_intent(text: str, *, has_service: bool = False, has_time: bool = False) -> Intent:
    lowered = text.lower().replace("ё", "е")
    for intent, pattern in _RULES:
        if pattern.search(lowered):
            return intent
    if has_service or has_time:
        return "booking"
    return "other"
