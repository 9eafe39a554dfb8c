"""What the client wants: booking, price, reschedule, cancel, a person, or other."""

from __future__ import annotations

import re

from domain import Intent

# A person asked for by name or role: the bot hands the conversation over at once.
_HUMAN = re.compile(
    r"администратор|\bадмин[аеу]?\b|менеджер|оператор|жив(ой|ого|ому|ым) человек|с человеком|позов(и|ите)\b"
    r"|соедините|переключите на"
)
_RESCHEDULE = re.compile(
    r"перенес|перенест|перезапис|перезапиш|поменять (время|дат|день|на)|поменяйте|другое время|другой день"
    r"|сдвинуть|передвинуть|\bпозже\b|\bраньше\b|не подходит время"
)
_CANCEL = re.compile(
    r"отмен|не смогу прийти|не смогу\b|не приду|не получится прийти|не получится придти|снимите (меня|запись)"
)
_PRICE = re.compile(
    r"сколько\b.{0,25}\bсто(ит|ят|ить)|сколько будет стоить|сколько за|почем|по ч[её]м|\bцен[аыуе]\b|стоимост|прайс"
    r"|прейскурант|обойд[её]т|по деньгам|по цене|скидк|дороже|дешевле|\bстоит\s*\?|стоит \d[\d ]*\s*(р|руб|₽)?\s*\?"
    r"|итого"
)
_PRICE_WEAK = re.compile(r"(?<!во )сколько\s*\??$|будет \d[\d ]*\s*\?")
# Questions about the business, not a wish to come: what it takes, how long, where, how to pay.
_INFO = re.compile(
    r"держится|длится|по времени|сколько ждать|\bждать\b|где (вы|находит)|адрес|справк|картой|душев|парковк"
    r"|заморози|похудеть|с чего начать|нужна ли|нужно ли|делаете\b|работаете\b|почему"
)
# Asks something: a question mark, or a question's first word.
_ASKS = re.compile(
    r"\?|^(а\s+)?(как|где|когда|почему|зачем|как[оа]?[йяеи]|кто|что|чем|сколько|есть ли|можно ли|нужн[оа]? ли"
    r"|подскажите|скажите)\b"
)
_THANKS = re.compile(r"спасибо|отличн|понравил|благодар")
_BOOKING = re.compile(
    r"запис|запиш|хочу|хотел|можно|свобод|окошк|окно|подстри|сделать|попасть"
    r"|на при[её]м|забронир|есть место|бы\b"
)


def open_question(text: str) -> bool:
    """A question about the business the bot has no answer for (how long it lasts, where, may I...): asked
    with its own words, not a bare «?» or «алло?». Meant for messages the intent rules call "other"."""
    lowered = text.lower().replace("ё", "е").strip()
    if _INFO.search(lowered):
        return True
    return bool(_ASKS.search(lowered)) and len(lowered.split()) >= 3


def find_intent(text: str, *, has_service: bool = False, has_time: bool = False) -> Intent:
    lowered = text.lower().replace("ё", "е").strip()
    if _HUMAN.search(lowered):
        return Intent.HUMAN
    if _RESCHEDULE.search(lowered):
        return Intent.RESCHEDULE
    if _CANCEL.search(lowered):
        return Intent.CANCEL
    if _PRICE.search(lowered) and not re.search(r"сколько (по времени|ждать|длится|недел|минут)", lowered):
        return Intent.PRICE
    if _INFO.search(lowered):
        return Intent.OTHER
    if _PRICE_WEAK.search(lowered):
        return Intent.PRICE
    if _BOOKING.search(lowered):
        return Intent.BOOKING
    if _THANKS.search(lowered):
        return Intent.OTHER
    return Intent.BOOKING if has_service or has_time else Intent.OTHER
