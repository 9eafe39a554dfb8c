"""Who the limits count: the client's address (X-Forwarded-For only from a trusted proxy), the owner's
password guesses refused per address after ten, and spend or periods no report could add up."""

from __future__ import annotations

import base64
from typing import Any

from tests.conftest import gateway

PASSWORD = "owner-pass-1"
PROXY_HEADERS = {"X-Forwarded-For": "203.0.113.7"}


def basic(password: str, **headers: str) -> dict[str, str]:
    token = base64.b64encode(f"salon:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", **headers}


def owner_config(make_config: Any, portal: Any, telegram: Any, **app: Any) -> Any:
    config = make_config(
        portal.url,
        telegram.base,
        dashboard={"password": PASSWORD},
        forms={"require_consent": False, "per_minute": 2},
    )
    return config.model_copy(update=app)


async def test_forwarded_for_from_an_untrusted_peer_does_not_choose_the_form_limits_address(
    make_config, portal, telegram
):
    async with gateway(owner_config(make_config, portal, telegram)) as (client, _):
        answers = [
            await client.post(
                "/forms/salon", json={"phone": f"+7913000000{n}"}, headers={"X-Forwarded-For": f"198.51.100.{n}"}
            )
            for n in range(3)
        ]
    assert [a.status_code for a in answers] == [200, 200, 429]  # one address: the loopback peer's


async def test_a_trusted_proxy_names_the_client_and_each_client_has_its_own_form_limit(
    make_config, portal, telegram, store_url
):
    from ipaddress import ip_network

    config = owner_config(make_config, portal, telegram, trusted_proxies=[ip_network("127.0.0.1/32")])
    async with gateway(config) as (client, _):
        answers = [
            await client.post(
                "/forms/salon",
                json={"phone": f"+7913000000{n}"},
                # what a client wrote itself stands left of what the proxy appended
                headers={"X-Forwarded-For": f"10.9.9.9, 198.51.100.{n}"},
            )
            for n in range(3)
        ]
    assert [a.status_code for a in answers] == [200, 200, 200]


async def test_ten_wrong_passwords_refuse_that_address_only_and_are_counted(make_config, portal, telegram, store_url):
    from ipaddress import ip_network

    config = owner_config(make_config, portal, telegram, trusted_proxies=[ip_network("127.0.0.1/32")])
    async with gateway(config, store_url=store_url) as (client, _):
        unasked = await client.get("/api/salon/analytics")  # no password given: a browser's first request
        wrong = [
            (await client.get("/api/salon/analytics", headers=basic(f"guess{n}", **PROXY_HEADERS))).status_code
            for n in range(10)
        ]
        refused = await client.get("/api/salon/analytics", headers=basic(PASSWORD, **PROXY_HEADERS))
        elsewhere = await client.get("/api/salon/analytics", headers=basic(PASSWORD))  # the owner's own address
        metrics = (await client.get("/metrics")).text
    assert unasked.status_code == 401 and wrong == [401] * 10
    assert refused.status_code == 429 and refused.json()["error"] == "too_many_attempts"
    assert 0 < int(refused.headers["Retry-After"]) <= 900
    assert elsewhere.status_code == 200
    assert 'lead_gateway_owner_login_failures_total{outcome="wrong",tenant="salon"} 10.0' in metrics
    assert 'lead_gateway_owner_login_failures_total{outcome="refused",tenant="salon"} 1.0' in metrics


async def test_spend_no_report_could_add_up_and_periods_out_of_range_are_400(make_config, portal, telegram, store_url):
    async with gateway(owner_config(make_config, portal, telegram), store_url=store_url) as (client, _):
        owner = basic(PASSWORD, **{"Content-Type": "application/json"})
        spends = [
            b'[{"date": "2026-11-05", "amount": 1e999}]',
            b'[{"date": "2026-11-05", "amount": "inf"}]',
            b'[{"date": "2026-11-05", "amount": Infinity}]',
            b'[{"date": "2026-11-05", "amount": NaN}]',
            b'[{"date": "0001-01-01", "amount": 10}]',
            b'[{"date": "9999-12-31", "amount": 10}]',
        ]
        refused = [(await client.put("/api/salon/spend", content=body, headers=owner)).status_code for body in spends]
        periods = [
            {"from": "0001-01-01", "to": "0001-01-02"},
            {"from": "9999-12-30", "to": "9999-12-31"},
        ]
        answers = [await client.get("/api/salon/analytics", params=p, headers=basic(PASSWORD)) for p in periods]
        still = await client.get("/api/salon/analytics", headers=basic(PASSWORD))
    assert refused == [400] * len(spends)
    assert [a.status_code for a in answers] == [400, 400] and all(a.json()["error"] == "bad_request" for a in answers)
    assert still.status_code == 200 and still.json()["total"]["spend"] == 0
