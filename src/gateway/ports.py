"""What the use cases need from the outside world, as the channel adapters provide it."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    slot: str | None = field(default=None, compare=False)  # which slot this reply asks for


class SendError(Exception):
    """A reply could not be sent."""


class SendRetryable(SendError):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class SendRejected(SendError):
    """The platform refused for good (bot blocked, chat gone, window closed): do not retry."""


class Sender(Protocol):
    async def send(self, chat_id: str, reply: Reply) -> None: ...

    async def acknowledge_button(self, callback_id: str) -> None: ...
