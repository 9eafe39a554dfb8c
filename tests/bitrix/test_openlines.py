"""Open Lines in Bitrix24's terms: a manager's message read from the form-encoded event, its markup made
plain for the client, a finished dialog, names the portal takes, and its per-element answer."""

from __future__ import annotations

from bitrix.openlines import dialog_finished, line_message, manager_messages, person_name, plain_text, sent_results
from bitrix.querystring import parse_query

# OnImConnectorMessageAdd as Bitrix24 posts it (form-encoded), from the documentation's example
EVENT = (
    "event=ONIMCONNECTORMESSAGEADD&event_handler_id=555"
    "&data%5BCONNECTOR%5D=lg_telegram&data%5BLINE%5D=107"
    "&data%5BMESSAGES%5D%5B0%5D%5Bim%5D%5Bchat_id%5D=1807"
    "&data%5BMESSAGES%5D%5B0%5D%5Bim%5D%5Bmessage_id%5D=86497"
    "&data%5BMESSAGES%5D%5B0%5D%5Bmessage%5D%5Buser_id%5D=27"
    "&data%5BMESSAGES%5D%5B0%5D%5Bmessage%5D%5Btext%5D=%5Bb%5DKlaus+Weber%3A%5B%2Fb%5D+%5Bbr%5DGuten+Tag%21"
    "&data%5BMESSAGES%5D%5B0%5D%5Bchat%5D%5Bid%5D=telegram%3A42"
    "&ts=1773759161&auth%5Bapplication_token%5D=831c76b092f9f135d9b6b36c3a720757"
)


def test_a_managers_message_is_read_from_the_form_encoded_event():
    form = parse_query(EVENT)
    (message,) = manager_messages(form["data"])
    assert (message.connector, message.line, message.chat) == ("lg_telegram", 107, "telegram:42")
    assert (message.im_chat_id, message.message_id, message.user_id) == (1807, 86497, 27)
    assert plain_text(message.text) == "Guten Tag!"


def test_an_element_without_its_ids_is_passed_over():
    im: dict[str, str] = {"chat_id": "5"}
    data = {"CONNECTOR": "lg_vk", "LINE": "1", "MESSAGES": {"0": {"im": im, "chat": {"id": "vk:1"}}}}
    assert manager_messages(data) == []
    im["message_id"] = "9e9"  # not a number
    assert manager_messages(data) == []
    im["message_id"] = "12"
    assert [m.message_id for m in manager_messages(data)] == [12]


def test_markup_becomes_what_a_client_should_read():
    assert plain_text("[b]Анна:[/b] [br]Добрый день! [i]Ждём[/i] вас") == "Добрый день! Ждём вас"
    assert plain_text("Адрес: [url=https://salon.example/map]карта[/url]") == "Адрес: карта (https://salon.example/map)"
    assert plain_text("[url]https://salon.example[/url]") == "https://salon.example"
    assert plain_text("Передаю [user=12]Ольге[/user][br][br]она ответит") == "Передаю Ольге\n\nона ответит"
    assert plain_text("5 &gt; 3 &amp; [color=#f00]скидка[/color]") == "5 > 3 & скидка"
    # a bold phrase that is not a signature stays as words
    assert plain_text("Запись на [b]завтра[/b]") == "Запись на завтра"


def test_a_finished_dialog_names_bitrix24s_chat():
    data = {
        "CONNECTOR": "lg_telegram",
        "LINE": "105",
        "DATA": [{"connector": {"connector_id": "lg_telegram", "line_id": 105, "chat_id": 8}, "chat": {"id": 8}}],
    }
    (finished,) = dialog_finished(data)
    assert (finished.connector, finished.line, finished.im_chat_id, finished.also) == ("lg_telegram", 105, 8, ())
    assert dialog_finished({"CONNECTOR": "x", "DATA": [{"connector": {}}]}) == []


def test_a_finished_dialog_keeps_both_chat_ids_the_documents_leave_unexplained():
    # `connector.chat_id` may be the connector's own chat (ours: "telegram:42") or another number
    data = {
        "CONNECTOR": "lg_telegram",
        "LINE": "1",
        "DATA": [
            {"connector": {"connector_id": "lg_telegram", "chat_id": "telegram:42"}, "chat": {"id": "12"}},
            {"connector": {"connector_id": "lg_telegram", "chat_id": 7}, "chat": {"id": 12}},
            {"connector": {"connector_id": "lg_telegram", "chat_id": "telegram:43"}},
        ],
    }
    first, second, third = dialog_finished(data)
    assert (first.im_chat_id, first.also, first.external) == (12, (), "telegram:42")
    assert (second.im_chat_id, second.also) == (12, (7,))
    assert (third.im_chat_id, third.external) == (0, "telegram:43")


def test_names_the_portal_would_refuse_are_cleaned():
    assert person_name("Анна-Мария") == "Анна-Мария"
    assert person_name("Anna 🌸 2000") == "Anna"
    assert person_name("d'Artagnan") == "d'Artagnan"
    assert person_name("12345") == "Клиент"
    assert len(person_name("Очень" * 20)) <= 25


def test_the_bots_message_is_posted_on_a_users_behalf_and_the_clients_as_the_client():
    bot = line_message(
        user_id="telegram:42", name="Анна", chat_id="telegram:42", message_id="r1", text="Ок", at=1.0, as_user=1
    )
    client = line_message(user_id="telegram:42", name="Анна", chat_id="telegram:42", message_id="m1", text="Да", at=1.0)
    assert bot["message"]["user_id"] == 1 and "user_id" not in client["message"]
    assert client["user"]["skip_phone_validate"] == "Y" and client["chat"] == {"id": "telegram:42"}
    assert client["message"]["disable_crm"] == "Y"  # the deal is the gateway's; no second lead from the line


def test_the_portals_answer_is_read_per_element():
    answer = {
        "SUCCESS": True,
        "DATA": {
            "RESULT": [
                {"SUCCESS": True, "session": {"ID": "323", "CHAT_ID": "1767"}},
                {"SUCCESS": False, "ERRORS": ["ERROR_ARGUMENT"]},
            ]
        },
    }
    first, second = sent_results(answer)
    assert first.ok and first.im_chat_id == 1767
    assert not second.ok and second.im_chat_id is None
