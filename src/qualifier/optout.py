"""A client asking the bot to stop writing first, or to start again: «стоп», «отписаться», «не пишите»,
/stop; «подписаться», /subscribe.

Only a message that is that request and little else counts: «стоп, я перепутала день» is about a visit,
not an opt-out, and must not end the client's reminders.
"""

from __future__ import annotations

import re

_POLITE = r"(?:\s+(?:пожалуйста|плиз|пж|спасибо|больше|мне|меня|нам|нас|вообще|уже|все|всё))*"
_STOP = re.compile(
    r"^(?:/stop(?:@\w+)?|stop|unsubscribe|стоп|хватит|отписаться|отписка|отпишите|отписываюсь"
    r"|не\s+пишите|не\s+присылайте|не\s+надо\s+(?:писать|присылать|сообщений)|хватит\s+(?:писать|присылать)"
    r"|не\s+беспокойте|больше\s+не\s+пишите)" + _POLITE + r"$"
)
_RESUME = re.compile(
    r"^(?:/subscribe(?:@\w+)?|subscribe|подписаться|подпишите|подписываюсь|возобновить)" + _POLITE + r"$"
)


def _normalized(text: str) -> str:
    lowered = text.lower().replace("ё", "е")
    lowered = re.sub(r"[!.,?…)(«»\"'\-—]+", " ", lowered)
    return re.sub(r"\s+", " ", lowered).strip()


def asks_to_stop(text: str) -> bool:
    return bool(_STOP.match(_normalized(text)))


def asks_to_resume(text: str) -> bool:
    return bool(_RESUME.match(_normalized(text)))
