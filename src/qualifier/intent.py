"""What the client wants: booking, price, reschedule, cancel or other."""

from __future__ import annotations

import re

Intent = str  # one of INTENTS
INTENTS = ("booking", "price", "reschedule", "cancel", "other")

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
_THANKS = re.compile(r"спасибо|отличн|понравил|благодар")
_BOOKING = re.compile(
    r"запис|запиш|хочу|хотел|можно|свобод|окошк|окно|подстри|сделать|попасть"
    r"|на при[её]м|забронир|есть место|бы\b"
)


def find_intent(text: str, *, has_service: bool = False, has_time: bool = False) -> Intent:
    lowered = text.lower().replace("ё", "е").strip()
    if _RESCHEDULE.search(lowered):
        return "reschedule"
    if _CANCEL.search(lowered):
        return "cancel"
    if _PRICE.search(lowered) and not re.search(r"сколько (по времени|ждать|длится|недел|минут)", lowered):
        return "price"
    if _INFO.search(lowered):
        return "other"
    if _PRICE_WEAK.search(lowered):
        return "price"
    if _BOOKING.search(lowered):
        return "booking"
    if _THANKS.search(lowered):
        return "other"
    return "booking" if has_service or has_time else "other"
