"""Deep-link codes and ad referrals -> UTM tags, through the tenant's `deeplinks`."""

from __future__ import annotations

import re

from gateway.config import Utm
from gateway.events import Attribution

# Packed tags for links made without a config entry: src-ig_med-cpc_cmp-spring25_ct-v2_trm-x
_PACKED_KEYS = {"src": "utm_source", "med": "utm_medium", "cmp": "utm_campaign", "ct": "utm_content", "trm": "utm_term"}
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


def resolve(attribution: Attribution, deeplinks: dict[str, Utm]) -> Attribution:
    """Fill UTM tags from the code; an unknown code is kept in the description, never dropped."""
    if attribution.has_utm() or not attribution.code:
        return attribution
    known = deeplinks.get(attribution.code)
    if known is not None:
        return attribution.model_copy(update=known.model_dump(exclude_none=True))
    packed = _unpack(attribution.code)
    if packed is not None:
        return attribution.model_copy(update=packed)
    note = f"неизвестный код ссылки: {attribution.code}"
    description = f"{attribution.description}; {note}" if attribution.description else note
    return attribution.model_copy(update={"description": description})
