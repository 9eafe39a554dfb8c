"""The owner's dashboard: one self-contained page (no CDN, no secret in it) that draws its charts from
`/api/{tenant}/analytics`, asked with the browser's own HTTP Basic credentials."""

from __future__ import annotations

import html
import json
from datetime import date, timedelta
from importlib import resources


def _page() -> str:
    return resources.files("gateway.http").joinpath("dashboard.html").read_text(encoding="utf-8")


def render(tenant: str, today: date, days: int = 30) -> str:
    first = today - timedelta(days=days - 1)
    return (
        _page()
        .replace("__TITLE__", html.escape(tenant))
        .replace("__TENANT__", json.dumps(tenant).replace("<", "\\u003c"))
        .replace("__FROM__", first.isoformat())
        .replace("__TO__", today.isoformat())
        .replace("__WEEK_FROM__", today.isoformat())
        .replace("__WEEK_TO__", (today + timedelta(days=6)).isoformat())
    )
