from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from domain import Service
from qualifier.catalog import ServiceMatcher
from qualifier.phone import find_phones, mask_phone, normalize_phone
from qualifier.rules import RuleQualifier
from qualifier.when import parse_time

TZ = ZoneInfo("Asia/Novosibirsk")
NOW = datetime(2026, 11, 20, 11, 0, tzinfo=TZ)  # a Friday
HOURS = [(time(10), time(21))] * 5 + [(time(10), time(18)), None]
CATALOG = [
    Service("haircut_men", "Мужская стрижка", ("подстричься", "фейд"), 45, 1200),
    Service("manicure", "Маникюр", ("ногти",), 60, 1500),
    Service("pedicure", "Педикюр", (), 90, 2000),
    Service("brows", "Коррекция бровей", ("брови",), 30, 800),
]


@pytest.mark.parametrize(
    "text",
    [
        "8 913 123-45-67",
        "+7 (913) 1234567",
        "+7(913)1234567",
        "9131234567",
        "89131234567",
        "тел: 8-913-123-45-67",
        "7 913 123 45 67",
    ],
)
def test_phone_in_any_russian_writing(text):
    assert find_phones(text) == ["+79131234567"]


@pytest.mark.parametrize(
    "text",
    ["25.11.2026 в 15:30", "стрижка 1 200 000 руб", "в 16.00", "с 10 до 21", "длина 45 см, 2 часа", "заказ 123456789"],
)
def test_not_a_phone(text):
    assert find_phones(text) == []


def test_contact_share_format_and_masking():
    assert normalize_phone("79161234567") == "+79161234567"
    assert normalize_phone("12345") is None
    assert mask_phone("+79131234567") == "+7913***4567"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("хочу подстричься", ["haircut_men"]),
        ("запишите на мужскую стрижку", ["haircut_men"]),
        ("маникюрчик бы", ["manicure"]),
        ("маникуюр", ["manicure"]),
        ("педекюр и маникюр", ["manicure", "pedicure"]),
        ("бровки поправить", ["brows"]),
        ("а вы работаете в воскресенье?", []),
    ],
)
def test_services_through_morphology_and_typos(text, expected):
    assert sorted(s.id for s in ServiceMatcher(CATALOG).find(text)) == sorted(expected)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("завтра в 15", "2026-11-21T15:00", None),
        ("в 15:30", "2026-11-20T15:30", None),
        ("в 16.00", "2026-11-20T16:00", None),
        ("в 3 часа дня", "2026-11-20T15:00", None),
        ("часа в три", "2026-11-20T15:00", None),
        ("в 3", "2026-11-20T15:00", None),
        ("через 2 часа", "2026-11-20T13:00", None),
        ("25 ноября в 12", "2026-11-25T12:00", None),
        ("25.11.2026 в 14:00", "2026-11-25T14:00", None),
        ("завтра вечером", "2026-11-21T17:00", "2026-11-21T18:00"),
        ("после обеда", "2026-11-20T13:00", "2026-11-20T18:00"),
        ("в понедельник утром", "2026-11-23T10:00", "2026-11-23T12:00"),
        ("после 6", "2026-11-20T18:00", "2026-11-20T21:00"),
    ],
)
def test_times_in_the_tenants_zone_and_hours(text, start, end):
    slot = parse_time(text, NOW, HOURS)
    assert slot is not None
    assert slot.start == datetime.fromisoformat(start).replace(tzinfo=TZ)
    assert slot.end == (datetime.fromisoformat(end).replace(tzinfo=TZ) if end else None)


def test_no_time_named():
    assert parse_time("хочу маникюр", NOW, HOURS) is None


