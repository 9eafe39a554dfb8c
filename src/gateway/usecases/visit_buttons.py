"""The payloads of the buttons about a visit, and how a press reads on the deal's timeline."""

from __future__ import annotations

from datetime import datetime

BOOK_PREFIX = "b:"  # b:2026-12-01T15:00 -- book (or move the visit to) that start
VISIT_PREFIX = "v:"  # v:c:17 confirm, v:r:17 reschedule, v:x:17 cancel visit 17
CONFIRM, RESCHEDULE, CANCEL = "c", "r", "x"
ACTIONS = {CONFIRM: "подтвердил запись", RESCHEDULE: "просит перенести запись", CANCEL: "отменил запись"}


def describe(payload: str) -> str | None:
    """What pressing this button means, for a manager reading the deal; None if it is not a visit's."""
    if payload.startswith(BOOK_PREFIX):
        try:
            start = datetime.fromisoformat(payload[len(BOOK_PREFIX) :])
        except ValueError:
            return None
        return f"выбрал время {start:%d.%m %H:%M}"
    if payload.startswith(VISIT_PREFIX):
        action = payload[len(VISIT_PREFIX) :].partition(":")[0]
        return ACTIONS.get(action)
    return None
