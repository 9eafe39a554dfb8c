"""The payloads of the buttons about a visit, and how a press reads on the deal's timeline."""

from __future__ import annotations

from datetime import datetime

from gateway.usecases.people.consent import CONSENT_PREFIX

BOOK_PREFIX = "b:"  # b:2026-12-01T15:00 -- book (or move the visit to) that start
VISIT_PREFIX = "v:"  # v:c:17 confirm, v:r:17 reschedule, v:x:17 cancel visit 17
CONFIRM, RESCHEDULE, CANCEL = "c", "r", "x"
ACTIONS = {CONFIRM: "подтвердил запись", RESCHEDULE: "просит перенести запись", CANCEL: "отменил запись"}
# A slot offered by the bot's own offer carries where it came from: b:2026-12-01T15:00|n17 (the rebooking
# offer after missed visit 17, at its discount), b:...|r17 (the retention chain after visit 17).
ORIGIN_SEPARATOR = "|"
FROM_NO_SHOW, FROM_RETENTION = "n", "r"
FROM_WAITLIST = "w"  # b:...|w5 -- a freed slot offered to waitlist entry 5
WAITLIST_PREFIX = "w:"  # w:2026-12-07T10:00 -- wait for a time near this one
FOR_SERVICE = "s"  # b:...|smanicure -- a slot offered for a website form's request: book that service
UPSELL_PREFIX_BUTTON = "u:"  # u:a:17:hair_mask add the offer to visit 17, u:n:17:hair_mask decline
UPSELL_YES, UPSELL_NO = "a", "n"
FORM_PREFIX = "f:"  # f:y:<token> the website form asked about was the client's, f:n:<token> it was not
FORM_MINE, FORM_NOT_MINE = "y", "n"
REVIEW_PREFIX = "rv:"  # rv:17:5 -- visit 17 rated 5 of 5


def rating_of(raw: str) -> tuple[int, int] | None:
    """(visit id, score 1-5) of a rating button's payload after `rv:`, or None for anything else."""
    raw_id, _, raw_score = raw.partition(":")
    visit_id = visit_id_of(raw_id)
    if visit_id is None or raw_score not in ("1", "2", "3", "4", "5"):
        return None
    return visit_id, int(raw_score)


def visit_id_of(raw: str) -> int | None:
    """A visit id from a payload, or None: only ASCII digits ('²' is a digit to str.isdigit, not to int)
    and within a 64-bit column, so a crafted id is a visit not found, not a failed job."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


def split_origin(raw: str) -> tuple[str, str | None, int | None]:
    """(the start as written, the offer kind letter, its visit id or waitlist entry id) of a slot button's
    payload after `b:`."""
    start, _, origin = raw.partition(ORIGIN_SEPARATOR)
    if (
        origin[:1] in (FROM_NO_SHOW, FROM_RETENTION, FROM_WAITLIST)
        and (visit_id := visit_id_of(origin[1:])) is not None
    ):
        return start, origin[:1], visit_id
    return start, None, None


def service_of(raw: str) -> str | None:
    """The service a slot button offered for a website form's request (`|s<service>`), if it is one."""
    origin = raw.partition(ORIGIN_SEPARATOR)[2]
    return origin[1:] or None if origin[:1] == FOR_SERVICE else None


def describe(payload: str) -> str | None:
    """What pressing this button means, for a manager reading the deal; None if it is not a visit's."""
    if payload.startswith(BOOK_PREFIX):
        raw, origin, _ = split_origin(payload[len(BOOK_PREFIX) :])
        try:
            start = datetime.fromisoformat(raw)
        except ValueError:
            return None
        why = {
            FROM_NO_SHOW: " (по предложению после неявки)",
            FROM_RETENTION: " (по напоминанию о новом визите)",
            FROM_WAITLIST: " (из листа ожидания)",
        }
        return f"выбрал время {start:%d.%m %H:%M}{why.get(origin or '', '')}"
    if payload.startswith(UPSELL_PREFIX_BUTTON):
        answer, _, rest = payload[len(UPSELL_PREFIX_BUTTON) :].partition(":")
        offer = rest.partition(":")[2]
        return f"{'добавил' if answer == UPSELL_YES else 'отказался от'} доп. услуги {offer}"
    if payload.startswith(CONSENT_PREFIX):
        return "согласился на рекламные сообщения" if payload.endswith("y") else "отказался от рекламных сообщений"
    if payload.startswith(WAITLIST_PREFIX):
        return "просит записать в лист ожидания"
    if payload.startswith(REVIEW_PREFIX):
        rated = rating_of(payload[len(REVIEW_PREFIX) :])
        return f"оценил визит на {rated[1]} из 5" if rated is not None else None
    if payload.startswith(FORM_PREFIX):
        mine = payload[len(FORM_PREFIX) :].startswith(FORM_MINE)
        return "подтвердил, что оставил заявку с сайта" if mine else "ответил, что не оставлял заявку с сайта"
    if payload.startswith(VISIT_PREFIX):
        action = payload[len(VISIT_PREFIX) :].partition(":")[0]
        return ACTIONS.get(action)
    return None
