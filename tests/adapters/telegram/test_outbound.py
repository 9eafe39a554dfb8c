"""TelegramSender against a scripted Bot API on loopback: what it sends, and how each refusal is read."""

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from adapters.telegram.outbound import TelegramSender, make_bot
from domain import Choice, CredentialsRejected, Recipient, Reply, SendRejected, SendRetryable, Unreachable
from tests.conftest import LoopbackServer, fixture_json

CHAT = 5512345678


class ScriptedBotApi:
    """Records each call; answers with the next scripted (status, body), else a plain success."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.script: list[tuple[int, dict[str, Any]]] = []
        self.app = Starlette(routes=[Route("/bot{token}/{method}", self._method, methods=["POST"])])

    async def _method(self, request: Request) -> JSONResponse:
        form = await request.form()
        self.calls.append({"method": request.path_params["method"], **dict(form.items())})
        if self.script:
            status, body = self.script.pop(0)
            return JSONResponse(body, status_code=status)
        if request.path_params["method"] == "sendMessage":
            message = {"message_id": 1, "date": int(time.time()), "chat": {"id": CHAT, "type": "private"}}
            return JSONResponse({"ok": True, "result": message})
        return JSONResponse({"ok": True, "result": True})


def refusal(code: int, description: str, **parameters: int) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, body


@pytest.fixture
def bot_api() -> Iterator[tuple[ScriptedBotApi, str]]:
    api = ScriptedBotApi()
    with LoopbackServer(api.app) as server:
        yield api, server.base


@pytest.fixture
async def sender(bot_api: tuple[ScriptedBotApi, str]) -> Any:
    telegram = TelegramSender(make_bot("123456:test-token", bot_api[1], timeout=5))
    yield telegram
    await telegram.close()


def keyboard_keys(markup: dict[str, Any]) -> set[str]:
    return {key for row in next(iter(markup.values())) for button in row for key in button}


async def test_choices_go_as_an_inline_keyboard_shaped_like_the_documented_request(bot_api, sender):
    api, _ = bot_api
    reply = Reply("Какую услугу?", choices=(Choice("Маникюр", "svc:manicure"), Choice("Педикюр", "svc:pedicure")))
    await sender.send(Recipient(str(CHAT)), reply)
    call = api.calls[-1]
    documented = fixture_json("channels/outbound/telegram_sendMessage_inline_keyboard.json")
    markup = json.loads(call["reply_markup"])
    assert (call["method"], int(call["chat_id"]), call["text"]) == ("sendMessage", CHAT, "Какую услугу?")
    assert set(markup) == set(documented["reply_markup"]) == {"inline_keyboard"}
    assert markup["inline_keyboard"] == [
        [{"text": "Маникюр", "callback_data": "svc:manicure"}],
        [{"text": "Педикюр", "callback_data": "svc:pedicure"}],
    ]


async def test_asking_for_the_phone_sends_the_documented_request_contact_keyboard(bot_api, sender):
    api, _ = bot_api
    await sender.send(Recipient(str(CHAT)), Reply("Оставьте номер", ask_phone=True))
    markup = json.loads(api.calls[-1]["reply_markup"])
    documented = fixture_json("channels/outbound/telegram_sendMessage_request_contact_keyboard.json")["reply_markup"]
    assert keyboard_keys(markup) == keyboard_keys(documented) == {"text", "request_contact"}
    assert markup["keyboard"][0][0]["request_contact"] is True
    assert markup["resize_keyboard"] is documented["resize_keyboard"] is True
    assert markup["one_time_keyboard"] is documented["one_time_keyboard"] is True


async def test_text_over_the_limit_is_cut_to_4096_characters(bot_api, sender):
    api, _ = bot_api
    await sender.send(Recipient(str(CHAT)), Reply("я" * 5000))
    assert len(api.calls[-1]["text"]) == 4096


@pytest.mark.parametrize(
    ("answer", "error", "retry_after"),
    [
        (refusal(429, "Too Many Requests: retry after 7", retry_after=7), SendRetryable, 7.0),
        (refusal(500, "Internal Server Error"), SendRetryable, None),
        (refusal(403, "Forbidden: bot was blocked by the user"), Unreachable, None),
        (refusal(400, "Bad Request: chat not found"), SendRejected, None),
        (refusal(401, "Unauthorized"), CredentialsRejected, None),
    ],
    ids=["flood-control", "server-error", "blocked", "chat-not-found", "token-revoked"],
)
async def test_each_refusal_is_read_as_retry_or_give_up(bot_api, sender, answer, error, retry_after):
    api, _ = bot_api
    api.script.append(answer)
    with pytest.raises(error) as raised:
        await sender.send(Recipient(str(CHAT)), Reply("Здравствуйте"))
    assert type(raised.value) is error
    if retry_after is not None:
        assert raised.value.retry_after == retry_after


async def test_an_unreachable_bot_api_is_retryable():
    telegram = TelegramSender(make_bot("123456:test-token", "http://127.0.0.1:9", timeout=2))
    try:
        with pytest.raises(SendRetryable):
            await telegram.send(Recipient(str(CHAT)), Reply("Здравствуйте"))
    finally:
        await telegram.close()


async def test_a_stale_button_press_is_acknowledged_quietly_but_an_outage_is_retried(bot_api, sender):
    api, _ = bot_api
    api.script.append(refusal(400, "Bad Request: query is too old and response timeout expired or query ID is invalid"))
    await sender.acknowledge_button("cb-1")
    api.script.append(refusal(502, "Bad Gateway"))
    with pytest.raises(SendRetryable):
        await sender.acknowledge_button("cb-2")
    assert [(c["method"], c["callback_query_id"]) for c in api.calls] == [
        ("answerCallbackQuery", "cb-1"),
        ("answerCallbackQuery", "cb-2"),
    ]
