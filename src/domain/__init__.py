"""The shared kernel: the types every part of lead-gateway speaks. Imports nothing of ours and does no I/O."""

from domain.catalog import Service
from domain.channels import Channel, conversation_key
from domain.conversation import SLOTS, Intent, Slot
from domain.messages import UTM_FIELDS, Attribution, InboundMessage, MessageKind
from domain.replies import Choice, Recipient, Reply
from domain.schedule import OpenHours, Unbookable, WeekHours, hours_on, is_open, why_not_bookable
from domain.sending import CredentialsRejected, Sender, SendError, SendRejected, SendRetryable, WindowClosed

__all__ = [
    "SLOTS",
    "UTM_FIELDS",
    "Attribution",
    "Channel",
    "Choice",
    "CredentialsRejected",
    "InboundMessage",
    "Intent",
    "MessageKind",
    "OpenHours",
    "Recipient",
    "Reply",
    "SendError",
    "SendRejected",
    "SendRetryable",
    "Sender",
    "Service",
    "Slot",
    "Unbookable",
    "WeekHours",
    "WindowClosed",
    "conversation_key",
    "hours_on",
    "is_open",
    "why_not_bookable",
]
