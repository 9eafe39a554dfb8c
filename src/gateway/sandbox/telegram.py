"""A Bot API stand-in for trying the gateway with no bot: records what the bot would send.

Mounted at /sandbox/telegram by `lead-gateway run` when a tenant points `api_base` at it;
`GET /sandbox/telegram/sent` shows the replies.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class TelegramSandbox:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.base = ""  # where it is served, once someone serves it
        self.updates: list[dict[str, Any]] = []  # what getUpdates hands out (polling mode)
        self.blocked: set[int] = set()  # chats whose person blocked the bot: sendMessage answers 403
        self.files: dict[str, bytes] = {}  # file_id -> the photo a client sent (getFile, then the file)
        self._message_ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._method, methods=["GET", "POST"]),
                Route("/file/bot{token}/photos/{name}", self._file, methods=["GET"]),
                Route("/sent", self._sent, methods=["GET"]),
                Route("/block", self._block, methods=["POST"]),
            ]
        )

    async def _method(self, request: Request) -> Response:
        method = request.path_params["method"]
        form = await request.form()
        params: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
        if method == "sendMessage" and int(str(params.get("chat_id", "0"))) in self.blocked:
            return JSONResponse(
                {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
                status_code=403,
            )
        self.sent.append({"method": method, **params})
        if method == "sendMessage":
            chat_id = int(str(params.get("chat_id", "0")))
            result: Any = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": params.get("text", ""),
            }
        elif method == "getFile":
            file_id = str(params.get("file_id", ""))
            if file_id not in self.files:
                return JSONResponse(
                    {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}, 400
                )
            result = {"file_id": file_id, "file_unique_id": file_id[:8], "file_size": len(self.files[file_id])}
            result["file_path"] = f"photos/{file_id}.jpg"
        elif method == "getMe":
            result = {"id": 1, "is_bot": True, "first_name": "Sandbox bot", "username": "sandbox_bot"}
        elif method == "getUpdates":
            result = await self._updates(params)
        else:
            result = True
        return JSONResponse({"ok": True, "result": result})

    async def _file(self, request: Request) -> Response:
        found = self.files.get(request.path_params["name"].removesuffix(".jpg"))
        if found is None:
            return Response(status_code=404)
        return Response(found, media_type="image/jpeg")

    async def _updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long polling: confirm what is below `offset`, then wait up to `timeout` s for updates."""
        offset = int(params.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 5.0)
        # polled, not an Event: tests append updates from another thread and event loop
        while not self.updates and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        return list(self.updates)

    async def _block(self, request: Request) -> Response:
        """`POST /block?chat_id=N` (`&unblock=1` to undo): play a person who blocked the bot."""
        chat = int(request.query_params.get("chat_id", "0"))
        if request.query_params.get("unblock"):
            self.blocked.discard(chat)
        else:
            self.blocked.add(chat)
        return JSONResponse({"blocked": sorted(self.blocked)})

    async def _sent(self, request: Request) -> Response:
        return JSONResponse([m for m in self.sent if m["method"] == "sendMessage"])
