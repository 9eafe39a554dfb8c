"""A Graph API stand-in on loopback: records the messages sent, and answers errors when told to."""

from __future__ import annotations

import itertools
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class GraphStandIn:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []  # {"account", "token", "body"}
        self.refusals: list[tuple[int, dict[str, Any]]] = []  # answered in turn before any success
        self.refuse_calls: dict[int, tuple[int, dict[str, Any]]] = {}  # the n-th send (from 1) gets this error
        self.base = ""
        self._ids = itertools.count(1)
        self.valid_tokens: set[str] = {"wa-token", "ig-token"}
        self.app = Starlette(
            routes=[
                Route("/{version}/{account}/messages", self._messages, methods=["POST"]),
                Route("/{version}/{node}", self._node, methods=["GET"]),
            ]
        )

    async def _node(self, request: Request) -> JSONResponse:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.valid_tokens:
            error = {"message": "Error validating access token", "type": "OAuthException", "code": 190}
            return JSONResponse({"error": error}, status_code=401)
        return JSONResponse({"id": request.path_params["node"]})

    async def _messages(self, request: Request) -> JSONResponse:
        body = await request.json()
        token = request.headers.get("authorization", "")
        call = len(self.sent) + 1
        if self.refusals or call in self.refuse_calls:
            status, error = self.refusals.pop(0) if self.refusals else self.refuse_calls[call]
            self.sent.append({"account": request.path_params["account"], "token": token, "body": body, "refused": 1})
            return JSONResponse({"error": error}, status_code=status)
        self.sent.append({"account": request.path_params["account"], "token": token, "body": body})
        message_id = f"wamid.out{next(self._ids)}"
        if "messaging_product" in body:
            return JSONResponse({"messaging_product": "whatsapp", "messages": [{"id": message_id}]})
        return JSONResponse({"recipient_id": body["recipient"]["id"], "message_id": message_id})

    def delivered(self) -> list[dict[str, Any]]:
        return [s["body"] for s in self.sent if "refused" not in s]
