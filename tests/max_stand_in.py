"""A MAX Bot API stand-in on loopback: records `POST /messages` and `POST /answers` (with the token they
came with), serves queued updates to `GET /updates` by `marker`, and answers errors when told to."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class MaxStandIn:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []  # {"chat_id", "token", "body"}
        self.answers: list[str] = []
        self.updates: list[dict[str, Any]] = []  # served to GET /updates, the marker is their index
        self.refuse_status: int | None = None  # the next POST /messages gets this status
        self.refuse_answers = False  # every POST /answers is refused with 400
        self.base = ""
        self.app = Starlette(
            routes=[
                Route("/messages", self._send, methods=["POST"]),
                Route("/answers", self._answer, methods=["POST"]),
                Route("/updates", self._updates, methods=["GET"]),
                Route("/me", self._me, methods=["GET"]),
            ]
        )

    async def _send(self, request: Request) -> JSONResponse:
        status, self.refuse_status = self.refuse_status, None
        if status is not None:
            return JSONResponse({"code": "chat.denied", "message": "chat.denied"}, status_code=status)
        body = await request.json()
        entry = {
            "chat_id": request.query_params.get("chat_id"),
            "token": request.headers.get("authorization"),
            "body": body,
        }
        self.messages.append(entry)
        return JSONResponse({"message": {"body": {"mid": f"mid.out{len(self.messages)}", "text": body.get("text")}}})

    async def _answer(self, request: Request) -> JSONResponse:
        body = await request.json()
        # MAX's documented rule: an answer carries a `message` or a non-empty `notification`
        if self.refuse_answers or not (body.get("message") or body.get("notification")):
            return JSONResponse({"code": "proto.payload", "message": "empty answer"}, status_code=400)
        self.answers.append(request.query_params.get("callback_id", ""))
        return JSONResponse({"success": True})

    async def _me(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != "max-bot-token":
            return JSONResponse({"code": "verify.token", "message": "Invalid access_token"}, status_code=401)
        return JSONResponse({"user_id": 100500, "name": "Salon", "username": "salon_bot", "is_bot": True})

    async def _updates(self, request: Request) -> JSONResponse:
        marker = int(request.query_params.get("marker", "0"))
        return JSONResponse({"updates": self.updates[marker:], "marker": len(self.updates)})
