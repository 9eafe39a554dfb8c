"""A VK API stand-in on loopback: records each method called with its form, answers errors when told."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class VkStandIn:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.refusals: dict[str, list[tuple[int, str]]] = {}  # method -> (error_code, error_msg) answered in turn
        self.screen_names: dict[str, int] = {}  # what utils.resolveScreenName finds as a person
        self.seen_ids: dict[tuple[str, str], int] = {}  # (peer_id, random_id) -> the message it made
        self.made: list[dict[str, str]] = []  # the sends that made a message
        self.base = ""
        self.app = Starlette(routes=[Route("/method/{name}", self._method, methods=["POST"])])

    async def _method(self, request: Request) -> JSONResponse:
        name = request.path_params["name"]
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.calls.append((name, form))
        waiting = self.refusals.get(name)
        if waiting:
            code, text = waiting.pop(0)
            return JSONResponse({"error": {"error_code": code, "error_msg": text, "request_params": []}})
        if name == "utils.resolveScreenName":
            person = self.screen_names.get(form.get("screen_name", ""))
            return JSONResponse({"response": {"type": "user", "object_id": person} if person else []})
        if name == "messages.send":
            # VK's documented rule: a send whose random_id this peer already got makes no new message
            unique = (form.get("peer_id", ""), form.get("random_id", ""))
            if unique not in self.seen_ids:
                self.seen_ids[unique] = len(self.calls)
                self.made.append(form)
            return JSONResponse({"response": self.seen_ids[unique]})
        return JSONResponse({"response": 1})

    def sent(self) -> list[dict[str, str]]:
        return [form for name, form in self.calls if name == "messages.send"]

    def delivered(self) -> list[dict[str, str]]:
        """The sends that made a message: not refused, and the first with each (peer_id, random_id)."""
        return list(self.made)
