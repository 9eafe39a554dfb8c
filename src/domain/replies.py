"""What the bot says: a reply with its choices, and whom it goes to."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    parts_sent: int = 0  # pieces of a split reply already delivered; a retry sends the rest
    # Set on a message the bot starts (not an answer): "transactional" or "marketing", for platforms that
    # ask senders to say so (VK's `intent`).
    initiated: str | None = None
    # What makes this message itself: the same when a send is retried, another for every other message
    # (the message it answers, the reminder's agenda row). Platforms that drop repeats by an id of the
    # sender's (VK's `random_id`) derive it from this, so two answers with the same words both arrive.
    key: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Recipient:
    chat_id: str
    phone: str | None = None  # the platform's own phone address (WhatsApp wa_id, E.164), if known


@dataclass(frozen=True)
class Template:
    """A message template the platform approved, with its body's parameters in order."""

    name: str
    language: str
    params: tuple[str, ...] = ()
