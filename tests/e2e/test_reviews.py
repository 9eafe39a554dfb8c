"""Review requests after a visit, end to end: the rating question `review.after` the visit was marked
visited, the links for a 4 or 5, «что пошло не так?» and a manager's to-do with the answer for a 1 to 3,
once a visit, never after «стоп»; the ratings in the owner's numbers. Telegram webhook -> Redis -> worker
-> the sandbox portal and the business store (SQLite and PostgreSQL), on a clock the test moves."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.conftest import gateway, wait_for, wait_for_async
from tests.e2e.test_appointments import (
    CHAT,
    HEADERS,
    OTHER_CHAT,
    Clock,
    book,
    buttons,
    lifecycle_config,
    message,
    press,
    store_of,
    visit_day,
)
from tests.e2e.test_bring_back import move_deal, outcome_of, texts_with, visit_of
from tests.e2e.test_owner_numbers import OWNER, PASSWORD

YANDEX = "https://yandex.ru/maps/org/salon/1234567890/"
GIS = "https://2gis.ru/novosibirsk/firm/1234567890"
REVIEW = {"after": "3h", "links": {"Яндекс Карты": YANDEX, "2ГИС": GIS}, "todo_within": "1h"}
QUESTION = "Оцените, пожалуйста, от 1 до 5"


RATING_B = "Оцените, пожалуйста, от 1 до 5: как прошёл ваш визит ({service})?"
WORDING = {"id": "rating_wording", "texts": {"review_question": ["{default}", RATING_B]}, "metric": "review_left"}


def review_config(make_config: Any, portal: Any, telegram: Any) -> Any:
    extra = {"dashboard": {"password": PASSWORD}, "experiments": [WORDING]}
    return lifecycle_config(make_config, portal, telegram, lifecycle={"review": REVIEW}, **extra)


async def booked_and_visited(client: Any, portal: Any, telegram: Any, runtime: Any, day: datetime) -> tuple[Any, Any]:
    """Two clients booked, both visits marked visited by a manager (7 and 8 responsible)."""
    await book(client, telegram, day, chat=CHAT, first_id=1)
    await book(client, telegram, day + timedelta(hours=2), chat=OTHER_CHAT, first_id=100)
    happy = await wait_for_async(lambda: visit_of(runtime, CHAT))
    unhappy = await wait_for_async(lambda: visit_of(runtime, OTHER_CHAT))
    await move_deal(client, portal, happy.deal_id, "WON", OPPORTUNITY=1500, ASSIGNED_BY_ID=7)
    await move_deal(client, portal, unhappy.deal_id, "WON", OPPORTUNITY=1500, ASSIGNED_BY_ID=8)
    return happy, unhappy


def todos(portal: Any, deal_id: int) -> list[dict[str, Any]]:
    return [a for a in portal.state.activities.values() if a["OWNER_ID"] == deal_id]


async def test_a_happy_client_gets_the_review_links_and_an_unhappy_one_a_managers_to_do_with_her_answer(
    make_config, portal, telegram, store_url
):
    clock = Clock()
    config = review_config(make_config, portal, telegram)
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        happy, unhappy = await booked_and_visited(client, portal, telegram, runtime, visit_day())
        deals_before = len(portal.state.deals)
        await wait_for_async(lambda: _planned(store_of(runtime), happy.id))
        assert not texts_with(telegram, QUESTION)  # not before `after`
        clock.move_to(clock() + timedelta(hours=3, seconds=5))
        await wait_for(lambda: len(texts_with(telegram, QUESTION, CHAT)) == 1)
        await wait_for(lambda: len(texts_with(telegram, QUESTION, OTHER_CHAT)) == 1)
        asked = texts_with(telegram, QUESTION, CHAT)[0]
        assert buttons(asked) == [f"rv:{happy.id}:{n}" for n in range(1, 6)]
        assert "Маникюр" in asked["text"]

        # a 5: the links, and nothing for a manager to do
        await client.post("/webhooks/salon/telegram", json=press(10, f"rv:{happy.id}:5"), headers=HEADERS)
        await wait_for(lambda: len(texts_with(telegram, "Спасибо за оценку", CHAT)) == 1)
        thanks = texts_with(telegram, "Спасибо за оценку", CHAT)[0]["text"]
        assert f"Яндекс Карты: {YANDEX}" in thanks and f"2ГИС: {GIS}" in thanks

        # a 2: what went wrong, and at once a to-do for the deal's responsible, due in opening hours
        await client.post(
            "/webhooks/salon/telegram", json=press(110, f"rv:{unhappy.id}:2", OTHER_CHAT), headers=HEADERS
        )
        await wait_for(lambda: len(texts_with(telegram, "Что пошло не так?", OTHER_CHAT)) == 1)
        await wait_for(lambda: len(todos(portal, unhappy.deal_id)) == 1)
        (todo,) = todos(portal, unhappy.deal_id)
        assert todo["SUBJECT"].startswith("Клиент оценил визит на 2 из 5") and todo["RESPONSIBLE_ID"] == 8
        assert datetime.fromisoformat(todo["DEADLINE"]) > clock()
        # her answer goes into that to-do, and opens no new deal beside the won one
        said = "Мастер опоздала на 20 минут, и лак уже облез"
        await client.post("/webhooks/salon/telegram", json=message(111, said, OTHER_CHAT), headers=HEADERS)
        await wait_for(lambda: len(texts_with(telegram, "Передали администратору", OTHER_CHAT)) == 1)
        await wait_for(lambda: said in todos(portal, unhappy.deal_id)[0]["DESCRIPTION"])
        assert len(todos(portal, unhappy.deal_id)) == 1 and not todos(portal, happy.deal_id)
        assert len(portal.state.deals) == deals_before

        # a visit is rated once: a second press changes nothing
        await client.post("/webhooks/salon/telegram", json=press(12, f"rv:{happy.id}:1"), headers=HEADERS)
        await wait_for(lambda: len(texts_with(telegram, "оценка уже у нас", CHAT)) == 1)
        assert not todos(portal, happy.deal_id)

        async def rated() -> Any:
            response = await client.get("/api/salon/analytics", params={"by": "manager"}, headers=OWNER)
            numbers = response.json()
            return numbers if numbers["total"]["ratings"] == 2 else None

        numbers = await wait_for_async(rated, limit=20)
        # the rating question's wording is an experiment judged by review_left: both asked, both rated
        (tried,) = (await client.get("/api/salon/experiments", headers=OWNER)).json()
        assert tried["metric"] == "review_left"
        assert sum(v["exposed"] for v in tried["variants"]) == 2 and sum(v["converted"] for v in tried["variants"]) == 2
        assert numbers["total"]["rating_avg"] == 3.5
        by_manager = {row["key"]: (row["ratings"], row["rating_avg"]) for row in numbers["rows"]}
        assert by_manager[7] == (1, 5.0) and by_manager[8] == (1, 2.0)


async def test_no_rating_question_after_stop_and_none_for_a_visit_that_did_not_happen(
    make_config, portal, telegram, store_url
):
    clock = Clock()
    config = review_config(make_config, portal, telegram)
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        engine = store_of(runtime)
        happy, unhappy = await booked_and_visited(client, portal, telegram, runtime, visit_day())
        await wait_for_async(lambda: _planned(engine, unhappy.id))
        await client.post("/webhooks/salon/telegram", json=message(70, "стоп", CHAT), headers=HEADERS)
        await wait_for(lambda: len(texts_with(telegram, "больше не будем писать вам первыми", CHAT)) == 1)
        await move_deal(client, portal, unhappy.deal_id, "LOSE")  # the manager corrects: she did not come
        await wait_for_async(lambda: _status_is(engine, unhappy.id, "no_show"))
        clock.move_to(clock() + timedelta(hours=3, seconds=5))
        await wait_for_async(lambda: _outcome_is(engine, happy.id, "stopped"))
        await wait_for_async(lambda: _outcome_is(engine, unhappy.id, None))
        assert not texts_with(telegram, QUESTION, CHAT) and not texts_with(telegram, QUESTION, OTHER_CHAT)
        # a crafted press for a visit that did not happen keeps nothing
        await client.post(
            "/webhooks/salon/telegram", json=press(120, f"rv:{unhappy.id}:1", OTHER_CHAT), headers=HEADERS
        )
        await wait_for(lambda: len(texts_with(telegram, "уже неактуальна", OTHER_CHAT)) == 1)
        assert not todos(portal, unhappy.deal_id)


async def _status_is(engine: Any, visit_id: int, status: str) -> bool:
    from gateway.store.sql.visits import visit_by_id

    visit = await visit_by_id(engine, visit_id)
    return visit is not None and visit.status == status


async def _planned(engine: Any, visit_id: int) -> bool:
    from gateway.store.sql.agenda import planned_reminders

    return "review" in [kind for kind, _ in await planned_reminders(engine, visit_id)]


async def _outcome_is(engine: Any, visit_id: int, outcome: str | None) -> bool:
    """The visit's rating question ended so (None: taken off the agenda, never sent)."""
    if outcome is None:
        return not await _planned(engine, visit_id) and await outcome_of(engine, visit_id, "review") is None
    return await outcome_of(engine, visit_id, "review") == outcome
