import time

import httpx
import pytest
import respx

from bitrix.client import BitrixClient
from bitrix.errors import BitrixAuthError, BitrixRequestError, BitrixRetryable, OperationTimeLimit
from bitrix.limiter import LeakyBucket
from bitrix.querystring import build_query, parse_query
from tests.conftest import fixture_json

BASE = "https://portal.example/rest/1/abc/"


@pytest.fixture
async def client():
    async with httpx.AsyncClient() as http:
        yield BitrixClient(BASE, http, limit_retries=2)


@respx.mock
async def test_result_and_time_are_read(client):
    respx.post(BASE + "crm.deal.add").mock(
        return_value=httpx.Response(200, json=fixture_json("bitrix/03_crm.deal.add.response.jsonc"))
    )
    result = await client.call("crm.deal.add", {"fields": {"TITLE": "x"}})
    assert result.result == 394 and client.operating["crm.deal.add"] == 0


@respx.mock
async def test_empty_error_code_with_400_is_an_error(client):
    respx.post(BASE + "crm.deal.add").mock(
        return_value=httpx.Response(400, json=fixture_json("bitrix/04_crm.deal.add.error_400_empty_code.jsonc"))
    )
    with pytest.raises(BitrixRequestError) as info:
        await client.call("crm.deal.add", {"fields": "oops"})
    assert info.value.code == "" and "must be array" in info.value.description


@respx.mock
async def test_query_limit_is_retried_then_succeeds(client, monkeypatch):
    route = respx.post(BASE + "crm.contact.add").mock(
        side_effect=[
            httpx.Response(503, json=fixture_json("bitrix/12a_error.QUERY_LIMIT_EXCEEDED.jsonc")),
            httpx.Response(200, json={"result": 7, "time": {}}),
        ]
    )
    monkeypatch.setattr("bitrix.client.asyncio.sleep", _no_sleep)
    assert (await client.call("crm.contact.add", {"fields": {}})).result == 7
    assert route.call_count == 2


async def _no_sleep(seconds: float) -> None:
    return None


@respx.mock
async def test_operation_time_limit_pauses_the_method_only(client):
    reset = int(time.time()) + 300
    route = respx.post(BASE + "crm.deal.list").mock(
        return_value=httpx.Response(
            429,
            json={
                "error": "OPERATION_TIME_LIMIT",
                "error_description": "Method is blocked",
                "time": {"operating_reset_at": reset},
            },
        )
    )
    respx.post(BASE + "crm.contact.list").mock(return_value=httpx.Response(200, json={"result": []}))
    with pytest.raises(OperationTimeLimit) as info:
        await client.call("crm.deal.list")
    assert info.value.reset_at == reset
    with pytest.raises(OperationTimeLimit):
        await client.call("crm.deal.list")  # refused locally, no second request
    assert route.call_count == 1
    assert (await client.call("crm.contact.list")).result == []


@respx.mock
@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (502, "<html>Bad gateway</html>", BitrixRetryable),
        (401, '{"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"}', BitrixAuthError),
        (403, '{"error": "insufficient_scope", "error_description": ""}', BitrixAuthError),
        (500, '{"error": "INTERNAL_SERVER_ERROR", "error_description": "x"}', BitrixRetryable),
    ],
)
async def test_errors_are_classified(client, status, body, error):
    respx.post(BASE + "crm.deal.get").mock(return_value=httpx.Response(status, text=body))
    with pytest.raises(error):
        await client.call("crm.deal.get", {"id": 1})


@respx.mock
async def test_timeout_is_retryable(client):
    respx.post(BASE + "crm.deal.add").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(BitrixRetryable) as info:
        await client.call("crm.deal.add", {"fields": {}})
    assert info.value.code == "TIMEOUT"


@respx.mock
async def test_batch_errors_inside_a_200_are_returned_per_command(client):
    respx.post(BASE + "batch").mock(
        return_value=httpx.Response(200, json=fixture_json("bitrix/06c_batch.error_halt0.response.jsonc"))
    )
    result = await client.batch({"get_user": ("user.current", {}), "get_department": ("department.get", {"ID": 1})})
    assert set(result.errors) == {"get_user", "get_department"}
    assert all(isinstance(e, BitrixAuthError) for e in result.errors.values())


def test_query_strings_round_trip_in_php_bracket_syntax():
    params = {
        "fields": {
            "TITLE": "Маникюр & педикюр",
            "CONTACT_IDS": [5, 7],
            "PHONE": [{"VALUE": "+79131234567", "VALUE_TYPE": "MOBILE"}],
        }
    }
    query = build_query(params)
    assert "fields[PHONE][0][VALUE]=%2B79131234567" in query
    assert parse_query(query) == {
        "fields": {
            "TITLE": "Маникюр & педикюр",
            "CONTACT_IDS": {"0": "5", "1": "7"},
            "PHONE": {"0": {"VALUE": "+79131234567", "VALUE_TYPE": "MOBILE"}},
        }
    }
    assert build_query({"fields": {"CONTACT_IDS": ["$result[c]"]}}) == "fields[CONTACT_IDS][0]=$result[c]"


async def test_bucket_in_redis_admits_the_burst_then_paces(redis):
    a = LeakyBucket(redis, "lg:test:bucket", burst=7, per_second=2)  # 2 kept as headroom: 5 go at once
    b = LeakyBucket(redis, "lg:test:bucket", burst=7, per_second=2)  # another replica, same portal
    admitted = [await (a if i % 2 else b).try_acquire() for i in range(5)]
    assert admitted == [0.0] * 5
    wait = await a.try_acquire()
    assert 0.3 < wait <= 0.5  # one slot drains in 1/2 s
