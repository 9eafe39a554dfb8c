"""PHP bracket-syntax query strings, the form `batch` commands are written in."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, quote

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def build_query(params: dict[str, Any]) -> str:
    """`{"fields": {"PHONE": [{"VALUE": "+7"}]}}` -> `fields[PHONE][0][VALUE]=%2B7`."""
    pairs: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}[{k}]", v)
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v)
        elif value is None:
            pairs.append(f"{quote(prefix, safe='[]')}=")
        else:
            if isinstance(value, bool):
                value = "Y" if value else "N"
            # `$result[...]` references must reach the server unencoded to be substituted
            text = str(value)
            encoded = text if text.startswith("$result[") else quote(text, safe="")
            pairs.append(f"{quote(prefix, safe='[]')}={encoded}")

    for key, value in params.items():
        walk(key, value)
    return "&".join(pairs)


def parse_query(query: str) -> dict[str, Any]:
    """The inverse, as PHP reads it: numeric-looking keys stay strings, `[]` appends."""
    root: dict[str, Any] = {}
    for raw_key, value in parse_qsl(query, keep_blank_values=True):
        match = _KEY.match(raw_key)
        if not match:
            root[raw_key] = value
            continue
        path = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node: Any = root
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if isinstance(node, list):
                if last:
                    node.append(value)
                else:
                    node.append({} if path[i + 1] else [])
                    node = node[-1]
                continue
            if last:
                node[part] = value
                continue
            child = node.get(part)
            if not isinstance(child, dict | list):  # `a=1&a[b]=2`: as in PHP, the later key wins
                child = node[part] = [] if path[i + 1] == "" else {}
            node = child
    return root
