"""Where a person can be written to, as one string: `phone:+79131234567`, `telegram:anna_k`, `vk:1234`,
`max:anna`. The gateway keeps an address book of these for the people it has talked to, so a lead from a
website form that names one (or gives a known phone) is reached in the conversation it points to."""

from __future__ import annotations

PHONE = "phone"


def address(kind: str, value: str) -> str:
    """One address: usernames and VK screen names are case-insensitive, a leading @ is not part of them."""
    value = value.strip()
    if kind != PHONE:
        value = value.lstrip("@").lower()
    return f"{kind}:{value}" if value else ""


def addresses_of(channel: str, chat_id: str, phone: str | None, username: str | None) -> tuple[str, ...]:
    """The addresses a conversation on `channel` answers to: the client's phone and their name there.
    A VK private chat's id is the person's own id, what a vk.com/id<digits> link names."""
    found = [address(PHONE, phone) if phone else ""]
    if username:
        found.append(address(channel, username))
    if channel == "vk" and chat_id.isdigit() and int(chat_id) < VK_CHAT_PEER_START:
        found.append(address("vk", chat_id))
    return tuple(a for a in found if a)


VK_CHAT_PEER_START = 2_000_000_000  # VK peer ids of group chats start here; below it, a person's own id


def kind_of(entry: str) -> str:
    return entry.partition(":")[0]
