"""Website forms end to end: Tilda's urlencoded webhook and plain JSON -> the queue -> a deal with the
contact, the form's fields on its timeline and the page's UTM tags; test ping, dedupe by tranid, the 400s,
the honeypot and the per-address limit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from tests.conftest import ROOT, gateway, wait_for

TILDA = (ROOT / "tests/fixtures/channels/forms_01_tilda_lead.txt").read_text(encoding="utf-8")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def forms_config(make_config: Any, portal: Any, telegram: Any, **forms: Any) -> Any:
    return make_config(portal.url, telegram.base, forms={"require_consent": True, **forms})


async def test_a_tilda_form_becomes_one_deal_with_its_fields_and_utm(make_config, portal, telegram):
    async with gateway(forms_config(make_config, portal, telegram)) as (client, _):
        ping = await client.post("/forms/salon", content="test=test", headers=FORM)
        assert ping.status_code == 200 and ping.json()["status"] == "test" and not portal.state.deals
        first = await client.post("/forms/salon", content=TILDA, headers=FORM)
        again = await client.post("/forms/salon", content=TILDA, headers=FORM)  # Tilda re-sends: one lead
        assert (first.json()["status"], again.json()["status"]) == ("queued", "duplicate")
        await wait_for(lambda: bool(portal.state.deals) and bool(portal.state.comments))
        (deal,) = portal.state.deals.values()
        (contact,) = portal.state.contacts.values()
        assert (deal["UTM_SOURCE"], deal["UTM_MEDIUM"], deal["UTM_CAMPAIGN"]) == ("yandex", "cpc", "manicure_nov")
        assert deal["SOURCE_ID"] == "WEB" and deal["TITLE"].startswith("Маникюр")  # the qualifier read the form
        assert contact["NAME"] == "Анна" and contact["PHONE"][0]["VALUE"] == "+79131234567"
        comment = next(iter(portal.state.comments.values()))["COMMENT"]
        assert "Заявка с сайта (форма form411238764)" in comment and "Маникюр в субботу утром" in comment
        assert not telegram.sent  # a form has no chat: nothing is sent anywhere


async def test_json_forms_and_every_refusal_say_why(make_config, portal, telegram):
    config = forms_config(make_config, portal, telegram, per_minute=6)
    async with gateway(config) as (client, _):
        lead = {"name": "Олег", "phone": "8 913 765-43-21", "consent": True, "comment": "стрижка", "tranid": "j1"}
        assert (await client.post("/forms/salon", json=lead)).json()["status"] == "queued"
        no_phone = await client.post("/forms/salon", json={"name": "Олег", "consent": "yes"})
        assert no_phone.status_code == 400 and no_phone.json()["error"] == "phone_required"
        unticked = await client.post("/forms/salon", content=urlencode({"Phone": "+79130000000"}), headers=FORM)
        assert unticked.status_code == 400 and unticked.json()["error"] == "consent_required"
        bot = await client.post("/forms/salon", json={**lead, "tranid": "j2", "website": "http://spam.example"})
        assert bot.status_code == 200 and bot.json()["status"] == "ignored"
        assert (
            await client.post("/forms/salon", content=b"[1, 2]", headers={"Content-Type": "application/json"})
        ).status_code == 400
        limited = await client.post("/forms/salon", json={**lead, "tranid": "j3"})  # the 6th this minute
        assert limited.status_code == 200
        refused = await client.post("/forms/salon", json={**lead, "tranid": "j4"})
        assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
        assert (await client.post("/forms/spa", json=lead)).status_code == 404
        await wait_for(lambda: len(portal.state.deals) == 1)  # j1 and j3 are the same person: one conversation


async def test_a_tenant_without_forms_takes_none(make_config, portal, telegram):
    async with gateway(make_config(portal.url, telegram.base)) as (client, _):
        response = await client.post("/forms/salon", json={"phone": "+79130000000"})
        assert response.status_code == 404 and response.json()["error"] == "channel_not_configured"


async def test_a_form_from_a_client_with_a_booked_visit_never_changes_it(make_config, portal, telegram, store_url):
    from tests.conftest import wait_for_async
    from tests.e2e.test_appointments import CHAT, HEADERS, lifecycle_config, press, sent, visit_day
    from tests.e2e.test_appointments import book as book_in_telegram
    from tests.e2e.test_bring_back import visit_of
    from tests.e2e.test_form_reach import QUESTION, answers

    config = lifecycle_config(make_config, portal, telegram, forms={"require_consent": False})
    async with gateway(config, store_url=store_url) as (client, runtime):
        await book_in_telegram(client, telegram, visit_day())  # the client is known: a visit with this phone
        first = await wait_for_async(lambda: visit_of(runtime, CHAT))
        form = {
            "Name": "Анна",
            "Phone": "+7 913 123-45-67",
            "Textarea": "Мужская стрижка",
            "tranid": "t9",
            "formid": "f1",
        }
        assert (await client.post("/forms/salon", content=urlencode(form), headers=FORM)).json()["status"] == "queued"
        await wait_for(lambda: any(QUESTION in m["text"] for m in sent(telegram)))
        yes, _ = answers(next(m for m in sent(telegram) if QUESTION in m["text"]))
        await client.post("/webhooks/salon/telegram", json=press(90, yes), headers=HEADERS)
        await wait_for(lambda: sent(telegram)[-1]["text"].startswith("У вас уже есть запись"))
        assert not any("Выберите удобное время" in m["text"] for m in sent(telegram))
        # a form's slot button, crafted or from before the visit was booked, does not move it either
        start = first.start_at.astimezone(runtime.tenants["salon"].config.tz) + timedelta(hours=2)
        crafted = f"b:{start:%Y-%m-%dT%H:%M}|shaircut_men"
        await client.post("/webhooks/salon/telegram", json=press(91, crafted), headers=HEADERS)
        await wait_for(lambda: len([m for m in sent(telegram) if m["text"].startswith("У вас уже есть запись")]) == 2)
        kept = await wait_for_async(lambda: visit_of(runtime, CHAT))
        assert (kept.id, kept.start_at, kept.services) == (first.id, first.start_at, first.services)
        await wait_for(lambda: any("уже есть запись" in c["COMMENT"] for c in portal.state.comments.values()))


async def test_phones_as_typed_reach_the_deal_and_only_valid_ones_the_contact(make_config, portal, telegram, caplog):
    """Issue 25 (form data lost) and 26 #14: an international number is kept in E.164; one valid nowhere,
    an extension or a second number is on the timeline as typed, flagged for a manager, and the digits of
    one that cannot be read stay out of the logs."""
    import logging

    caplog.set_level(logging.INFO)
    async with gateway(forms_config(make_config, portal, telegram)) as (client, _):
        forms = [
            {"name": {"first": "John", "last": "Smith"}, "phone": "+1 650 253 0000", "consent": "on", "tranid": "i1"},
            {"Name": "Tilda test", "Phone": "+11111111", "Checkbox": "yes", "tranid": "i2"},
            {"Name": "Вера", "Phone": "8 913 765-43-21 доб. 7, 8 383 211 22 33", "consent": "1", "tranid": "i3"},
            {"Name": "Опечатка", "Phone": "8 913 987-65-4", "consent": "yes", "tranid": "i4"},
        ]
        for body in forms:
            assert (await client.post("/forms/salon", json=body)).json()["status"] == "queued"
        await wait_for(lambda: len(portal.state.deals) == 4 and len(portal.state.comments) >= 4)
        contacts = {c["NAME"]: [p["VALUE"] for p in c.get("PHONE", [])] for c in portal.state.contacts.values()}
        comments = "\n".join(c["COMMENT"] for c in portal.state.comments.values())
    assert contacts["John Smith"] == ["+16502530000"]
    assert contacts["Tilda test"] == [] and contacts["Опечатка"] == []
    assert contacts["Вера"] == ["+79137654321"]
    assert "Телефон (не распознан, проверьте и позвоните): +11111111" in comments
    assert "Телефон (не распознан, проверьте и позвоните): 8 913 987-65-4" in comments
    assert "Телефон: +79137654321, доб. 7" in comments and "Ещё телефон: +73832112233" in comments
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "89139876" not in logged and "9139876" not in logged


async def test_builders_shapes_and_a_mixed_case_json_type_become_leads(make_config, portal, telegram):
    elementor = (ROOT / "tests/fixtures/channels/forms_02_elementor_advanced.txt").read_text(encoding="utf-8")
    wpforms = (ROOT / "tests/fixtures/channels/forms_03_wpforms_entry.json").read_bytes()
    async with gateway(make_config(portal.url, telegram.base, forms={"require_consent": False})) as (client, _):
        assert (await client.post("/forms/salon", content=elementor, headers=FORM)).json()["status"] == "queued"
        mixed = {"Content-Type": "Application/JSON; charset=UTF-8"}
        assert (await client.post("/forms/salon", content=wpforms, headers=mixed)).json()["status"] == "queued"
        await wait_for(lambda: len(portal.state.contacts) == 2 and len(portal.state.deals) == 2)
        names = {c["NAME"]: c["PHONE"][0]["VALUE"] for c in portal.state.contacts.values()}
        utm = {d.get("UTM_SOURCE") for d in portal.state.deals.values()}
    assert names == {"Мария": "+79132223344", "Ольга Смирнова": "+79134445566"}
    assert "vk" in utm  # read from Elementor's page address
