"""Send what the agenda holds when its moment comes: reminders before a visit, and notices of a visit a
manager booked, moved or cancelled. Each is re-checked against the visit first, claimed before it is
sent (so it goes at most once), and what became of it is kept in the store and on the deal's timeline.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from domain import (
    Channel,
    ConsentAnswer,
    DueReminder,
    Purpose,
    Reply,
    Sender,
    Template,
    Visit,
    purpose_of,
    send_moment,
)
from domain.consent import CONSENT_QUESTION, NO_SHOW_OFFER, RETENTION_PREFIX, REVIEW_REQUEST, UPSELL_PREFIX
from domain.payments import PaymentRetryable
from gateway.settings.experiments import DISCOUNT, TIMING, text_varies
from gateway.store import facts
from gateway.store.conversations import TimelineEntry, append_timeline
from gateway.store.facts import Kind
from gateway.store.sql import agenda
from gateway.usecases.analytics import fact_log
from gateway.usecases.messaging import delivery
from gateway.usecases.outreach import offers as outreach
from gateway.usecases.outreach.pacing import Pacer
from gateway.usecases.people.consent import ConsentBook, Person, question
from gateway.usecases.visits.appointments import NOTICE_BOOKED, NOTICE_CANCELLED, NOTICE_MOVED, Appointments
from gateway.usecases.visits.deposits import (
    DEPOSIT_EXPIRY,
    DEPOSIT_LATE,
    DEPOSIT_NOTICES,
    DEPOSIT_PAID,
    DEPOSIT_RELEASED,
    Deposits,
)
from gateway.usecases.visits.dialogue import Dialogue, format_when
from gateway.usecases.visits.offer_plan import upsell_offer
from gateway.usecases.visits.replies import service_label, visit_buttons
from gateway.usecases.voice.say import say

logger = logging.getLogger("gateway.usecases.outreach.reminders")

RETRY_AFTER = timedelta(seconds=60)  # a platform down for now: the reminder waits this long


class Outcome:
    SENT = "sent"
    TEMPLATE = "template"
    UNREACHABLE = "unreachable"
    WINDOW_CLOSED = "window_closed"
    REJECTED = "rejected"
    CREDENTIALS = "credentials_rejected"
    STALE = "stale"  # the visit was cancelled, moved or is over: nothing to remind of
    LATE = "late"  # its moment and the visit passed while nothing ran
    POSTPONED = "postponed"  # inside quiet hours, or the platform asked to wait
    TAKEN = "taken"  # another worker claimed it
    OPTED_OUT = "opted_out"  # the platform says the person stopped the business's offers


@dataclass(frozen=True)
class ReminderContext:
    appointments: Appointments
    dialogue: Dialogue
    sender_of: Callable[[str], Sender]  # channel -> the tenant's sender
    queue_crm_sync: Callable[[str], Awaitable[None]]  # conversation -> its CRM sync queued
    pacer: Pacer
    deposits: Deposits | None = None  # with lifecycle.deposit: the hold's end is settled here


NOTICE_TEXTS = {
    NOTICE_BOOKED: "booked_by_manager",
    NOTICE_MOVED: "moved_by_manager",
    NOTICE_CANCELLED: "cancelled_by_manager",
    DEPOSIT_PAID: "deposit_paid",
    DEPOSIT_RELEASED: "deposit_released",
    DEPOSIT_LATE: "deposit_late",
}
NOTICES = frozenset(NOTICE_TEXTS)
AFTER_THE_VISIT = frozenset({NOTICE_CANCELLED, DEPOSIT_RELEASED, DEPOSIT_LATE})  # said of a visit no longer on


def is_notice(kind: str) -> bool:
    """A notice of a manager's change (sent now) rather than a reminder (an offset before the visit)."""
    return kind in NOTICES


def compose(ctx: ReminderContext, visit: Visit, kind: str, now: datetime) -> Reply:
    texts = ctx.dialogue.texts
    local = ctx.appointments.local(now)
    values = {
        "service": service_label(ctx.dialogue, visit.services),
        "when": format_when(ctx.appointments.local(visit.start_at), None, local),
    }
    said = say(texts, NOTICE_TEXTS.get(kind, "reminder"), **values).text
    if kind in AFTER_THE_VISIT or kind in DEPOSIT_NOTICES:
        return Reply(said)
    return Reply(said, choices=visit_buttons(visit.id, ctx.dialogue))


