"""The bot's offers when their moment comes: the consent question, the rebooking offer after a no-show,
the retention chain, upsell offers and the rating question after a visit. What may go (a stop ends
everything, an offer needs a yes, one offer a person per `marketing_gap`, a chain ends when the client
books again, a visit is rated once) and what each says."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain import Choice, ConsentAnswer, Purpose, Reply, Visit, VisitStatus, may_send, purpose_of
from domain.consent import CONSENT_QUESTION, NO_SHOW_OFFER, RETENTION_PREFIX, REVIEW_REQUEST, UPSELL_PREFIX
from domain.recommendations import best_for
from gateway.store.sql import agenda, consents, outreach_history, ratings
from gateway.usecases.analytics.recommendations import pairs_of
from gateway.usecases.people.consent import question
from gateway.usecases.visits.appointments import Appointments
from gateway.usecases.visits.buttons import (
    FROM_NO_SHOW,
    FROM_RETENTION,
    REVIEW_PREFIX,
    UPSELL_NO,
    UPSELL_PREFIX_BUTTON,
    UPSELL_YES,
)
from gateway.usecases.visits.dialogue import Dialogue, format_when
from gateway.usecases.visits.offer_plan import CONFIRMATION, upsell_kind, upsell_offer
from gateway.usecases.visits.replies import service_label, slot_choices
from gateway.usecases.voice.say import say

STOPPED = "stopped"  # the person said stop: nothing the bot starts goes to them
NO_CONSENT = "no_consent"  # an offer to a person without a recorded yes
ASKED_BEFORE = "asked_before"  # the consent question is asked once
STALE = "stale"


def is_outreach(kind: str) -> bool:
    """A message the bot starts that is not about a booked visit: the consent question, an offer or the
    rating question (none of them is stale when the visit it hangs on is over)."""
    return kind in (CONSENT_QUESTION, REVIEW_REQUEST) or purpose_of(kind) == Purpose.MARKETING


def _marketing(kind: Any) -> Any:
    return kind.in_([NO_SHOW_OFFER]) | kind.like(f"{RETENTION_PREFIX}%") | kind.like(f"{UPSELL_PREFIX}%")


def people(visit: Visit) -> list[str]:
    return [k for k in (visit.phone, visit.conversation) if k]


async def refusal(app: Appointments, visit: Visit, kind: str, now: datetime) -> str | None:
    """Why this message must not go to the visit's client (None: it may); checked when it is due."""
    word = await consents.standing_of(app.engine, app.tenant_id, people(visit))
    if word == ConsentAnswer.STOP:
        return STOPPED
    if kind == CONSENT_QUESTION:
        asked = await consents.was_asked(app.engine, app.tenant_id, people(visit))
        return ASKED_BEFORE if asked or app.lifecycle.consent is None else None
    if not may_send(kind, word):
        return NO_CONSENT
    if kind == NO_SHOW_OFFER:
        over = visit.status != VisitStatus.NO_SHOW or await outreach_history.recovered(app.engine, visit.id)
        return STALE if over or await outreach_history.booked_since(app.engine, visit) else None
    if kind.startswith(RETENTION_PREFIX):
        over = visit.status != VisitStatus.VISITED
        return STALE if over or await outreach_history.booked_since(app.engine, visit) else None
    if kind.startswith(UPSELL_PREFIX):
        fits = visit.active and visit.start_at > now and upsell_offer(kind) not in visit.services
        return None if fits else STALE
    if kind == REVIEW_REQUEST:  # once a visit: not after another stage, a rating, or a question already sent
        asked = any(k == REVIEW_REQUEST for k, _ in await agenda.reminder_outcomes(app.engine, visit.id))
        rated = await ratings.rating_of(app.engine, visit.id) is not None
        return STALE if visit.status != VisitStatus.VISITED or asked or rated else None
    return None


