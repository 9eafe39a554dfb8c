"""A conversation's key and its parts read back."""

from __future__ import annotations

from domain import Channel, conversation_key, conversation_parts


def test_a_key_reads_back_into_its_tenant_channel_and_chat():
    key = conversation_key("salon-2", Channel.VK, "id:42:x")  # a chat id may hold colons, a tenant id not
    assert conversation_parts(key) == ("salon-2", "vk", "id:42:x")


def test_a_key_missing_parts_reads_as_empty_strings():
    assert conversation_parts("salon") == ("salon", "", "")
    assert conversation_parts("salon:telegram") == ("salon", "telegram", "")
