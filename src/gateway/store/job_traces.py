"""What finished and failed jobs keep of a person: arq keeps each finished job's arguments with its result
for a while, and the dead-letter queue keeps a parked job's until ops replay it. Erasing a person erases
these too; and, where Redis writes an append-only file, asks it to rewrite the file without them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from gateway.store import keys
from gateway.store.redis_result import result

# arq's `result_key_prefix`, written out so the use cases that erase a person import no job framework
# (tests/gateway/store/test_job_traces.py holds it to arq's)
RESULT_PREFIX = "arq:result:"


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for inner in value.values():
            yield from _dicts(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _dicts(inner)


def _about(value: Any, conversations: set[str], phone: str) -> bool:
    """Whether a job's arguments name one of the person's conversations or their phone."""
    for found in _dicts(value):
        parts = (found.get("tenant"), found.get("channel"), found.get("chat_id"))
        if all(isinstance(p, str) for p in parts) and ":".join(parts) in conversations:  # type: ignore[arg-type]
            return True
        for field in ("conversation", "target", "form", "phone", "contact_phone", "sender_phone"):
            text = found.get(field)
            if isinstance(text, str) and (text in conversations or text == phone):
                return True
    return False


def _loaded(raw: bytes | str | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:  # not one of ours (a job serialized some other way): left alone
        return None


async def erase_person(redis: Redis, tenant: str, conversations: set[str], phone: str) -> int:
    """Finished jobs' results and parked jobs about the person, deleted; how many."""
    erased = 0
    async for key in redis.scan_iter(match=f"{RESULT_PREFIX}*", count=500):
        if _about(_loaded(await result(redis.get(key))), conversations, phone):
            erased += int(await result(redis.delete(key)))
    for entry_id, raw in (await result(redis.hgetall(keys.DEAD_LETTERS))).items():
        entry = _loaded(raw)
        if (
            isinstance(entry, dict)
            and entry.get("tenant") == tenant
            and _about(entry.get("args"), conversations, phone)
        ):
            erased += int(await result(redis.hdel(keys.DEAD_LETTERS, entry_id)))
    return erased


async def rewrite_append_only_file(redis: Redis) -> str:
    """`rewriting` when Redis keeps an append-only file and was asked to rewrite it (the erased values leave
    the disk when the rewrite ends), `no file` when it keeps none, `busy` when a rewrite that began before
    the erasure is running (run forget again once it ends), `not allowed` when CONFIG or BGREWRITEAOF is
    refused (a managed Redis): then they leave the file when Redis next rewrites it by itself."""
    try:
        setting = await result(redis.config_get("appendonly"))
        if str(setting.get("appendonly", "no")).lower() != "yes":
            return "no file"
        await result(redis.execute_command("BGREWRITEAOF"))  # type: ignore[no-untyped-call]
    except ResponseError as exc:
        return "busy" if "already in progress" in str(exc).lower() else "not allowed"
    return "rewriting"