async def not_before(app: Appointments, visit: Visit, kind: str, now: datetime) -> datetime | None:
    """When an offer may go at the soonest, if not now: one per person per `marketing_gap`. An upsell at
    a visit's confirmation is not a push but part of the exchange about the booking the client is making:
    it goes with the confirmation whatever was offered before (consent, a stop and quiet hours still rule)."""
    if purpose_of(kind) != Purpose.MARKETING or kind == upsell_kind(upsell_offer(kind), CONFIRMATION):
        return None
    last = await outreach_history.last_sent(app.engine, app.tenant_id, visit.conversation, visit.phone, _marketing)
    if last is None or last + app.lifecycle.gap() <= now:
        return None
    return last + app.lifecycle.gap()


async def compose(app: Appointments, dialogue: Dialogue, visit: Visit, kind: str, now: datetime) -> Reply:
    texts, local = dialogue.texts, app.local(now)
    service = service_label(dialogue, visit.services)
    if kind == CONSENT_QUESTION:
        assert app.lifecycle.consent is not None  # noqa: S101 - refused above without it
        return question(texts, app.lifecycle.consent)
    if kind == REVIEW_REQUEST:
        scores = tuple(Choice(str(n), f"{REVIEW_PREFIX}{visit.id}:{n}") for n in range(1, 6))
        return Reply(say(texts, "review_question", service=service).text, choices=scores)
    if kind == NO_SHOW_OFFER:
        assert app.lifecycle.no_show is not None  # noqa: S101 - planned only with it
        offer = app.lifecycle.no_show
        until = local + timedelta(days=offer.valid_days)
        percent = offer.discount_percent
        if app.experiments is not None:
            percent = await app.experiments.discount(percent, await app.experiments.people(visit), now)
        text = say(texts, "no_show_offer", service=service, percent=percent, until=f"{until:%d.%m}").text
        return Reply(text, choices=await _slots(app, dialogue, visit, now, f"{FROM_NO_SHOW}{visit.id}"))
    if kind.startswith(RETENTION_PREFIX):
        choices = await _slots(app, dialogue, visit, now, f"{FROM_RETENTION}{visit.id}")
        # the service such clients most often take next, mined from the visits, is named beside it
        best = best_for(await pairs_of(app.redis, app.tenant_id), visit.services)
        if best is not None and best.offer in dialogue.services:
            named = (dialogue.names([best.offer]) or best.offer).lower()
            return Reply(say(texts, "retention_offer_next", service=service, offer=named).text, choices=choices)
        return Reply(say(texts, "retention_offer", service=service).text, choices=choices)
    offered = upsell_offer(kind)
    item = dialogue.services.get(offered)
    price = f" за {item.price:,.0f} ₽".replace(",", " ") if item is not None and item.price else ""
    when = format_when(app.local(visit.start_at), None, local)
    name = dialogue.names([offered]) or offered
    text = say(texts, "upsell_offer", service=service, when=when, offer=name.lower(), price=price).text
    return Reply(
        text,
        choices=(
            Choice(say(texts, "button_upsell_yes").text, f"{UPSELL_PREFIX_BUTTON}{UPSELL_YES}:{visit.id}:{offered}"),
            Choice(say(texts, "button_upsell_no").text, f"{UPSELL_PREFIX_BUTTON}{UPSELL_NO}:{visit.id}:{offered}"),
        ),
    )


async def _slots(app: Appointments, dialogue: Dialogue, visit: Visit, now: datetime, origin: str) -> tuple[Choice, ...]:
    """Free starts for the visit's services around the same time of day tomorrow; each button remembers
    which visit's offer it came from."""
    local = app.local(now)
    at = app.local(visit.start_at)
    wished = (local + timedelta(days=1)).replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    duration = timedelta(minutes=dialogue.duration_min(list(visit.services)))
    starts = await app.offer(wished, duration, now, services=visit.services)
    return slot_choices(starts, local, origin)
