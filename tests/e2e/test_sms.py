"""The last way to reach a client: a reminder that no messenger can take goes by SMS (SMS.ru or SMSC.ru
stand-ins on loopback), one segment of Cyrillic where it fits; offers never do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from adapters.sms.outbound import Smsc, SmsRu, fit, segments
from domain import CredentialsRejected, SendRetryable, Unreachable
from gateway.store.sql.agenda import reminder_outcomes
from tests.conftest import gateway, served, wait_for, wait_for_async
from tests.e2e.test_appointments import CHAT, Clock, book, lifecycle_config, sent, store_of, visit_day
from tests.e2e.test_bring_back import visit_of
from tests.sms_stand_in import SmsStandIn


@pytest.fixture
def sms() -> Iterator[SmsStandIn]:
    yield from served(SmsStandIn())


async def test_a_reminder_the_blocked_telegram_cannot_take_goes_by_sms(make_config, portal, telegram, sms, store_url):
    clock = Clock()
    settings = {"provider": "smsru", "api_id": "sms-api-id", "sender": "Salon", "api_base": sms.base}
    config = lifecycle_config(make_config, portal, telegram, sms=settings)
    day = visit_day()
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        await book(client, telegram, day)
        visit = await wait_for_async(lambda: visit_of(runtime, CHAT))
        telegram.blocked.add(CHAT)
        clock.move_to(day - timedelta(hours=24) + timedelta(seconds=5))
        await wait_for(lambda: len(sms.sent) == 1, limit=20)
        message = sms.sent[0]
        assert (message["to"], message["api_id"], message["from"], message["json"]) == (
            "79131234567",
            "sms-api-id",
            "Salon",
            "1",
        )
        assert message["msg"].startswith("Напоминаем о записи: Маникюр, ") and segments(message["msg"]) == 1
        await wait_for_async(lambda: _outcomes(store_of(runtime), visit.id, [("24h", "sent")]))
        await wait_for(lambda: any("отправлено в SMS" in c["COMMENT"] for c in portal.state.comments.values()))
        assert len(sent(telegram)) == 2  # nothing more reached the blocked chat


async def _outcomes(engine: Any, visit_id: int, expected: list[tuple[str, str]]) -> bool:
    return await reminder_outcomes(engine, visit_id) == expected


async def test_both_providers_map_their_answers(sms):
    async with httpx.AsyncClient() as http:
        smsru, smsc = SmsRu(http, sms.base, "id", None), Smsc(http, sms.base, "login", "secret", "Salon")
        await smsru.send("+7 913 123-45-67", "Напоминаем о записи")
        await smsc.send("+7 913 123-45-67", "Напоминаем о записи")
        assert sms.sent[0]["to"] == "79131234567" and "from" not in sms.sent[0]
        assert (sms.sent[1]["phones"], sms.sent[1]["psw"], sms.sent[1]["fmt"], sms.sent[1]["sender"]) == (
            "79131234567",
            "secret",
            "3",
            "Salon",
        )
        for provider, code, error in (
            (smsru, 200, CredentialsRejected),
            (smsru, 202, Unreachable),
            (smsru, 220, SendRetryable),
            (smsc, 2, CredentialsRejected),
            (smsc, 7, Unreachable),
            (smsc, 9, SendRetryable),
        ):
            sms.fail_with = code
            with pytest.raises(error):
                await provider.send("+79131234567", "текст")


def test_texts_are_kept_to_few_segments():
    assert segments("Напоминаем о записи: Маникюр, завтра в 15:00.") == 1  # 46 characters of Cyrillic
    assert segments("a" * 160) == 1 and segments("я" * 71) == 2
    long = "слово " * 100
    assert segments(fit(long)) <= 3 and fit(long).endswith("…")
