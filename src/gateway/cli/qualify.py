"""`lead-gateway qualify`: messages in (JSON lines or plain lines), extracted fields out."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any

from gateway.bootstrap.qualifying import build_qualifier, make_llm_client
from gateway.settings import LlmConfig, TenantConfig
from qualifier.catalog import ServiceMatcher
from qualifier.result import Extraction


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


async def qualify_lines(
    tenant: TenantConfig, lines: Iterable[str], now: datetime, llm: LlmConfig | None = None
) -> AsyncIterator[dict[str, Any]]:
    matcher = ServiceMatcher(tenant.services())
    client = make_llm_client(llm) if llm is not None else None
    qualifier = build_qualifier(tenant, matcher, llm, client)
    local_now = now.astimezone(tenant.tz)
    try:
        for line in lines:
            if line.strip():
                yield _fields(await qualifier.extract(_text_of(line), local_now), matcher)
    finally:
        if client is not None:
            await client.close()


def _fields(found: Extraction, matcher: ServiceMatcher) -> dict[str, Any]:
    service = matcher.by_id(found.service_id) if found.service_id else None
    return {
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