async def deliver(ctx: ReminderContext, due: DueReminder, visit: Visit, now: datetime) -> str:
    """Act on one due agenda entry of `visit` (as read from the store just now): a deposit's hold ends, or a
    message is sent (or why not is kept)."""
    if due.kind == DEPOSIT_EXPIRY:
        return await _hold_ends(ctx, due, visit, now)
    return await _send_due(ctx, due, visit, now)


async def _send_due(ctx: ReminderContext, due: DueReminder, visit: Visit, now: datetime) -> str:
    """Send one due message of `visit`, or say why not."""
    app = ctx.appointments
    refused = None if outreach.is_outreach(due.kind) else _stale(visit, due.kind, now)
    if refused is None:  # a stop ends every kind; an offer needs a yes and a visit it still fits
        refused = await outreach.refusal(app, visit, due.kind, now)
    if refused is not None:
        await agenda.record_reminder(app.engine, due.id, refused, "", now)
        return refused
    quiet = app.lifecycle.quiet()
    local = app.local(now)
    if quiet is not None and quiet.contains(local):  # ran late into quiet hours (a backlog, a restart)
        before_visit = not is_notice(due.kind) and not outreach.is_outreach(due.kind)
        moment = send_moment(local, app.local(visit.start_at), quiet) if before_visit else None
        later = moment if moment is not None and moment > local else quiet.end_after(local)
        if later < visit.start_at or due.kind in AFTER_THE_VISIT or not _bound_to_visit(due.kind):
            await agenda.postpone_reminder(app.engine, due.id, later)
            return Outcome.POSTPONED
        await agenda.record_reminder(app.engine, due.id, Outcome.LATE, "quiet hours until the visit", now)
        return Outcome.LATE
    if (until := await outreach.not_before(app, visit, due.kind, now)) is not None:  # one offer per gap
        await agenda.postpone_reminder(app.engine, due.id, until)
        return Outcome.POSTPONED
    if not await agenda.claim_reminder(app.engine, due.id, now):
        return Outcome.TAKEN
    if due.kind == CONSENT_QUESTION and not await _book(ctx).was_asked(_person(visit)):
        # the evidence of what is asked, on record before it goes: a press a moment later finds it
        await _record_question(ctx, visit, now)
    book = app.experiments
    people = await book.people(visit) if book is not None else []
    if book is not None:  # the person's variants of the texts this message may use
        texts = await book.texts(ctx.dialogue.texts, texts_of(due.kind), people, now)
        ctx = replace(ctx, dialogue=ctx.dialogue.worded(texts))
    sent = await _send(ctx, visit, due, now)
    if sent.outcome == Outcome.POSTPONED:  # not taken, for certain: back on the agenda a little later
        wait = sent.retry_after or RETRY_AFTER
        await agenda.release_reminder(app.engine, due.id)
        await agenda.postpone_reminder(app.engine, due.id, now + wait)
        logger.warning("visit %s: %s postponed %.0f s: %s", visit.id, due.kind, wait.total_seconds(), sent.detail)
        return Outcome.POSTPONED
    outcome, detail = str(sent.outcome), sent.detail
    visit = replace(visit, channel=sent.address.channel)  # noted on the deal with the channel it went by
    await agenda.record_reminder(app.engine, due.id, outcome, detail, now)
    if book is not None and outcome in (Outcome.SENT, Outcome.TEMPLATE):  # delivered: an exposure
        await book.delivered(visit, people, varied(due.kind, visit.channel, outcome == Outcome.SENT), now)
    if outreach.is_outreach(due.kind) and due.kind != REVIEW_REQUEST and outcome in (Outcome.SENT, Outcome.TEMPLATE):
        offer = await fact_log.of_visit(app.redis, visit, Kind.OFFER, now, key=f"offer:{due.id}")
        await facts.emit(app.redis, [replace(offer, service=due.kind[:64])])
    logger.info("visit %s: %s -> %s", visit.id, due.kind, outcome)
    await _note(ctx, visit, due, outcome, now)
    return outcome


def texts_of(kind: str) -> tuple[str, ...]:
    """The texts a message of `kind` may be worded with (a reminder's SMS has its own)."""
    if kind in NOTICE_TEXTS:
        return (NOTICE_TEXTS[kind],)
    if outreach.is_outreach(kind):
        return (next((t for prefix, t in OFFER_TEXTS if kind.startswith(prefix)), "upsell_offer"),)
    return ("reminder", "sms_reminder")


