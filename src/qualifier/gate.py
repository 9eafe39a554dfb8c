"""Whether a message is worth an LLM call: the rules left a slot empty that the text seems to hold."""

from __future__ import annotations

import re

from qualifier.result import Extraction

_DIGITS = re.compile(r"\d")
_TIME_WORDS = re.compile(
    r"утр|вечер|дн[её]м|обед|ноч|завтра|сегодня|недел|суббот|воскрес|понедел|вторн|сред[ау]|четверг|пятниц"
    r"|числ|январ|феврал|март|апрел|ма[яй]\b|июн|июл|август|сентябр|октябр|ноябр|декабр|час|полдень|выходн",
    re.IGNORECASE,
)
_GENERIC = re.compile(
    r"^(здравствуйте|добрый|день|вечер|утро|привет|спасибо|хочу|хотела?|можно|записаться|запишите|запись|"
    r"сколько|стоит|стоимость|цена|время|окошко|окно|свободно|мастер|номер|телефон|пожалуйста|подскажите)$"
)


def needs_llm(text: str, found: Extraction) -> bool:
    """True when a cheap look says the model could add something the rules did not find."""
    missing = set(found.missing())
    if "phone" in missing and len(_DIGITS.findall(text)) >= 7:
        return True
    if "time" in missing and (_TIME_WORDS.search(text) or re.search(r"\b(в|на|к|после|до) \d", text)):
        return True
    if "service" in missing and found.intent in ("booking", "price"):
        content = [w for w in re.findall(r"[а-яё]{4,}", text.lower()) if not _GENERIC.match(w)]
        if content:
            return True
    return found.intent == "other" and len(text.split()) > 3
