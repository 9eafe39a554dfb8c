"""The tables of the business store. Every datetime column holds an aware UTC time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the store keeps aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# One deal of a conversation: a returning client's new request opens a new episode (and deal).
episodes = Table(
    "episodes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("conversation", String(255), nullable=False, index=True),
    Column("portal", String(32), nullable=False),
    Column("deal_id", BigInteger),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    Column("outcome", String(32)),  # won, lost
)

# A visit as the gateway knows it (from a booking by the bot, or a manager's in the portal).
visits = Table(
    "visits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("portal", String(32), nullable=False),
    Column("deal_id", BigInteger),  # None until the conversation's deal exists (a visit booked in the chat)
    Column("conversation", String(255), nullable=False, index=True),
    Column("channel", String(32), nullable=False, server_default=""),  # where the client is reminded
    Column("chat_id", String(255), nullable=False, server_default=""),
    Column("reply_phone", String(32)),  # the platform's phone address (WhatsApp), if it has one
    Column("resource_id", BigInteger),  # with Online Booking: the resource (master, room) it takes
    Column("booking_id", BigInteger, index=True),  # with Online Booking: the portal's booking, once made
    Column("booking_start", UtcDateTime),  # the start the portal's booking last had (ours or a manager's)
    Column("start_at", UtcDateTime, nullable=False),
    Column("end_at", UtcDateTime, nullable=False),
    Column("services", Text, nullable=False, default=""),  # catalog ids, comma-separated
    Column("status", String(32), nullable=False),  # booked, confirmed, visited, no_show, cancelled
    Column("updated_at", UtcDateTime, nullable=False),
    Column("phone", String(32), index=True),  # the client's phone: who the person is across channels
    Column("discount_percent", Integer),  # booked through a no-show offer: the discount it carries
    Column("recovered_from", Integer),  # that offer's missed visit (a recovered client)
    Column("revenue", Float),  # the deal's OPPORTUNITY once visited
    Column("manager_id", BigInteger),  # the deal's ASSIGNED_BY_ID
    UniqueConstraint("tenant", "portal", "deal_id", name="uq_visits_deal"),
    Index("ix_visits_tenant", "tenant", "start_at"),
)

# The agenda of messages the bot starts about a visit: planned with the moment they go out, claimed
# before sending so each is sent once, then marked with what became of it. Moving or cancelling a visit
# deletes its unclaimed rows.
reminders = Table(
    "reminders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("visit_id", Integer, ForeignKey("visits.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(64), nullable=False),  # 24h, booked, consent, no_show, retention:30d, upsell:mask:48h
    Column("due_at", UtcDateTime, nullable=False, index=True),  # when it goes out (quiet hours applied)
    Column("claimed_at", UtcDateTime),  # None: planned, not yet taken by a sender
    Column("sent_at", UtcDateTime),
    Column("outcome", String(32)),  # sent, blocked, window_closed, skipped...
    Column("detail", Text),
    UniqueConstraint("visit_id", "kind", "due_at", name="uq_reminders_once"),
)

# What each person said about the bot's offers, kept as evidence (38-FZ art. 18, 152-FZ art. 9): the
# question shown, each yes and no, each stop, with the exact text and its version. Never updated.
consents = Table(
    "consents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("person", String(255), nullable=False),  # the phone, or the conversation before a phone is known
    Column("conversation", String(255), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("answer", String(16), nullable=False),  # asked, yes, no, stop
    Column("text", Text, nullable=False),  # the question shown, or the client's own words
    Column("text_version", String(64), nullable=False),
    Column("source", String(32), nullable=False),  # button, words, whatsapp_131050...
    Column("at", UtcDateTime, nullable=False),
    Index("ix_consents_person", "tenant", "person"),
    Index("ix_consents_conversation", "tenant", "conversation"),
)

# Analytics facts, folded from the Redis stream: one row per fact key and tenant (a fact delivered twice
# counts once). Each carries what its numbers are keyed by (channel, UTM tags, service, manager).
facts = Table(
    "facts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("lead", String(255), nullable=False),
    Column("channel", String(32), nullable=False, server_default=""),
    Column("utm_source", String(255)),
    Column("utm_campaign", String(255)),
    Column("service", String(64)),
    Column("person", String(255)),
    Column("manager", BigInteger),
    Column("amount", Float),
    Column("seconds", Float),
    UniqueConstraint("tenant", "key", name="uq_facts_key"),
    Index("ix_facts_tenant_at", "tenant", "at"),
    Index("ix_facts_tenant_kind", "tenant", "kind", "at"),
)

# Ad spend per day and ad (utm_source, utm_campaign), in roubles; a day sent again replaces that day.
spend = Table(
    "spend",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("utm_source", String(255), nullable=False, server_default=""),
    Column("utm_campaign", String(255), nullable=False, server_default=""),
    Column("amount", Float, nullable=False),
    UniqueConstraint("tenant", "day", "utm_source", "utm_campaign", name="uq_spend_day"),
)

# Which variant of an experiment a person is in, for good: the first choice is kept under every key the
# person is known by (their vouched phone, their conversations), so learning a phone changes nothing.
experiment_assignments = Table(
    "experiment_assignments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("experiment", String(48), nullable=False),
    Column("person", String(255), nullable=False),  # a vouched phone or a conversation
    Column("variant", String(8), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("tenant", "experiment", "person", name="uq_experiment_assignments_person"),
)

# A variant delivered: the first message of an experiment about a visit that actually went out. The
# visit is the unit its metric is read on (confirmed 3 h before, visited, missed, booked after).
experiment_exposures = Table(
    "experiment_exposures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("experiment", String(48), nullable=False),
    Column("variant", String(8), nullable=False),
    Column("visit_id", Integer, ForeignKey("visits.id", ondelete="CASCADE"), nullable=False),
    Column("person", String(255), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("tenant", "experiment", "visit_id", name="uq_experiment_exposures_visit"),
    Index("ix_experiment_exposures_experiment", "tenant", "experiment"),
)

# A client's rating of a visit (lifecycle.review), one a visit; a low one's answer and the manager's to-do.
ratings = Table(
    "ratings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("visit_id", Integer, ForeignKey("visits.id", ondelete="CASCADE"), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("score", Integer, nullable=False),  # 1 to 5
    Column("at", UtcDateTime, nullable=False),
    Column("comment", Text),  # a low score's answer to «что пошло не так?»
    Column("todo_id", BigInteger),  # the to-do the deal's responsible got, once made
    Column("todo_has_comment", Integer, nullable=False, server_default="0"),  # 1: the answer is in the to-do
    UniqueConstraint("visit_id", name="uq_ratings_visit"),
)

# A deposit asked for a booking (lifecycle.deposit): its payment, and where it stands. `held` until paid
# (`paid`) or its hold ends (`released`: the visit is cancelled); `failed` when no payment could be made.
deposits = Table(
    "deposits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("visit_id", Integer, ForeignKey("visits.id", ondelete="CASCADE"), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("kopecks", Integer, nullable=False),
    Column("payment_id", String(64), index=True),
    Column("status", String(16), nullable=False),  # held, paid, released, paid_late, failed
    Column("held_until", UtcDateTime, nullable=False),
    Column("at", UtcDateTime, nullable=False),  # asked
    Column("settled_at", UtcDateTime),  # paid or released
    UniqueConstraint("visit_id", name="uq_deposits_visit"),
)

# Clients waiting for a time near the one they asked (lifecycle.waitlist), in the order they joined: each
# is offered a freed slot in turn, for `offer_for`, until one takes it.
waitlist = Table(
    "waitlist",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("portal", String(32), nullable=False),
    Column("conversation", String(255), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("chat_id", String(255), nullable=False),
    Column("reply_phone", String(32)),
    Column("phone", String(32)),
    Column("services", Text, nullable=False),  # catalog ids, comma-separated
    Column("duration_min", Integer, nullable=False),
    Column("wished_from", UtcDateTime, nullable=False),  # a freed start in [from, to] suits them
    Column("wished_to", UtcDateTime, nullable=False),
    Column("joined_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # waiting, offered, booked, left
    Column("offered_start", UtcDateTime),  # the slot offered now, until offered_until
    Column("offered_until", UtcDateTime),
    Column("visit_id", Integer),  # the visit they booked from the waitlist
    Index("ix_waitlist_tenant", "tenant", "status", "wished_from"),
)

# A start freed by a cancellation or a move, offered to the waitlist until taken or past.
freed_slots = Table(
    "freed_slots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("portal", String(32), nullable=False),
    Column("start_at", UtcDateTime, nullable=False),
    Column("end_at", UtcDateTime, nullable=False),
    Column("freed_at", UtcDateTime, nullable=False),
    Column("offered", Text, nullable=False, server_default=""),  # waitlist ids offered it, comma-separated
    Column("status", String(16), nullable=False),  # open, closed
    Index("ix_freed_slots_open", "tenant", "status"),
)

# A tenant's Bitrix24 local application: the portal it is installed in and its tokens. The tokens are
# Fernet-encrypted (LEAD_GATEWAY_SECRET_KEY); one row a tenant, replaced by a reinstall from the same portal.
bitrix_apps = Table(
    "bitrix_apps",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("member_id", String(64), nullable=False),
    Column("domain", String(255), nullable=False, server_default=""),
    Column("client_endpoint", String(512), nullable=False),
    Column("access_token", Text, nullable=False),  # encrypted
    Column("refresh_token", Text, nullable=False),  # encrypted
    Column("application_token", Text, nullable=False),  # encrypted: what its events are checked against
    Column("expires_at", UtcDateTime, nullable=False),  # the access token's end
    Column("user_id", BigInteger),  # who installed: the bot's own messages are posted as them
    Column("installed_at", UtcDateTime, nullable=False),
    Column("renewed_at", UtcDateTime, nullable=False),  # the refresh token's start (it lasts 180 days)
    Column("renewal_error", String(512)),  # the last refused renewal, until one succeeds
    Column("line_id", BigInteger),  # the Open Line the connectors joined (the configured one, or created)
    Column("setup_done", UtcDateTime),  # connectors, line and events all in place
)
