"""Messenger addresses a client left in a form: a Telegram, VK or MAX profile link, or an @name typed into
a field named for the messenger. Each becomes an address such as `telegram:anna_k` or `vk:1234`, the form
the gateway's address book keeps for the people it has talked to."""

from __future__ import annotations

import re

from domain.addresses import address

# t.me/<name> and telegram.me/<name>: a person's public username (5-32 letters, digits, underscores);
# t.me/+..., t.me/joinchat/... and t.me/c/... are invitations, not people.
_TELEGRAM = re.compile(r"(?:https?://)?(?:www\.)?(?:t|telegram)\.me/([A-Za-z][A-Za-z0-9_]{4,31})\b", re.I)
# vk.com/id<digits> is the numeric id every profile has; vk.com/<screen_name> a chosen one.
_VK = re.compile(r"(?:https?://)?(?:www\.|m\.)?vk\.(?:com|ru)/([A-Za-z0-9_.]{2,32})\b", re.I)
_MAX = re.compile(r"(?:https?://)?(?:www\.)?max\.ru/([A-Za-z][A-Za-z0-9_]{2,63})\b", re.I)
_AT_NAME = re.compile(r"^@?([A-Za-z][A-Za-z0-9_.]{2,63})$")

# A bare @name counts only in a field named for one messenger: elsewhere it may be an e-mail's part.
_FIELD_CHANNEL = {
    "telegram": "telegram",
    "tg": "telegram",
    "телеграм": "telegram",
    "телеграмм": "telegram",
    "vk": "vk",
    "vkontakte": "vk",
    "вк": "vk",
    "вконтакте": "vk",
    "max": "max",
    "макс": "max",
}
# Telegram's own paths (invitations, sticker sets, proxies), and bots: every bot's username ends in "bot".
_TELEGRAM_NOT_PEOPLE = frozenset({"joinchat", "addstickers", "addemoji", "addlist", "share", "proxy", "socks"})
_VK_NOT_PEOPLE = frozenset({"club", "public", "event", "wall", "im", "write", "feed", "app"})


def _vk(name: str) -> str | None:
    lowered = name.lower()
    if lowered.startswith("id") and lowered[2:].isdigit():
        return address("vk", lowered[2:])
    if any(lowered.startswith(prefix) and lowered[len(prefix) :].isdigit() for prefix in _VK_NOT_PEOPLE):
        return None  # a community or a page, not a person
    return None if lowered in _VK_NOT_PEOPLE else address("vk", lowered)


def _person_on_telegram(name: str) -> bool:
    lowered = name.lower()
    return lowered not in _TELEGRAM_NOT_PEOPLE and not lowered.endswith("bot")


# A person leaves one or two; a form naming thousands is an attack on the community's VK token (each
# screen name costs a lookup), so only the first few are read.
MAX_LINKS = 5


def links_in(fields: dict[str, str]) -> tuple[str, ...]:
    """The first `MAX_LINKS` messenger addresses found in the form's fields, in the order the fields came."""
    found: list[str] = []
    for key, value in fields.items():
        text = value.strip()
        found += [address("telegram", name) for name in _TELEGRAM.findall(text) if _person_on_telegram(name)]
        found += [a for name in _VK.findall(text) if (a := _vk(name)) is not None]
        found += [address("max", name) for name in _MAX.findall(text)]
        channel = _FIELD_CHANNEL.get(key.strip().lower())
        bare = _AT_NAME.match(text)
        if channel is not None and bare is not None and (channel != "telegram" or _person_on_telegram(bare.group(1))):
            named = _vk(bare.group(1)) if channel == "vk" else address(channel, bare.group(1))
            found += [named] if named else []
    return tuple(dict.fromkeys(a for a in found if a))[:MAX_LINKS]