def varied(kind: str, channel: str, own_words: bool) -> list[str]:
    """What a delivered message of `kind` showed that an experiment may vary: its text (unless a
    platform's fixed template went instead), the reminders' timing, the no-show discount."""
    reminder = not is_notice(kind) and not outreach.is_outreach(kind)
    text = "sms_reminder" if reminder and channel == Channel.SMS else texts_of(kind)[0]
    shown = [TIMING] if reminder else [DISCOUNT] if kind == NO_SHOW_OFFER else []
    return [text_varies(text), *shown] if own_words else shown


OFFER_TEXTS = (
    (NO_SHOW_OFFER, "no_show_offer"),
    (RETENTION_PREFIX, "retention_offer"),
    (UPSELL_PREFIX, "upsell_offer"),
    (CONSENT_QUESTION, "consent_question"),
    (REVIEW_REQUEST, "review_question"),
)


def _bound_to_visit(kind: str) -> bool:
    """A message that makes sense only before the visit (a reminder, an upsell), not after it."""
    return not outreach.is_outreach(kind) or kind.startswith(UPSELL_PREFIX)


async def _record_question(ctx: ReminderContext, visit: Visit, now: datetime) -> None:
    config = ctx.appointments.lifecycle.consent
    assert config is not None  # noqa: S101 - the question is refused without it
    shown = question(ctx.dialogue.texts, config).text
    await _book(ctx).record(_person(visit), ConsentAnswer.ASKED, shown, config.text_version, "bot", now)


def _book(ctx: ReminderContext) -> ConsentBook:
    app = ctx.appointments
    return ConsentBook(app.engine, app.redis, app.tenant.tz)


def _person(visit: Visit) -> Person:
    return Person(visit.tenant, visit.conversation, visit.channel, visit.phone)


async def _hold_ends(ctx: ReminderContext, due: DueReminder, visit: Visit, now: datetime) -> str:
    """A deposit's hold ends: paid meanwhile, or the visit released (claimed first: settled once)."""
    app = ctx.appointments
    if ctx.deposits is None:
        await agenda.record_reminder(app.engine, due.id, Outcome.STALE, "no deposits configured", now)
        return Outcome.STALE
    if not await agenda.claim_reminder(app.engine, due.id, now):
        return Outcome.TAKEN
    try:
        outcome = await ctx.deposits.expire(visit, now)
    except PaymentRetryable as exc:  # the provider cannot say now whether it was paid: ask again shortly
        await agenda.release_reminder(app.engine, due.id)
        await agenda.postpone_reminder(app.engine, due.id, now + RETRY_AFTER)
        logger.warning("visit %s: the deposit's payment could not be read: %s", visit.id, exc)
        return Outcome.POSTPONED
    await agenda.record_reminder(app.engine, due.id, outcome, "", now)
    logger.info("visit %s: the deposit's hold ended: %s", visit.id, outcome)
    return outcome


def _stale(visit: Visit, kind: str, now: datetime) -> str | None:
    if kind in AFTER_THE_VISIT:
        return None
    if not visit.active:
        return Outcome.STALE
    if visit.start_at <= now:
        return Outcome.LATE
    return None


async def _send(ctx: ReminderContext, visit: Visit, due: DueReminder, now: datetime) -> delivery.Delivery:
    app = ctx.appointments
    if outreach.is_outreach(due.kind):
        reply = await outreach.compose(app, ctx.dialogue, visit, due.kind, now)
    else:
        reply = compose(ctx, visit, due.kind, now)
    message = delivery.Message(
        reply=replace(reply, initiated=purpose_of(due.kind).value, key=f"agenda:{due.id}"),
        template=_template(ctx, visit, due.kind, now),
        sms=_sms_text(ctx, visit, due.kind, now),
        sms_to=visit.phone,
        pace=True,
    )
    to = delivery.Address(visit.conversation, visit.channel, visit.chat_id, visit.reply_phone)
    return await delivery.deliver(outbox_of(ctx), to, message, now)


def outbox_of(ctx: ReminderContext) -> delivery.Outbox:
    app = ctx.appointments
    return delivery.Outbox(
        tenant=app.tenant_id,
        portal=app.portal,
        redis=app.redis,
        engine=app.engine,
        tz=app.tenant.tz,
        sender_of=ctx.sender_of,
        sms=app.tenant.sms is not None,
        wait_turn=ctx.pacer.wait,
        queue_crm_sync=ctx.queue_crm_sync,
    )


