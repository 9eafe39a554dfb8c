"""The one event every channel adapter produces, and the attribution it may carry."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from domain.channels import Channel, conversation_key

# The UTM tags in the order Bitrix24 names them (UTM_SOURCE, ...): the one list of them.
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")


class Attribution(BaseModel):
    """Where the client came from: a deep-link code or an ad referral, plus resolved UTM tags."""

    model_config = ConfigDict(frozen=True)

    code: str | None = None  # /start payload, ig.me ref, ...
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_content: str | None = None
    utm_term: str | None = None
    description: str | None = None  # raw referral, kept for the CRM's SOURCE_DESCRIPTION

    def has_utm(self) -> bool:
        return any(self.utm_tags().values())

    def utm_tags(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in UTM_FIELDS}


class Attachment(BaseModel):
    """A photo or file the client sent: where anyone may fetch it (`url`, a platform's public link), or
    the platform's id of it, fetched with the bot's own credentials (`ref`), or neither."""

    model_config = ConfigDict(frozen=True)

    name: str  # a file name to show ("фото.jpg" where the platform gives none)
    url: str | None = None
    ref: str | None = None


class MessageKind(StrEnum):
    MESSAGE = "message"  # something new the client said: recorded, qualified, answered
    EDIT = "edit"  # the client changed an earlier message: recorded and qualified, never answered again
    REVOKE = "revoke"  # the client deleted an earlier message: noted, never answered
    BLOCKED = "blocked"  # the client blocked the bot: noted; nothing the bot starts goes to them here
    UNBLOCKED = "unblocked"  # the client allowed the bot again


class InboundMessage(BaseModel):
    """A client's message, normalised; serialised as JSON into the queue."""

    model_config = ConfigDict(frozen=True)

    tenant: str
    channel: Channel
    chat_id: str
    sender_id: str
    dedupe_key: str  # the platform's own id for this delivery (update_id, wamid, mid)
    message_id: str
    sent_at: AwareDatetime
    received_at: AwareDatetime
    text: str = ""
    sender_name: str | None = None
    sender_username: str | None = None
    contact_phone: str | None = None  # a phone the client shared as their own
    sender_phone: str | None = None  # the number the platform says they write from (WhatsApp wa_id)
    button: str | None = None  # payload of a pressed button (callback data, postback)
    callback_id: str | None = None  # Telegram callback_query id, to be answered
    attribution: Attribution | None = None
    kind: MessageKind = MessageKind.MESSAGE
    original_message_id: str | None = None  # an edit's or revoke's target
    reach_at: tuple[str, ...] = ()  # a form's addresses of the person on messengers (domain.addresses)
    files: tuple[Attachment, ...] = ()  # photos and files sent with the message

    @property
    def conversation_key(self) -> str:
        return conversation_key(self.tenant, self.channel, self.chat_id)
