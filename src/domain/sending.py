"""How a reply leaves: the port every channel's sender fills, and what can go wrong.

SendError
 ├── SendRetryable          transient: try again (after `retry_after` if the platform said)
 └── SendRejected           for good: never retried
      ├── WindowClosed        the platform's 24-hour window is closed
      ├── Unreachable         the person blocked the bot (or left the chat)
      ├── OptedOut            the person told the platform to stop the business's offers
      └── CredentialsRejected the channel's token is expired or revoked
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol, runtime_checkable

from domain.replies import Recipient, Reply, Template


class SendError(Exception):
    """A reply could not be sent."""


class SendRetryable(SendError):
    def __init__(self, reason: str, retry_after: float | None = None, parts_sent: int = 0) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        # A reply sent in pieces: how many went out before this failure, so a retry sends only the rest.
        self.parts_sent = parts_sent


class SendRejected(SendError):
    """The platform refused for good (bot blocked, chat gone, window closed): do not retry."""


class WindowClosed(SendRejected):
    """The platform's customer-service window (24 h after the client's last message) is closed."""


class Unreachable(SendRejected):
    """The person blocked the bot or deleted the chat: nothing reaches them here until they write again."""


class OptedOut(SendRejected):
    """The person opted out of this business's marketing on the platform itself (WhatsApp 131050)."""


class CredentialsRejected(SendRejected):
    """The channel's token is expired or revoked: nothing is sent until an operator fixes it."""


class Sender(Protocol):
    # How long after the client's last message free-form replies are allowed; None: no limit.
    window: timedelta | None

    async def send(self, to: Recipient, reply: Reply) -> None: ...

    async def send_outside_window(self, to: Recipient, reply: Reply) -> bool:
        """What the platform allows once the window is closed (an approved template); True if sent."""
        ...

    async def send_template(self, to: Recipient, template: Template) -> bool:
        """An approved template with parameters (a reminder outside the window); False: none on this channel."""
        ...

    async def acknowledge_button(self, callback_id: str) -> None: ...


@runtime_checkable
class FileSource(Protocol):
    """A channel whose files are fetched with the bot's own credentials (Telegram's file_id)."""

    async def download(self, ref: str, limit: int) -> tuple[bytes, str]:
        """(the file's bytes, its content type); SendRejected when it is gone or over `limit` bytes."""
        ...


class PlainSender:
    """What most channels' senders share: no approved templates, so nothing to send once a window is
    closed, and a button press that needs no answer. A channel's sender writes `send`, sets `window` if
    its platform has one, and overrides the rest only where the platform offers more."""

    window: timedelta | None = None

    async def send(self, to: Recipient, reply: Reply) -> None:
        raise NotImplementedError

    async def send_outside_window(self, to: Recipient, reply: Reply) -> bool:
        return False

    async def send_template(self, to: Recipient, template: Template) -> bool:
        return False

    async def acknowledge_button(self, callback_id: str) -> None:
        return None
