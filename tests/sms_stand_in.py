"""SMS.ru and SMSC.ru stand-ins on loopback: they record what would be sent and answer as the providers'
HTTP APIs document (SMS.ru: JSON with `status_code` 100 per number; SMSC.ru with fmt=3: `{id, cnt}` or
`{error, error_code}`), or with the error they are told to."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class SmsStandIn:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self.fail_with: int | None = None  # the provider's error code for the next send
        self.base = ""
        self.app = Starlette(
            routes=[
                Route("/sms/send", self._smsru, methods=["POST"]),
                Route("/sys/send.php", self._smsc, methods=["POST"]),
                Route("/my/balance", self._smsru_balance, methods=["POST"]),
                Route("/sys/balance.php", self._smsc_balance, methods=["POST"]),
            ]
        )

    async def _form(self, request: Request) -> dict[str, str]:
        return {k: str(v) for k, v in (await request.form()).items()}

    async def _smsru(self, request: Request) -> JSONResponse:
        form = await self._form(request)
        code, self.fail_with = self.fail_with, None
        if code is None:
            self.sent.append(form)
            number: dict[str, Any] = {"status": "OK", "status_code": 100, "sms_id": f"000000-{len(self.sent)}"}
        else:
            number = {"status": "ERROR", "status_code": code, "status_text": "refused"}
        return JSONResponse({"status": "OK", "status_code": 100, "sms": {form.get("to", ""): number}, "balance": 10})

    async def _smsru_balance(self, request: Request) -> JSONResponse:
        if (await self._form(request)).get("api_id") != "sms-api-id":
            return JSONResponse({"status": "ERROR", "status_code": 200, "status_text": "Неправильный api_id"})
        return JSONResponse({"status": "OK", "status_code": 100, "balance": 4762.58})

    async def _smsc_balance(self, request: Request) -> JSONResponse:
        return JSONResponse({"balance": "120.50", "currency": "RUR"})

    async def _smsc(self, request: Request) -> JSONResponse:
        form = await self._form(request)
        code, self.fail_with = self.fail_with, None
        if code is not None:
            return JSONResponse({"error": "refused", "error_code": code})
        self.sent.append(form)
        return JSONResponse({"id": len(self.sent), "cnt": 1})
