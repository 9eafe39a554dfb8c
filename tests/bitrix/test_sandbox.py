import httpx
import pytest

from bitrix.client import BitrixClient
from bitrix.errors import BitrixRequestError, QueryLimitExceeded
from bitrix.sandbox import Sandbox

URL = "http://sandbox/rest/1/sandbox/"


def client_for(sandbox: Sandbox, **kwargs) -> BitrixClient:
    return BitrixClient(URL, httpx.AsyncClient(transport=httpx.ASGITransport(sandbox.app)), **kwargs)


async def test_batch_chains_contact_deal_and_comment_with_result_references():
    sandbox = Sandbox()
    client = client_for(sandbox)
    result = await client.batch(
        {
            "contact": ("crm.contact.add", {"fields": {"NAME": "Анна", "PHONE": [{"VALUE": "+79131234567"}]}}),
            "deal": ("crm.deal.add", {"fields": {"TITLE": "Маникюр", "CONTACT_IDS": ["$result[contact]"]}}),
            "note": (
                "crm.timeline.comment.add",
                {"fields": {"ENTITY_ID": "$result[deal]", "ENTITY_TYPE": "deal", "COMMENT": "hello"}},
            ),
            "bad": ("crm.timeline.comment.add", {"fields": {"ENTITY_ID": 999, "ENTITY_TYPE": "deal", "COMMENT": "x"}}),
        }
    )
    deal = sandbox.state.deals[result.results["deal"]]
    assert deal["CONTACT_IDS"] == [result.results["contact"]]
    assert [c["COMMENT"] for c in sandbox.state.comments.values()] == ["hello"]
    assert result.errors["bad"].code == "OWNER_NOT_FOUND"


async def test_duplicate_search_matches_any_phone_format_and_multifields_update():
    sandbox = Sandbox()
    client = client_for(sandbox)
    cid = (await client.call("crm.contact.add", {"fields": {"PHONE": [{"VALUE": "8 (913) 123-45-67"}]}})).result
    found = (await client.call("crm.duplicate.findbycomm", {"type": "PHONE", "values": ["+79131234567"]})).result
    assert found == {"CONTACT": [cid]}
    nothing = (await client.call("crm.duplicate.findbycomm", {"type": "PHONE", "values": ["+79990000000"]})).result
    assert nothing == []
    await client.call(
        "crm.contact.update", {"id": cid, "fields": {"IM": [{"VALUE": "telegram:1", "VALUE_TYPE": "TELEGRAM"}]}}
    )
    rows = (await client.call("crm.contact.list", {"filter": {"IM": "telegram:1"}})).result
    assert [r["ID"] for r in rows] == [str(cid)]


async def test_empty_code_error_and_rate_limit_as_documented():
    sandbox = Sandbox(burst=2, per_second=0.01)
    client = client_for(sandbox, limit_retries=0)
    with pytest.raises(BitrixRequestError) as info:
        await client.call("crm.deal.add", {"fields": "x"})
    assert info.value.code == "" and info.value.status == 400
    await client.call("crm.settings.mode.get")
    with pytest.raises(QueryLimitExceeded):
        await client.call("crm.settings.mode.get")
    assert sandbox.state.rejected == 1
