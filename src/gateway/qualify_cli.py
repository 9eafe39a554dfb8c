"""`lead-gateway qualify`: messages in (JSON lines or plain lines), extracted fields out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from gateway.config import TenantConfig
from qualifier.catalog import ServiceMatcher
from qualifier.rules import RuleQualifier


def _text_of(line: str) -> str:
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            loaded = json.loads(stripped)
        except json.JSONDecodeError:
            return stripped
        if isinstance(loaded, dict):
            return str(loaded.get("text", ""))
    return stripped


def qualify_lines(tenant: TenantConfig, lines: Iterable[str], now: datetime) -> Iterator[dict[str, Any]]:
    services = tenant.services()
    matcher = ServiceMatcher(services)
    qualifier = RuleQualifier(matcher, tenant.opening_hours())
    local_now = now.astimezone(tenant.tz)
    for line in lines:
        if not line.strip():
            continue
        found = qualifier.extract(_text_of(line), local_now)
        service = matcher.by_id(found.service_id) if found.service_id else None
        yield {
            "service_id": found.service_id,
            "service": service.name if service else None,
            "time_start": found.time_start.isoformat() if found.time_start else None,
            "time_end": found.time_end.isoformat() if found.time_end else None,
            "phone": found.phone,
            "name": found.name,
            "intent": found.intent,
            "missing": found.missing(),
            "source": found.source,
        }
