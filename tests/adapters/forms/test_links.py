"""The messenger addresses a client leaves in a website form, as the address book names them."""

from __future__ import annotations

from adapters.forms.links import links_in


def test_profile_links_in_any_field_become_addresses():
    fields = {
        "Name": "Анна",
        "Comment": "пишите в телегу https://t.me/Anna_K или вк vk.com/id1234567, max.ru/anna_max",
        "Contact": "https://m.vk.com/anna.petrova",
    }
    assert links_in(fields) == ("telegram:anna_k", "vk:1234567", "max:anna_max", "vk:anna.petrova")


def test_a_bare_name_counts_only_in_a_field_named_for_the_messenger():
    assert links_in({"Telegram": "@Anna_K", "VK": "id42", "MAX": "anna_max"}) == (
        "telegram:anna_k",
        "vk:42",
        "max:anna_max",
    )
    assert links_in({"Comment": "@anna_k", "Email": "anna@example.com"}) == ()


def test_invitations_communities_and_the_same_link_twice_are_not_people():
    fields = {
        "a": "t.me/+AbCdEf123 t.me/joinchat/xyz vk.com/club123 vk.com/public99 vk.com/im",
        "b": "t.me/anna_k",
        "c": "https://t.me/anna_k",
    }
    assert links_in(fields) == ("telegram:anna_k",)