def _sms_text(ctx: ReminderContext, visit: Visit, kind: str, now: datetime) -> str | None:
    """The SMS of a message about the client's own visit (never an offer): one segment where it fits."""
    if outreach.is_outreach(kind) or purpose_of(kind) != Purpose.TRANSACTIONAL:
        return None
    if is_notice(kind):
        return compose(ctx, visit, kind, now).text
    app = ctx.appointments
    when = format_when(app.local(visit.start_at), None, app.local(now))
    return say(ctx.dialogue.texts, "sms_reminder", service=service_label(ctx.dialogue, visit.services), when=when).text


def _template(ctx: ReminderContext, visit: Visit, kind: str, now: datetime) -> Template | None:
    """The reminder template with the visit's service, date and time; notices have none (a closed window
    is noted on the deal for a manager instead)."""
    configured = ctx.appointments.lifecycle.templates.reminder
    if configured is None or is_notice(kind) or outreach.is_outreach(kind):
        return None
    start = ctx.appointments.local(visit.start_at)
    params = (service_label(ctx.dialogue, visit.services), f"{start:%d.%m.%Y}", f"{start:%H:%M}")
    return Template(configured.name, configured.language, params)


NOTES = {
    Outcome.SENT: "{what} отправлено в {channel}",
    Outcome.TEMPLATE: "{what} отправлено в {channel} шаблоном",
    Outcome.UNREACHABLE: "{what} не доставлено: клиент заблокировал бота в {channel}. Позвоните клиенту",
    Outcome.WINDOW_CLOSED: "{what} не отправлено: {channel} не разрешает писать первым. Позвоните клиенту",
    Outcome.CREDENTIALS: "{what} не отправлено: ключ {channel} отклонён. Позвоните клиенту",
    Outcome.REJECTED: "{what} не отправлено ({channel} отказал). Позвоните клиенту",
}
CHANNEL_NAMES: dict[str, str] = {
    Channel.TELEGRAM: "Telegram",
    Channel.WHATSAPP: "WhatsApp",
    Channel.INSTAGRAM: "Instagram",
    Channel.VK: "ВКонтакте",
    Channel.SMS: "SMS",
}


def _offer_note(kind: str, when: datetime) -> str:
    if kind.startswith(RETENTION_PREFIX):
        return f"Приглашение прийти снова ({kind[len(RETENTION_PREFIX) :]} после визита {when:%d.%m})"
    if kind.startswith(UPSELL_PREFIX):
        return f"Предложение доп. услуги {upsell_offer(kind)} к визиту {when:%d.%m %H:%M}"
    return f"Напоминание ({kind} до визита {when:%d.%m %H:%M})"


async def _note(ctx: ReminderContext, visit: Visit, due: DueReminder, outcome: str, now: datetime) -> None:
    """On the deal's timeline, through the conversation's CRM sync: what went out, or what a manager must do."""
    note = NOTES.get(outcome)
    if note is None:
        return
    when = ctx.appointments.local(visit.start_at)
    what = {
        NOTICE_BOOKED: f"Подтверждение записи на {when:%d.%m %H:%M}",
        NOTICE_MOVED: f"Сообщение о переносе на {when:%d.%m %H:%M}",
        NOTICE_CANCELLED: f"Сообщение об отмене записи на {when:%d.%m %H:%M}",
        CONSENT_QUESTION: "Сообщение с вопросом о согласии на рекламные сообщения",
        NO_SHOW_OFFER: "Предложение записаться снова со скидкой после неявки",
        DEPOSIT_PAID: f"Подтверждение оплаты предоплаты за визит {when:%d.%m %H:%M}",
        DEPOSIT_RELEASED: f"Сообщение о снятии брони на {when:%d.%m %H:%M} без предоплаты",
        DEPOSIT_LATE: "Сообщение о предоплате, пришедшей после снятия брони",
        REVIEW_REQUEST: f"Просьба оценить визит {when:%d.%m %H:%M}",
    }.get(due.kind) or _offer_note(due.kind, when)
    channel = CHANNEL_NAMES.get(visit.channel, visit.channel)
    entry = TimelineEntry(
        key=f"reminder:{due.id}",
        text=note.format(what=what, channel=channel),
        at=ctx.appointments.local(now),
        author="Бот",
    )
    await append_timeline(ctx.appointments.redis, visit.conversation, entry)
    await ctx.queue_crm_sync(visit.conversation)
