"""Stand-ins for the VK API, the MAX Bot API and the SMS providers, for trying the gateway without them:
each records what would have been sent and answers as the real API does when all is well.

Mounted by `lead-gateway run` at /sandbox/vk, /sandbox/max and /sandbox/sms when a tenant points its
`api_base` there; `GET /sandbox/<name>/sent` lists what was sent.
"""

from __future__ import annotations

import itertools
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class Outbox:
    """One stand-in: what was sent, in order, and the app that takes it."""

    def __init__(self, routes: list[Route]) -> None:
        self.sent: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self.app = Starlette(routes=[*routes, Route("/sent", self._sent, methods=["GET"])])

    async def _sent(self, request: Request) -> Response:
        return JSONResponse(self.sent)

    def record(self, entry: dict[str, Any]) -> int:
        self.sent.append(entry)
        return next(self._ids)


def vk_outbox() -> Outbox:
    """`POST /method/<name>`, form-encoded, answered `{"response": ...}` as VK does."""

    async def method(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items() if k != "access_token"}
        name = request.path_params["name"]
        if name == "utils.resolveScreenName":  # nobody by that name here, as VK answers for an unknown one
            return JSONResponse({"response": []})
        number = box.record({"method": name, **form})
        return JSONResponse({"response": number if name == "messages.send" else 1})

    box = Outbox([Route("/method/{name}", method, methods=["POST"])])
    return box


def max_outbox() -> Outbox:
    """`POST /messages?chat_id=`, `POST /answers?callback_id=`; `GET /updates` hands out nothing."""

    async def send(request: Request) -> Response:
        body = await request.json()
        number = box.record({"chat_id": request.query_params.get("chat_id"), **body})
        return JSONResponse({"message": {"body": {"mid": f"mid.sandbox{number}", "text": body.get("text")}}})

    async def answer(request: Request) -> Response:
        box.record({"answer": request.query_params.get("callback_id")})
        return JSONResponse({"success": True})

    async def updates(request: Request) -> Response:
        return JSONResponse({"updates": [], "marker": int(request.query_params.get("marker") or 0)})

    box = Outbox(
        [
            Route("/messages", send, methods=["POST"]),
            Route("/answers", answer, methods=["POST"]),
            Route("/updates", updates, methods=["GET"]),
        ]
    )
    return box


def sms_outbox() -> Outbox:
    """SMS.ru's `/sms/send` (JSON, `status_code` 100) and SMSC.ru's `/sys/send.php` (`fmt=3`)."""

    async def smsru(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items() if k != "api_id"}
        number = box.record({"provider": "smsru", **form})
        accepted = {"status": "OK", "status_code": 100, "sms_id": f"sandbox-{number}"}
        return JSONResponse({"status": "OK", "status_code": 100, "sms": {form.get("to", ""): accepted}})

    async def smsc(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items() if k not in ("login", "psw")}
        return JSONResponse({"id": box.record({"provider": "smsc", **form}), "cnt": 1})

    box = Outbox([Route("/sms/send", smsru, methods=["POST"]), Route("/sys/send.php", smsc, methods=["POST"])])
    return box
