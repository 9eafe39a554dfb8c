"""What the use cases need from the outside world, as the channel adapters provide it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol


@dataclass(frozen=True)
class Choice:
    label: str
    payload: str  # comes back as InboundMessage.button when pressed


@dataclass(frozen=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()
    ask_phone: bool = False  # offer the platform's share-my-number button where there is one
    phone_button: str = "📱 Отправить номер"
    slot: str | None = field(default=None, compare=False)  # which slot this reply asks for


@dataclass(frozen=True)
class Recipient:
    chat_id: str
    phone: str | None = None  # the platform's own phone address (WhatsApp wa_id, E.164), if known


class SendError(Exception):
    """A reply could not be sent."""


class SendRetryable(SendError):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class SendRejected(SendError):
    """The platform refused for good (bot blocked, chat gone, window closed): do not retry."""


class WindowClosed(SendRejected):
    """The platform's customer-service window (24 h after the client's last message) is closed."""


class CredentialsRejected(SendRejected):
    """The channel's token is expired or revoked: nothing is sent until an operator fixes it."""


class Sender(Protocol):
    # How long after the client's last message free-form replies are allowed; None: no limit.
    window: timedelta | None

    async def send(self, to: Recipient, reply: Reply) -> None: ...

    async def send_outside_window(self, to: Recipient, reply: Reply) -> bool:
        """What the platform allows once the window is closed (an approved template); True if sent."""
        ...

    async def acknowledge_button(self, callback_id: str) -> None: ...
