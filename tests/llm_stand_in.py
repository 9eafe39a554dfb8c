"""An OpenAI-compatible chat completions server on loopback (openai 3.x talks httpx2, which respx cannot see)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class LlmStandIn:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[Any] = []  # dict -> JSON content; str -> raw content; ("sleep", s); ("status", code)
        self.base = ""
        self.app = Starlette(routes=[Route("/v1/chat/completions", self._complete, methods=["POST"])])

    async def _complete(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        answer = self.answers.pop(0) if self.answers else {}
        if isinstance(answer, tuple) and answer[0] == "sleep":
            await asyncio.sleep(answer[1])
            answer = {}
        if isinstance(answer, tuple) and answer[0] == "status":
            return JSONResponse({"error": {"message": "overloaded", "type": "server_error"}}, status_code=answer[1])
        content = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
        return JSONResponse(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "test"),
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
            }
        )

    def user_payload(self, index: int = -1) -> dict[str, Any]:
        """The JSON the gateway sent as the user message."""
        messages = self.requests[index]["messages"]
        return json.loads(next(m["content"] for m in messages if m["role"] == "user"))
