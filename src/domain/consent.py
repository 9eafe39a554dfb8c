"""Why the bot may write first: the purpose of a message it starts, and what a person said about offers.

A reminder about the client's own visit is transactional; a retention, upsell or discount offer is
advertising (38-FZ art. 18) and goes only to a person whose latest word is a recorded yes. A stop ends
every message the bot starts, whatever its purpose, until a later yes.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Purpose(StrEnum):
    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


class ConsentAnswer(StrEnum):
    ASKED = "asked"  # the question was shown (the evidence of what text it was); not an answer
    YES = "yes"
    NO = "no"
    STOP = "stop"  # «стоп», /stop, or the platform's own opt-out: every bot-initiated message ends


# Kinds of agenda entries that are advertising; every other kind (reminders, notices, the consent
# question itself) is about the client's own visit.
CONSENT_QUESTION = "consent"
NO_SHOW_OFFER = "no_show"
RETENTION_PREFIX = "retention:"  # retention:30d
UPSELL_PREFIX = "upsell:"  # upsell:hair_mask:confirmation, upsell:hair_mask:48h
# The rating question after a visit: about the client's own visit and with nothing promised for an answer,
# so not advertising; a stop still ends it.
REVIEW_REQUEST = "review"


def purpose_of(kind: str) -> Purpose:
    if kind == NO_SHOW_OFFER or kind.startswith((RETENTION_PREFIX, UPSELL_PREFIX)):
        return Purpose.MARKETING
    return Purpose.TRANSACTIONAL


def standing(answers: Iterable[ConsentAnswer]) -> ConsentAnswer | None:
    """A person's standing from their answers, oldest first: the latest yes, no or stop (None: never asked
    or never answered)."""
    latest = None
    for answer in answers:
        if answer != ConsentAnswer.ASKED:
            latest = answer
    return latest


def may_send(kind: str, answer: ConsentAnswer | None) -> bool:
    """Whether a message of this kind may go to a person whose standing is `answer`."""
    if answer == ConsentAnswer.STOP:
        return False
    return purpose_of(kind) == Purpose.TRANSACTIONAL or answer == ConsentAnswer.YES
