"""Form builders' payloads, as their documents describe them (tests/fixtures/channels/forms_*), read into
the lead's name, phone, consent, UTM and details; and the phone field as people fill it."""

from __future__ import annotations

import json

from adapters.forms.inbound import flatten, read
from adapters.forms.links import MAX_LINKS, links_in
from bitrix.querystring import parse_query
from qualifier.phone import read_phone_field
from tests.conftest import ROOT

FIXTURES = ROOT / "tests/fixtures/channels"


def fixture(name: str) -> dict[str, str]:
    raw = (FIXTURES / name).read_text(encoding="utf-8")
    return flatten(json.loads(raw) if name.endswith(".json") else parse_query(raw))


def test_elementor_with_advanced_data_reads_fields_by_title_and_utm_from_the_page():
    submission = read(fixture("forms_02_elementor_advanced.txt"))
    assert submission is not None
    assert (submission.name, submission.phone, submission.form_id) == ("Мария", "+7 (913) 222-33-44", "3f2a1c9")
    assert ("Комментарий", "Педикюр в пятницу вечером") in submission.details
    assert submission.utm == {"utm_source": "vk", "utm_medium": "cpc", "utm_campaign": "pedicure_dec"}
    assert not any("203.0.113.7" in value for _, value in submission.details)  # the builder's, not the client's


def test_wpforms_entry_reads_the_name_parts_phone_and_ticked_box():
    submission = read(fixture("forms_03_wpforms_entry.json"))
    assert submission is not None
    assert (submission.name, submission.phone, submission.email) == (
        "Ольга Смирнова",
        "+7 913 444-55-66",
        "olga@example.ru",
    )
    assert ("Услуга", "Маникюр") in submission.details and submission.form_id == "118"
    assert submission.consent  # the box posts its label when ticked


def test_contact_form_7_tag_names_are_read_as_their_fields():
    submission = read(fixture("forms_04_cf7_to_webhook.json"))
    assert submission is not None
    assert (submission.name, submission.email) == ("Ирина", "irina@example.ru")
    assert submission.phone == "8 (913) 555 66 77 доб. 12" and submission.consent
    assert ("checkbox-512", "Окрашивание, Укладка") in submission.details
    assert ("your-message", "Хочу окрашивание в субботу") in submission.details


def test_a_nested_name_and_first_and_last_name_fields_make_a_name_not_json():
    nested = read(fixture("forms_05_nested_name.json"))
    assert nested is not None and nested.name == "John Smith"
    apart = read(flatten({"first_name": "Анна", "last_name": "Петрова", "phone": "89131234567"}))
    assert apart is not None and apart.name == "Анна Петрова"


def test_consent_needs_every_box_ticked_and_a_phone_makes_a_test_field_a_lead():
    one_unticked = read(flatten({"phone": "89131234567", "consent": "yes", "agreement": "no"}))
    assert one_unticked is not None and not one_unticked.consent
    lead = read(parse_query("test=test&Phone=%2B79131234567"))
    assert lead is not None and not lead.is_test and lead.phone == "+79131234567"
    ping = read(parse_query("test=test"))
    assert ping is not None and ping.is_test


def test_a_phone_field_as_people_fill_it():
    cases = {
        "+7 913 123-45-67 доб. 12": ("+79131234567", (), "12"),
        "8 913 123 45 67, 8 383 211 22 33": ("+79131234567", ("+73832112233",), None),
        "89131234567 или 89137654321": ("+79131234567", ("+79137654321",), None),
        "+1 650 253 0000": ("+16502530000", (), None),  # valid for its country: kept in E.164
        "0044 20 7946 0000": ("+442079460000", (), None),
        "+11111111": (None, (), None),  # Tilda's test number: valid nowhere
        "1234567": (None, (), None),  # seven digits are not a phone
        "8 913 123-45-6": (None, (), None),  # a digit short
    }
    for typed, (phone, others, extension) in cases.items():
        read_back = read_phone_field(typed)
        assert (read_back.phone, read_back.others, read_back.extension) == (phone, others, extension), typed
        assert read_back.typed == typed


def test_a_form_names_at_most_a_few_messenger_addresses():
    flood = {"Comment": " ".join(f"https://vk.com/person{n}" for n in range(5000))}
    assert len(links_in(flood)) == MAX_LINKS
