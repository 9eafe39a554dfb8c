"""The bot never confirms a visit that cannot happen: it says why and offers the nearest open starts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.clock import PINNED, stamp
from tests.conftest import SECRET, gateway, wait_for

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
PHONE = "8 913 123-45-67"


def message(update_id: int, chat: int, text: str, sent: float | None = None) -> dict:
    person = {"id": chat, "is_bot": False, "first_name": "Анна"}
    body = {"message_id": update_id, "date": int(sent or stamp()), "text": text, "from": person}
    return {"update_id": update_id, "message": {**body, "chat": {"id": chat, "type": "private"}}}


def replies_to(telegram, chat: int) -> list[dict]:
    return [m for m in telegram.sent if m["method"] == "sendMessage" and str(m.get("chat_id")) == str(chat)]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Хочу маникюр в воскресенье в 12", "в этот день мы не работаем"),
        ("Хочу маникюр вчера в 5", "оно уже прошло"),
        ("Хочу маникюр 31 февраля в 12", "такой даты нет"),
        ("Хочу маникюр через 2 года", "запись открыта на полгода вперёд"),
        ("Хочу маникюр в 3 ночи", "не получится"),
    ],
)
async def test_an_impossible_time_is_refused_with_the_reason_and_open_starts(make_config, portal, telegram, text, why):
    async with gateway(make_config(portal.url, telegram.base)) as (client, _runtime):
        await client.post("/webhooks/salon/telegram", json=message(1, 700, f"{text}, {PHONE}"), headers=HEADERS)
        await wait_for(lambda: len(replies_to(telegram, 700)) == 1)
        await wait_for(lambda: len(portal.state.deals) == 1)
    (reply,) = replies_to(telegram, 700)
    assert why in reply["text"] and "Записываем" not in reply["text"]
    markup = reply["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    buttons = [b for row in markup["inline_keyboard"] for b in row]
    assert buttons and all(b["callback_data"].startswith("t:") for b in buttons)
    (deal,) = portal.state.deals.values()
    assert "Записываем" not in str(deal) and "Желаемое время" not in deal.get("COMMENTS", "")


async def test_relative_days_count_from_when_the_client_wrote(make_config, portal, telegram):
    two_days_ago = (PINNED - timedelta(days=2)).timestamp()  # a Monday: open, and past
    async with gateway(make_config(portal.url, telegram.base)) as (client, _runtime):
        update = message(1, 701, f"Хочу маникюр сегодня в 15:00, {PHONE}", sent=two_days_ago)
        await client.post("/webhooks/salon/telegram", json=update, headers=HEADERS)
        await wait_for(lambda: len(replies_to(telegram, 701)) == 1)
    assert "оно уже прошло" in replies_to(telegram, 701)[0]["text"]
