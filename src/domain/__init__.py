"""The shared kernel: the types every part of lead-gateway speaks. Imports nothing of ours and does no I/O."""

from domain.appointments import (
    ACTIVE,
    WEEKDAY_NAMES,
    Busy,
    QuietHours,
    SlotRule,
    VisitStatus,
    duration_label,
    free_slots,
    parse_duration,
    reminder_moments,
    resource_slots,
    send_moment,
)
from domain.catalog import Service
from domain.channels import Channel, conversation_key, conversation_parts
from domain.consent import ConsentAnswer, Purpose, may_send, purpose_of, standing
from domain.conversation import SLOTS, Intent, Slot
from domain.messages import UTM_FIELDS, Attribution, InboundMessage, MessageKind
from domain.replies import Choice, Recipient, Reply, Template
from domain.schedule import OpenHours, Unbookable, WeekHours, hours_on, is_open, why_not_bookable
from domain.sending import (
    CredentialsRejected,
    OptedOut,
    PlainSender,
    Sender,
    SendError,
    SendRejected,
    SendRetryable,
    Unreachable,
    WindowClosed,
)

__all__ = [
    "ACTIVE",
    "SLOTS",
    "UTM_FIELDS",
    "WEEKDAY_NAMES",
    "Attribution",
    "Busy",
    "Channel",
    "Choice",
    "ConsentAnswer",
    "CredentialsRejected",
    "InboundMessage",
    "Intent",
    "MessageKind",
    "OpenHours",
    "OptedOut",
    "PlainSender",
    "Purpose",
    "QuietHours",
    "Recipient",
    "Reply",
    "SendError",
    "SendRejected",
    "SendRetryable",
    "Sender",
    "Service",
    "Slot",
    "SlotRule",
    "Template",
    "Unbookable",
    "Unreachable",
    "VisitStatus",
    "WeekHours",
    "WindowClosed",
    "conversation_key",
    "conversation_parts",
    "duration_label",
    "free_slots",
    "hours_on",
    "is_open",
    "may_send",
    "parse_duration",
    "purpose_of",
    "reminder_moments",
    "resource_slots",
    "send_moment",
    "standing",
    "why_not_bookable",
]
