"""POST /bitrix/{tenant}/events: Bitrix24's outbound webhook, and a deal deleted in the portal."""

from __future__ import annotations

from urllib.parse import urlencode

from tests.conftest import SECRET, gateway, wait_for
from tests.e2e.test_telegram import update

TOKEN = "jvh9y1ulvt2m6k5or90v9mg8nn32ozas"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TG = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def event(name: str, entity: int, token: str | None = TOKEN, ts: str = "1766047124") -> str:
    fields = {"event": name, "event_handler_id": "975", "data[FIELDS][ID]": str(entity), "ts": ts}
    fields |= {"auth[domain]": "some-domain.bitrix24.com", "auth[member_id]": "d897063e1ce7c5eb9f04b9751eef5915"}
    if token is not None:
        fields["auth[application_token]"] = token
    return urlencode(fields)


def configured(make_config, portal, telegram):
    return make_config(portal.url, telegram.base, bitrix={"webhook_url": portal.url, "application_token": TOKEN})


async def test_the_token_is_checked_and_bad_events_refused(make_config, portal, telegram):
    async with gateway(configured(make_config, portal, telegram)) as (client, _runtime):
        post = lambda body, tenant="salon": client.post(f"/bitrix/{tenant}/events", content=body, headers=FORM)  # noqa: E731
        cases = [
            (await post(event("ONCRMDEALDELETE", 5, token=None)), 401, "missing_token"),
            (await post(event("ONCRMDEALDELETE", 5, token="wrong")), 403, "bad_token"),
            (await post(event("ONCRMDEALDELETE", 5), tenant="other"), 404, "unknown_tenant"),
            (await post(event("ONCRMDEALDELETE", 0).replace("ID%5D=0", "ID%5D=x")), 400, "malformed_body"),
        ]
        for response, status, code in cases:
            assert (response.status_code, response.json()["error"]) == (status, code)
        ignored = await post(event("ONCRMDEALADD", 7405))
        assert ignored.json() == {"ok": True, "status": "ignored", "reason": "ONCRMDEALADD not handled"}
        first, again = await post(event("ONCRMDEALDELETE", 99)), await post(event("ONCRMDEALDELETE", 99))
        assert (first.json()["status"], again.json()["status"]) == ("queued", "duplicate")
    unconfigured = make_config(portal.url, telegram.base)
    async with gateway(unconfigured) as (client, _runtime):
        response = await client.post("/bitrix/salon/events", content=event("ONCRMDEALDELETE", 5), headers=FORM)
    assert (response.status_code, response.json()["error"]) == (404, "channel_not_configured")


async def test_a_deal_deleted_in_the_portal_is_made_again_with_the_whole_conversation(make_config, portal, telegram):
    async with gateway(configured(make_config, portal, telegram)) as (client, _runtime):
        await client.post("/webhooks/salon/telegram", json=update(1, "хочу маникюр"), headers=TG)
        await wait_for(lambda: len(portal.state.deals) == 1 and len(portal.state.comments) == 1)
        (deal_id,) = portal.state.deals
        del portal.state.deals[deal_id]  # a manager deleted it; Bitrix24 tells us
        response = await client.post("/bitrix/salon/events", content=event("ONCRMDEALDELETE", deal_id), headers=FORM)
        assert response.json()["status"] == "queued"
        await client.post("/webhooks/salon/telegram", json=update(2, "завтра в 3"), headers=TG)
        await wait_for(lambda: len(portal.state.deals) == 1 and deal_id not in portal.state.deals)
        await wait_for(lambda: len([c for c in portal.state.comments.values() if c["ENTITY_ID"] != deal_id]) == 2)
    (new_deal,) = portal.state.deals.values()
    assert new_deal["ORIGIN_ID"].endswith(":telegram:5512345678")


async def test_a_deal_deleted_without_an_event_is_made_again_on_the_next_update(make_config, portal, telegram):
    async with gateway(make_config(portal.url, telegram.base)) as (client, _runtime):
        await client.post("/webhooks/salon/telegram", json=update(1, "хочу маникюр"), headers=TG)
        await wait_for(lambda: len(portal.state.deals) == 1 and len(portal.state.comments) == 1)
        (deal_id,) = portal.state.deals
        del portal.state.deals[deal_id]
        await client.post("/webhooks/salon/telegram", json=update(2, "завтра в 3, 8 913 123 45 67"), headers=TG)
        await wait_for(lambda: len(portal.state.deals) == 1 and deal_id not in portal.state.deals)
        await wait_for(lambda: len([c for c in portal.state.comments.values() if c["ENTITY_ID"] != deal_id]) == 2)
    (new_deal,) = portal.state.deals.values()
    assert "Телефон: +79131234567" in new_deal["COMMENTS"]


async def test_a_delete_event_for_a_deal_the_portal_still_has_is_not_trusted(make_config, portal, telegram):
    async with gateway(configured(make_config, portal, telegram)) as (client, _runtime):
        await client.post("/webhooks/salon/telegram", json=update(1, "хочу маникюр"), headers=TG)
        await wait_for(lambda: len(portal.state.deals) == 1 and len(portal.state.comments) == 1)
        (deal_id,) = portal.state.deals
        response = await client.post("/bitrix/salon/events", content=event("ONCRMDEALDELETE", deal_id), headers=FORM)
        assert response.json()["status"] == "queued"
        await wait_for(lambda: portal.state.calls.get("crm.deal.list", 0) >= 1)
        await client.post("/webhooks/salon/telegram", json=update(2, "завтра в 3"), headers=TG)
        await wait_for(lambda: len(portal.state.comments) == 2)
    assert list(portal.state.deals) == [deal_id]  # the same deal, not a second one
    assert all(c["ENTITY_ID"] == deal_id for c in portal.state.comments.values())