def test_the_issue_example_message():
    found = RuleQualifier(ServiceMatcher(CATALOG), HOURS).extract(
        "маникюрчик бы завтра после обеда, 8 913 123 45 67, Аня", NOW
    )
    assert found.service_ids == ("manicure",)
    assert found.phone == "+79131234567"
    assert found.name == "Аня"
    assert found.time_start == datetime(2026, 11, 21, 13, 0, tzinfo=TZ)
    assert found.time_end == datetime(2026, 11, 21, 18, 0, tzinfo=TZ)  # Saturday closes at 18
    assert found.intent == "booking" and found.missing() == []


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("сколько стоит маникюр?", "price"),
        ("хочу отменить запись", "cancel"),
        ("можно перенести на завтра?", "reschedule"),
        ("не получится прийти завтра, перенесите на пятницу", "reschedule"),
        ("сколько у вас стоит разовое посещение?", "price"),
        ("а покрытие держится сколько?", "other"),
        ("во сколько можно прийти?", "booking"),
        ("привет", "other"),
        ("позовите администратора", "human"),
        ("можно с живым человеком поговорить?", "human"),
        ("соедините с менеджером пожалуйста", "human"),
    ],
)
def test_intent(text, intent):
    assert RuleQualifier(ServiceMatcher(CATALOG), HOURS).extract(text, NOW).intent == intent


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("а парковка у вас есть?", True),
        ("где вы находитесь", True),
        ("можно ли оплатить картой", True),
        ("ноготь сломался, поправите бесплатно?", True),
        ("вы тут?", False),  # a bare question: the bot's next message answers it
        ("ок?", False),
        ("хочу на маникюр", False),
        ("спасибо большое", False),
    ],
)
def test_an_open_question_is_one_the_client_asks_in_their_own_words(text, asks):
    from qualifier.intent import open_question

    assert open_question(text) is asks


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("перенесите с четверга на пятницу", "2026-11-27T10:00", "2026-11-27T21:00"),  # a change: the last day named
        ("записана на 15:00, можно перенести на 17:00?", "2026-11-20T17:00", None),
        ("я опаздываю минут на 10", None, None),  # a delay, not 10 o'clock
        ("абонемент на 3 месяца", None, None),
        ("на выходных", "2026-11-21T10:00", "2026-11-21T18:00"),  # Sunday is closed: Saturday only
        ("в пятницу после 7 вечера", "2026-11-27T19:00", "2026-11-27T21:00"),
        ("в субботу 28.11 к 10", "2026-11-28T10:00", None),  # a written date beats the weekday
        ("у меня был маникюр 10.11", None, None),  # a day gone by, not next November
        ("в 5:30 утра", "2026-11-21T05:30", None),
        ("на 25.11 с утра", "2026-11-25T10:00", "2026-11-25T12:00"),
        ("в районе 14-15 часов", "2026-11-20T14:00", "2026-11-20T15:00"),
        ("звоните после 18:00", None, None),
        ("во второй половине дня", "2026-11-20T13:00", "2026-11-20T21:00"),
        ("завтра с 12 до 14", "2026-11-21T12:00", "2026-11-21T14:00"),
        ("в полчетвертого", "2026-11-20T15:30", None),
        ("в 17-30", "2026-11-20T17:30", None),
        ("30/11 в 10:30", "2026-11-30T10:30", None),
        ("в среду после работы", "2026-11-25T18:00", "2026-11-25T21:00"),
        ("ближе к вечеру", "2026-11-20T16:00", "2026-11-20T21:00"),
    ],
)
def test_times_in_harder_writing(text, start, end):
    slot = parse_time(text, NOW, HOURS)
    if start is None:
        assert slot is None
        return
    assert slot is not None
    assert (slot.start, slot.end) == (
        datetime.fromisoformat(start).replace(tzinfo=TZ),
        datetime.fromisoformat(end).replace(tzinfo=TZ) if end else None,
    )


def test_a_longer_match_of_another_service_swallows_the_shorter():
    catalog = [
        Service("haircut_men", "Мужская стрижка", ("стрижка",)),
        Service("kids", "Детская стрижка", ("сына",)),
        Service("camo", "Камуфляж седины"),
    ]
    matcher = ServiceMatcher(catalog)
    assert [s.id for s in matcher.find("детскую стрижку на субботу")] == ["kids"]
    assert sorted(s.id for s in matcher.find("стрижка + камуфляж седины")) == ["camo", "haircut_men"]
