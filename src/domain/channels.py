"""The channels a client can write through, and the key that names one conversation on one."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """Every channel the gateway knows; the one list of them (config, routes and CRM read it from here)."""

    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    INSTAGRAM = "instagram"
    VK = "vk"
    MAX = "max"
    FORM = "form"  # a website form (Tilda or any JSON poster): a lead with no chat to answer in
    SMS = "sms"  # out only: the last resort for a reminder


def conversation_key(tenant: str, channel: Channel, chat_id: str) -> str:
    """`tenant:channel:chat`: a conversation's name in Redis keys, the deal's ORIGIN_ID and the logs."""
    return f"{tenant}:{channel.value}:{chat_id}"


def conversation_parts(key: str) -> tuple[str, str, str]:
    """(tenant, channel, chat) of a key `conversation_key` made; empty strings for what it lacks. A tenant
    id has no colon, so a chat id may: it is everything after the second one."""
    tenant, channel, chat = [*key.split(":", 2), "", ""][:3]
    return tenant, channel, chat
