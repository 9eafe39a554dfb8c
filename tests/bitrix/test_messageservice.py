"""The message provider's handler call, read as Bitrix24 sends it (the documents' example, form-encoded
as it arrives, and a workflow's document id)."""

from __future__ import annotations

from bitrix.messageservice import OwnerType, ProviderMessage, provider_message
from bitrix.querystring import build_query, parse_query
from tests.conftest import fixture_json

DOCUMENTED = "bitrix/16_messageservice.handler.crm.jsonc"


def test_the_documented_call_from_a_contact_card_is_read_as_json_and_as_the_form_it_arrives_as():
    expected = ProviderMessage(
        message_id="65575980fa531ac284c2ee68f81ebebd",
        code="provider1",
        to="+19990000000",
        text="Your confirmation code: 1234",
        module="crm",
        bindings=((OwnerType.CONTACT, 123),),
    )
    body = fixture_json(DOCUMENTED)
    assert provider_message(body) == expected
    assert provider_message(parse_query(build_query(body))) == expected


def test_a_workflows_document_is_its_binding_and_the_properties_stand_in_for_missing_fields():
    body = {
        "module_id": "bizproc",
        "document_id": ["crm", "CCrmDocumentDeal", "DEAL_57"],
        "properties": {"phone_number": "+79131234567", "message_text": "Ждём вас"},
        "message_id": "abc",
    }
    found = provider_message(body)
    assert found is not None and found.bindings == ((OwnerType.DEAL, 57),)
    assert (found.to, found.text) == ("+79131234567", "Ждём вас")


def test_a_call_without_its_id_number_or_text_is_not_a_message():
    body = fixture_json(DOCUMENTED)
    for missing in ("message_id", "message_to", "message_body"):
        stripped = {k: v for k, v in body.items() if k != missing and k != "properties"}
        assert provider_message(stripped) is None, missing
    assert provider_message({**body, "message_id": "x" * 129}) is None
    odd = {**body, "bindings": [{"OWNER_TYPE_ID": "²", "OWNER_ID": 1}], "document_id": ["crm", "x", "DEAL_1²"]}
    assert provider_message(odd) is not None and provider_message(odd).bindings == ()  # type: ignore[union-attr]
