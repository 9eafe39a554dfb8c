"""Log lines carry no phone number and no secret, in any field."""

from __future__ import annotations

import json
import logging

from gateway.logs import JsonFormatter, log_context


def _line(message: str, *args: object, **context: str) -> str:
    record = logging.LogRecord("gateway.test", logging.INFO, __file__, 1, message, args, None)
    with log_context(**context):
        return JsonFormatter().format(record)


def test_a_whatsapp_conversation_key_is_masked_in_its_own_field_and_in_the_message():
    for number in ("79131234567", "447700900123", "4915123456789"):
        key = f"salon:whatsapp:{number}"
        line = _line("reply sent to %s", key, tenant="salon", conversation=key, event_id=f"wa:{number}")
        assert number not in line, line
        entry = json.loads(line)
        assert entry["conversation"].startswith("salon:whatsapp:+") and "***" in entry["conversation"]


def test_secrets_and_phones_in_the_text_are_scrubbed_but_ids_kept():
    line = _line("POST /bot123456:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ZA/sendMessage for 8 913 123-45-67 update 17")
    assert "AAEhBOweik" not in line and "123-45-67" not in line and "update 17" in line
