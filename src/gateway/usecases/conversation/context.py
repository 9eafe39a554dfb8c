"""What answering a client's message works with, for one tenant, and how the answer went."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from domain import Attachment, InboundMessage, Sender
from gateway.settings import TenantConfig
from gateway.store.conversations import DialogueState
from gateway.usecases.visits.dialogue import Dialogue
from qualifier.pipeline import Qualifier

if TYPE_CHECKING:  # loaded only for a tenant with `lifecycle:` (it brings SQLAlchemy)
    from gateway.usecases.conversation.form_answers import FormAnswers
    from gateway.usecases.visits.replies import VisitReplies


class ReplyOutcome(StrEnum):
    """What became of a message's reply (the `outcome` label of lead_gateway_replies_total)."""

    SENT = "sent"
    REPLAYED = "replayed"  # a re-delivered message: handled before, nothing done
    REJECTED = "rejected"
    WINDOW_CLOSED = "window_closed"
    TEMPLATE = "template"
    THROTTLED = "throttled"
    CREDENTIALS_REJECTED = "credentials_rejected"


@dataclass(frozen=True)
class ConversationContext:
    redis: Redis
    tenant: TenantConfig
    qualifier: Qualifier
    dialogue: Dialogue
    sender: Sender
    llm_calls_per_hour: int = 10  # per conversation: a flood costs a bounded amount
    replies_per_minute: int = 10
    visits: VisitReplies | None = None  # a tenant with `lifecycle:` books and keeps visits in the chat
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    analytics: bool = False  # record lead and first-reply facts (a tenant with `lifecycle:` or `dashboard:`)
    # a website form's lead the gateway knows on a messenger: asked there whether it was theirs, and the
    # answer taken (lifecycle tenants)
    on_form: Callable[[DialogueState, InboundMessage, datetime], Awaitable[None]] | None = None
    form_answers: FormAnswers | None = None
    # Bitrix24 app mode: whether a manager leads the conversation (the bot keeps quiet), and the client's
    # message logged for the Open Line's chat (key, text, when, name).
    manager_leads: Callable[[str], Awaitable[bool]] | None = None
    # the client's message (its key, text, time and files) for the Open Line's chat (app mode)
    log_for_line: Callable[[DialogueState, str, str, datetime, tuple[Attachment, ...]], Awaitable[None]] | None = None
    on_handoff: Callable[[DialogueState, datetime], Awaitable[None]] | None = None  # a to-do for a manager
    # without `lifecycle:`: whether the portal has this deal closed (crm_sync.deal_closed)
    deal_closed: Callable[[int], Awaitable[bool]] | None = None
