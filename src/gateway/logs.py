"""JSON log lines for ops: one object per line, phone numbers masked, secrets never formatted in."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from qualifier.phone import mask_phones_in

# Bot tokens and Bitrix webhook codes, should any reach a message through an exception text.
_SECRETS = (
    re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b"),
    re.compile(r"(/rest/\d+/)[A-Za-z0-9]{8,}"),
    re.compile(r"(/bot)[^/\s]+"),
)


# Correlation: which tenant, conversation and platform event a line belongs to, for every line logged
# while handling it (the webhook, the worker's jobs), without passing it through every call.
_CONTEXT: ContextVar[dict[str, str]] = ContextVar("log_context", default={})  # noqa: B039 - never mutated


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    token = _CONTEXT.set({**_CONTEXT.get(), **fields})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def scrub(text: str) -> str:
    text = _SECRETS[0].sub("<bot-token>", text)
    text = _SECRETS[1].sub(r"\1<webhook-code>", text)
    text = _SECRETS[2].sub(r"\1<token>", text)
    return mask_phones_in(text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        entry.update(_CONTEXT.get())
        for extra in ("conversation", "event_id", "tenant"):
            if hasattr(record, extra):
                entry[extra] = str(getattr(record, extra))
        # Everything in the line is scrubbed: a WhatsApp conversation's key and event id hold the number.
        for name in ("conversation", "event_id", "tenant"):
            if name in entry:
                entry[name] = scrub(entry[name])
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a line is logged, not the stream it was when configured
    (which a test runner or an embedding program may have closed and replaced since)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: str = "INFO") -> None:
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "aiogram.event", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if logging.getLevelName(level) != logging.DEBUG:
        # arq writes two lines a job (start, end): four a message, about half the logging's CPU; failures
        # and retries are logged by the gateway itself
        logging.getLogger("arq.worker").setLevel(logging.WARNING)
