"""Links Bitrix24 can open to a photo or file a client sent: the platform's own public link where it gives
one, else a link to the gateway, signed and dated, that fetches the file with the bot's credentials when
it is opened (a Telegram file link would carry the bot's token)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlencode

from domain import Attachment

LINK_LIFETIME = timedelta(days=7)  # Bitrix24 copies a file when the message is posted; a week covers retries
MAX_FILE_BYTES = 20 * 1024 * 1024  # what the Telegram Bot API serves at most


def signature(secret: str, tenant: str, channel: str, ref: str, expires: int) -> str:
    message = f"{tenant}\n{channel}\n{ref}\n{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def valid(secret: str, tenant: str, channel: str, ref: str, expires: int, given: str, now: datetime) -> bool:
    """The link is one the gateway made and its week has not passed (compared in constant time)."""
    expected = signature(secret, tenant, channel, ref, expires)
    return hmac.compare_digest(expected.encode(), given.encode()) and now.timestamp() <= expires


def file_links(
    public_url: str, secret: str, tenant: str, channel: str, files: Sequence[Attachment], now: datetime
) -> list[dict[str, str]]:
    """`imconnector.send.messages`' files: {url, name} for each file that has a link or an id."""
    links = []
    expires = int((now + LINK_LIFETIME).timestamp())
    for item in files:
        if item.url:
            links.append({"url": item.url, "name": item.name})
        elif item.ref:
            query = urlencode(
                {"ref": item.ref, "e": expires, "s": signature(secret, tenant, channel, item.ref, expires)}
            )
            links.append({"url": f"{public_url}/media/{tenant}/{channel}?{query}", "name": item.name})
    return links
