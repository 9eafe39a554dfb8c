from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain import VisitStatus
from gateway.settings import ConfigError, parse_config
from gateway.usecases.visits.offer_plan import offers_on_status, upsell_before, upsell_offer

TZ = ZoneInfo("Europe/Moscow")
CATALOG = [
    {"id": "haircut", "name": "Стрижка", "return_after": "28d"},
    {"id": "mask", "name": "Маска для волос", "duration_min": 20},
    {"id": "manicure", "name": "Маникюр"},
]


def tenant(**lifecycle):
    settings = {"consent": {"policy_url": "https://s.example/p", "text_version": "1"}, **lifecycle}
    raw = {"catalog": CATALOG, "bitrix": {"visit_field": "UF_CRM_VISIT_AT"}, "lifecycle": settings}
    return parse_config({"tenants": {"s": raw}}, {}).tenants["s"]


def test_a_service_return_after_replaces_the_middle_retention_step():
    config = tenant(retention=["7d", "30d", "90d"], quiet_hours=None)
    now = datetime(2026, 12, 1, 12, 0, tzinfo=TZ)
    assert config.lifecycle is not None
    planned = offers_on_status(config, config.lifecycle, VisitStatus.VISITED, ("haircut",), now)
    assert planned == [
        ("retention:7d", now + timedelta(days=7)),
        ("retention:28d", now + timedelta(days=28)),
        ("retention:90d", now + timedelta(days=90)),
    ]
    other = offers_on_status(config, config.lifecycle, VisitStatus.VISITED, ("manicure",), now)
    assert [kind for kind, _ in other] == ["retention:7d", "retention:30d", "retention:90d"]


def test_an_offer_due_in_quiet_hours_waits_for_their_end():
    config = tenant(no_show={"discount_percent": 10}, quiet_hours="21:00-09:00")
    assert config.lifecycle is not None
    late = datetime(2026, 12, 1, 22, 30, tzinfo=TZ)
    planned = offers_on_status(config, config.lifecycle, VisitStatus.NO_SHOW, ("manicure",), late)
    assert planned == [("no_show", datetime(2026, 12, 2, 9, 0, tzinfo=TZ))]


def test_upsell_at_confirmation_and_before_the_visit_only_for_its_service_and_only_ahead():
    rule = {"service": "haircut", "offer": "mask", "at": ["confirmation", "48h", "2h"]}
    config = tenant(upsell=[rule], quiet_hours=None)
    assert config.lifecycle is not None
    now = datetime(2026, 12, 1, 12, 0, tzinfo=TZ)
    confirmed = offers_on_status(config, config.lifecycle, VisitStatus.CONFIRMED, ("haircut",), now)
    assert confirmed == [("upsell:mask:confirmation", now)]
    assert offers_on_status(config, config.lifecycle, VisitStatus.CONFIRMED, ("manicure",), now) == []
    assert offers_on_status(config, config.lifecycle, VisitStatus.CONFIRMED, ("haircut", "mask"), now) == []
    start = now + timedelta(hours=30)  # 48h before it has passed; 2h before has not
    assert upsell_before(config.lifecycle, ("haircut",), start, now) == [("upsell:mask:2h", start - timedelta(hours=2))]
    assert upsell_offer("upsell:mask:2h") == "mask"


@pytest.mark.parametrize(
    ("lifecycle", "expected"),
    [
        ({"retention": ["30d"]}, "set lifecycle.consent"),
        ({"no_show": {"discount_percent": 10}}, "set lifecycle.consent"),
        ({"retention": ["a month"], "consent": {"policy_url": "https://x.example", "text_version": "1"}}, "duration"),
    ],
)
def test_offers_without_consent_or_with_bad_durations_are_refused_at_load(lifecycle, expected):
    raw = {"catalog": CATALOG, "bitrix": {"visit_field": "UF_CRM_VISIT_AT"}, "lifecycle": lifecycle}
    with pytest.raises(ConfigError) as info:
        parse_config({"tenants": {"s": raw}}, {})
    assert expected in "\n".join(info.value.problems)


def test_an_upsell_naming_no_catalog_service_is_refused_at_load():
    with pytest.raises(ConfigError) as info:
        tenant(upsell=[{"service": "haircut", "offer": "botox"}])
    assert "lifecycle.upsell[0].offer: 'botox' is not in the catalog" in "\n".join(info.value.problems)
