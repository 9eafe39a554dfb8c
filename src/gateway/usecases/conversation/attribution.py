"""Deep-link codes and ad referrals -> UTM tags, through the tenant's `deeplinks`."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from domain import Attribution
from gateway.settings import Utm

# Packed tags for links made without a config entry: src-ig_med-cpc_cmp-spring25_ct-v2_trm-x
_PACKED_KEYS = {"src": "utm_source", "med": "utm_medium", "cmp": "utm_campaign", "ct": "utm_content", "trm": "utm_term"}
_UTM_KEYS = frozenset(_PACKED_KEYS.values())
_PACKED_PART = re.compile(r"^(src|med|cmp|ct|trm)-([A-Za-z0-9-]+)$")


def _unpack(code: str) -> dict[str, str] | None:
    parts = code.split("_")
    tags: dict[str, str] = {}
    for part in parts:
        match = _PACKED_PART.match(part)
        if not match:
            return None
        tags[_PACKED_KEYS[match.group(1)]] = match.group(2)
    return tags or None


def _query_tags(code: str) -> dict[str, str] | None:
    """A ref written as a query string (`utm_source=ig_ads&utm_campaign=spring25`), as ad refs often are."""
    if "=" not in code:
        return None
    tags = {k: v[0] for k, v in parse_qs(code).items() if k in _UTM_KEYS and v and v[0]}
    return tags or None


def resolve(attribution: Attribution, deeplinks: dict[str, Utm]) -> Attribution:
    """Fill UTM tags from the code; an unknown code is kept in the description, never dropped.

    Tags the code names win over what a platform's ad referral implied (the advertiser chose them).
    """
    code = attribution.code
    if not code:
        return attribution
    known = deeplinks.get(code)
    tags = known.model_dump(exclude_none=True) if known is not None else _query_tags(code) or _unpack(code)
    if tags:
        return attribution.model_copy(update=tags)
    if attribution.has_utm():
        return attribution
    note = f"неизвестный код ссылки: {code}"
    description = f"{attribution.description}; {note}" if attribution.description else note
    return attribution.model_copy(update={"description": description})
