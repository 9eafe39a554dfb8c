"""The sandbox portal as a local application sees it (`make run` and the tests): an OAuth token server,
REST at the client endpoint with the app's token, Open Lines with connectors and chats, events POSTed to
the bound handlers (never re-sent; a share can be dropped), and a page where a person plays the manager.

Written from Bitrix24's REST documents (imconnector.*, imopenlines.config.*, event.*, oauth/token,
messageservice.*).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import random
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bitrix.querystring import build_query, parse_query
from bitrix.sandbox import Sandbox, SandboxError

_CONNECTOR_ID = re.compile(r"^[a-z0-9_]+$")
_PROVIDER_CODE = re.compile(r"^[A-Za-z0-9._-]+$")
_NAME = re.compile(r"^[^\W\d_]+(?:[\s'\-][^\W\d_]+)*$")  # letters, spaces, hyphens, apostrophes


@dataclass
class LineChat:
    im_chat_id: int
    connector: str
    line: int
    external_id: str  # the connector's chat id
    client: str
    messages: list[dict[str, Any]] = field(default_factory=list)  # {id, author, text, at, external_id}
    finished: bool = False


class SandboxApp:
    def __init__(
        self,
        portal: Sandbox,
        *,
        client_id: str,
        client_secret: str,
        member_id: str = "sandbox-member",
        user_id: int = 1,
        access_seconds: int = 3600,
    ) -> None:
        self.portal = portal
        self.client_id, self.client_secret = client_id, client_secret
        self.member_id, self.user_id, self.access_seconds = member_id, user_id, access_seconds
        self.base = ""  # where the sandbox is served (…/sandbox/bitrix), set by whoever serves it
        self.application_token = secrets.token_hex(16)
        self.access: dict[str, float] = {}  # live access tokens -> when they expire (unix)
        self.refresh: set[str] = set()
        self.refuse_renewal = ""  # set: the token server answers this error (the app removed, unpaid)
        self.connectors: dict[str, dict[str, Any]] = {}
        self.active: set[tuple[str, int]] = set()
        self.connector_data: dict[tuple[str, int], dict[str, Any]] = {}
        self.lines: dict[int, dict[str, Any]] = {1: {"ID": "1", "LINE_NAME": "Открытая линия"}}
        self.bindings: list[dict[str, Any]] = []
        self.chats: dict[int, LineChat] = {}
        self.delivered: set[int] = set()  # manager messages reported delivered
        self.drop_events = 0.0  # share of events lost on the way, as Bitrix24's queue may
        self.events_dropped = 0
        self.echo_bot_messages = True  # a message posted on a user's behalf comes back as a manager's event
        self.providers: dict[str, dict[str, Any]] = {}  # message providers by CODE (messageservice)
        self.statuses: dict[str, list[str]] = {}  # a provider message's id -> the statuses reported, in order
        self.install_handlers: dict[str, str] = {}  # tenant -> its install callback, for the page's button
        self._ids = itertools.count(1001)
        self._random = random.Random(7)  # noqa: S311 - fault injection
        self._tasks: set[asyncio.Task[None]] = set()
        methods = {
            "imconnector.register": self._register,
            "imconnector.activate": self._activate,
            "imconnector.connector.data.set": self._data_set,
            "imconnector.status": self._status,
            "imconnector.send.messages": self._send_messages,
            "imconnector.send.status.delivery": self._status_delivery,
            "imopenlines.config.get": self._line_get,
            "imopenlines.config.add": self._line_add,
            "event.bind": self._bind,
            "event.get": lambda params: list(self.bindings),
            "im.message.add": self._im_message_add,
            "im.dialog.messages.get": self._dialog_messages,
            "messageservice.sender.add": self._sender_add,
            "messageservice.sender.update": self._sender_update,
            "messageservice.sender.list": lambda params: sorted(self.providers),
            "messageservice.message.status.update": self._message_status,
        }
        portal.app_methods.update(methods)
        portal.app.router.routes[:0] = [
            Route("/oauth/token/", self._token, methods=["GET", "POST"]),
            Route("/rest/{method}", self._rest, methods=["GET", "POST"]),
            Route("/chats", self._chats_page, methods=["GET"]),
            Route("/chats.json", self._chats_json, methods=["GET"]),
            Route("/chats/{chat:int}/answer", self._answer_form, methods=["POST"]),
            Route("/chats/{chat:int}/finish", self._finish_form, methods=["POST"]),
            Route("/app/install", self._install_form, methods=["POST"]),
            Route("/app/faults", self._faults_form, methods=["POST"]),
            Route("/app/robot", self._robot_form, methods=["POST"]),
        ]

    # ---- OAuth ---------------------------------------------------------------------------
    def _pair(self) -> dict[str, Any]:
        access, refresh = secrets.token_hex(16), secrets.token_hex(16)
        self.access[access] = time.time() + self.access_seconds
        self.refresh.add(refresh)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires": int(self.access[access]),
            "expires_in": self.access_seconds,
            "client_endpoint": f"{self.base}/rest/",
            "server_endpoint": f"{self.base}/oauth/rest/",
            "domain": "sandbox.bitrix24.local",
            "member_id": self.member_id,
            "scope": "crm,imopenlines,imconnector,im,messageservice",
            "status": "L",
            "user_id": self.user_id,
        }

    async def _token(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(parse_query((await request.body()).decode()))
        if params.get("client_id") != self.client_id or params.get("client_secret") != self.client_secret:
            return Sandbox.error_response(401, "invalid_client", "Invalid client")
        if self.refuse_renewal:
            return Sandbox.error_response(400, self.refuse_renewal, "refused")
        refresh = params.get("refresh_token", "")
        if params.get("grant_type") != "refresh_token" or refresh not in self.refresh:
            return Sandbox.error_response(400, "invalid_grant", "Invalid grant")
        self.refresh.discard(refresh)  # a refresh token is spent by its use
        return JSONResponse(self._pair())

    def expire_access_tokens(self) -> None:
        """Every access token stops working now (the hour passed)."""
        for token in self.access:
            self.access[token] = 0.0

    async def install(self, handler: str) -> httpx.Response:
        """What Bitrix24 does when an admin installs the local app: POST the tokens to its install handler."""
        form = {
            "event": "ONAPPINSTALL",
            "data": {"VERSION": "1", "ACTIVE": "Y", "INSTALLED": "Y"},
            "ts": int(time.time()),
        }
        form["auth"] = {**self._pair(), "application_token": self.application_token}
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.post(handler, content=build_query(form), headers=_FORM)

    async def _install_form(self, request: Request) -> Response:
        tenant = parse_query((await request.body()).decode()).get("tenant", "")
        handler = self.install_handlers.get(str(tenant))
        if handler is None:
            return JSONResponse({"error": "unknown tenant"}, status_code=404)
        answer = await self.install(handler)
        if answer.status_code != 200:
            return HTMLResponse(f"<p>install failed: {answer.status_code} {html.escape(answer.text)}</p>", 502)
        return RedirectResponse("../chats", status_code=303)

    # ---- REST as the app -----------------------------------------------------------------
    async def _rest(self, request: Request) -> Response:
        started = time.time()
        method = request.path_params["method"].removesuffix(".json")
        try:
            params = await self.portal.request_params(request)
        except SandboxError as exc:
            return Sandbox.error_response(exc.status, exc.code, exc.description)
        expires = self.access.get(str(params.pop("auth", "")))
        if expires is None:
            return Sandbox.error_response(401, "invalid_token", "Unable to get application by token")
        if expires < time.time():
            return Sandbox.error_response(401, "expired_token", "The access token provided has expired.")
        self.portal.state.requests += 1
        if self.portal.faults.latency_ms:  # the portal is as slow for its apps as for its webhooks
            await asyncio.sleep(self.portal.faults.latency_ms / 1000)
        try:
            result = self.portal.dispatch(method, params)
        except SandboxError as exc:
            return Sandbox.error_response(exc.status, exc.code, exc.description)
        return JSONResponse({"result": result, "time": self.portal.timing(started)})

    # ---- Open Lines ------------------------------------------------------------------------
    def _register(self, params: dict[str, Any]) -> Any:
        connector = str(params.get("ID", "")).lower()
        if not _CONNECTOR_ID.match(connector) or not params.get("NAME") or not params.get("PLACEMENT_HANDLER"):
            raise SandboxError(400, "ERROR_ARGUMENT", "ID, NAME, ICON and PLACEMENT_HANDLER are required")
        self.connectors[connector] = dict(params, ID=connector)  # a repeat call updates it
        return {"result": True}

    def _connector_line(self, params: dict[str, Any]) -> tuple[str, int]:
        connector, line = str(params.get("CONNECTOR", "")), int(params.get("LINE") or 0)
        if connector not in self.connectors:
            raise SandboxError(400, "IMCONNECTOR_NO_CORRECT_PROVIDER", "Connector not registered")
        if line not in self.lines:
            raise SandboxError(400, "NOT_ACTIVE_LINE", "No such open line")
        return connector, line

    def _activate(self, params: dict[str, Any]) -> Any:
        key = self._connector_line(params)
        if str(params.get("ACTIVE", "1")) in ("1", "Y", "true"):
            self.active.add(key)
        else:
            self.active.discard(key)
        return True

    def _data_set(self, params: dict[str, Any]) -> Any:
        self.connector_data[self._connector_line(params)] = dict(params.get("DATA") or {})  # the whole object
        return True

    def _status(self, params: dict[str, Any]) -> Any:
        key = self._connector_line(params)
        return {"LINE": key[1], "CONNECTOR": key[0], "CONFIGURED": key in self.active, "STATUS": key in self.active}

    def _line_get(self, params: dict[str, Any]) -> Any:
        line = self.lines.get(int(params.get("CONFIG_ID") or 0))
        if line is None:
            raise SandboxError(400, "CONFIG_NOT_FOUND", "Open line not found")
        return line

    def _line_add(self, params: dict[str, Any]) -> Any:
        line = max(self.lines) + 1
        name = (params.get("PARAMS") or {}).get("LINE_NAME", f"Линия {line}")
        self.lines[line] = {"ID": str(line), "LINE_NAME": name}
        return line

    def _bind(self, params: dict[str, Any]) -> Any:
        event, handler = str(params.get("event", params.get("EVENT", ""))).upper(), str(params.get("handler", ""))
        if any(b["event"] == event and b["handler"] == handler for b in self.bindings):
            raise SandboxError(400, "ERROR_EVENT_BIND", "Handler already binded")
        self.bindings.append({"event": event, "handler": handler, "auth_type": "0", "offline": 0})
        return True

    def _chat_for(self, connector: str, line: int, external: str, client: str) -> LineChat:
        for chat in self.chats.values():
            if chat.connector == connector and chat.external_id == external:
                chat.finished = False
                return chat
        chat = LineChat(next(self._ids), connector, line, external, client)
        self.chats[chat.im_chat_id] = chat
        return chat

    def _send_messages(self, params: dict[str, Any]) -> Any:
        connector, line = self._connector_line(params)
        if (connector, line) not in self.active:
            raise SandboxError(400, "NOT_ACTIVE_LINE", "The connector is not active on this line")
        results = []
        for item in _items(params.get("MESSAGES")):
            user, message, chat = item.get("user") or {}, item.get("message") or {}, item.get("chat") or {}
            name = str(user.get("name", ""))
            if not user.get("id") or not chat.get("id") or (name and (len(name) > 25 or not _NAME.match(name))):
                results.append({"SUCCESS": False, "ERRORS": ["ERROR_ARGUMENT"]})
                continue
            line_chat = self._chat_for(connector, line, str(chat["id"]), name or "Клиент")
            posted_by = message.get("user_id")
            entry: dict[str, Any] = {
                "id": next(self._ids),
                "author": "bot" if posted_by else "client",
                "author_id": int(posted_by) if posted_by else CLIENT_USERS + line_chat.im_chat_id,
                "text": str(message.get("text", "")),
                "at": message.get("date"),
                "external_id": str(message.get("id", "")),
                "files": [
                    {"url": str(f.get("url", "")), "name": str(f.get("name", ""))}
                    for f in _items(message.get("files"))
                    if f.get("url")
                ],
            }
            line_chat.messages.append(entry)
            session = {"ID": "1", "CHAT_ID": str(line_chat.im_chat_id)}
            user_id = str(CLIENT_USERS + line_chat.im_chat_id)
            results.append({**item, "user": user_id, "SUCCESS": True, "session": session})
            if posted_by and self.echo_bot_messages:  # pitfall: it comes back as an operator's message
                self._emit_message(line_chat, entry["id"], int(posted_by), entry["text"])
        return {"SUCCESS": True, "DATA": {"RESULT": results}}

    def _status_delivery(self, params: dict[str, Any]) -> Any:
        self._connector_line(params)
        for item in _items(params.get("MESSAGES")):
            self.delivered.add(int((item.get("im") or {}).get("message_id") or 0))
        return True

    def _im_message_add(self, params: dict[str, Any]) -> Any:
        dialog = str(params.get("DIALOG_ID", ""))
        chat = self.chats.get(int(dialog.removeprefix("chat"))) if dialog.removeprefix("chat").isdigit() else None
        if chat is None:
            raise SandboxError(400, "DIALOG_ID_EMPTY", "Dialog not found")
        message_id = next(self._ids)
        author = "system" if str(params.get("SYSTEM", "N")) == "Y" else "manager"
        text = str(params.get("MESSAGE", ""))
        chat.messages.append({"id": message_id, "author": author, "author_id": 0, "text": text, "at": None})
        return message_id

    def _dialog_messages(self, params: dict[str, Any]) -> Any:
        dialog = str(params.get("DIALOG_ID", "")).removeprefix("chat")
        chat = self.chats.get(int(dialog)) if dialog.isdigit() else None
        if chat is None:
            raise SandboxError(400, "DIALOG_ID_EMPTY", "Dialog not found")
        limit = int(params.get("LIMIT") or 20)
        newest = sorted(chat.messages, key=lambda m: m["id"], reverse=True)[:limit]
        shown = [
            {"id": m["id"], "chat_id": chat.im_chat_id, "author_id": m["author_id"], "text": m["text"]} for m in newest
        ]
        return {"chat_id": chat.im_chat_id, "messages": shown, "users": []}

    # ---- message providers (robots, a card's "send SMS") ---------------------------------------------
    def _sender_add(self, params: dict[str, Any]) -> Any:
        code = str(params.get("CODE", ""))
        if not code or not _PROVIDER_CODE.match(code):
            raise SandboxError(400, "ERROR_SENDER_VALIDATION_FAILURE", "Wrong sender code!")
        if str(params.get("TYPE", "")) != "SMS":
            raise SandboxError(400, "ERROR_SENDER_VALIDATION_FAILURE", "Unknown sender message TYPE!")
        if not params.get("NAME") or not params.get("HANDLER"):
            raise SandboxError(400, "ERROR_SENDER_VALIDATION_FAILURE", "Empty sender NAME!")
        if code in self.providers:
            raise SandboxError(400, "ERROR_SENDER_ALREADY_INSTALLED", "Sender already installed!")
        self.providers[code] = dict(params)
        return True

    def _sender_update(self, params: dict[str, Any]) -> Any:
        code = str(params.get("CODE", ""))
        if code not in self.providers:
            raise SandboxError(400, "ERROR_SENDER_NOT_FOUND", "Sender not found!")
        self.providers[code].update({k: v for k, v in params.items() if k in ("HANDLER", "NAME", "DESCRIPTION")})
        return True

    def _message_status(self, params: dict[str, Any]) -> Any:
        status, message = str(params.get("STATUS", "")), str(params.get("MESSAGE_ID", ""))
        if str(params.get("CODE", "")) not in self.providers or not message:
            raise SandboxError(400, "ERROR_MESSAGE_NOT_FOUND", "Message not found")
        if status not in ("queued", "sent", "delivered", "undelivered", "failed"):
            raise SandboxError(400, "ERROR_WRONG_STATUS", "Unknown status")
        self.statuses.setdefault(message, []).append(status)
        return True

    async def robot_sends(
        self, code: str, to: str, text: str, bindings: tuple[tuple[int, int], ...] = (), module: str = "crm"
    ) -> tuple[str, httpx.Response]:
        """A robot (or a manager's "send SMS") sends through the provider: Bitrix24 calls its HANDLER."""
        provider = self.providers[code]
        message_id = secrets.token_hex(16)
        form: dict[str, Any] = {
            "module_id": module,
            "bindings": [{"OWNER_TYPE_ID": kind, "OWNER_ID": owner} for kind, owner in bindings],
            "properties": {"phone_number": to, "message_text": text},
            "type": "SMS",
            "code": code,
            "message_id": message_id,
            "message_to": to,
            "message_body": text,
            "ts": int(time.time()),
            "auth": {
                "access_token": "",
                "domain": "sandbox.bitrix24.local",
                "member_id": self.member_id,
                "application_token": self.application_token,
            },
        }
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.post(str(provider["HANDLER"]), content=build_query(form), headers=_FORM)
        return message_id, answer

    async def _robot_form(self, request: Request) -> Response:
        form = parse_query((await request.body()).decode())
        code, to, text = str(form.get("code", "")), str(form.get("to", "")).strip(), str(form.get("text", "")).strip()
        if code not in self.providers or not to or not text:
            return JSONResponse({"error": "no such provider, or no number or text"}, status_code=400)
        await self.robot_sends(code, to, text, self._cards_of(to))
        return RedirectResponse("../chats#robots", status_code=303)

    def _cards_of(self, phone: str) -> tuple[tuple[int, int], ...]:
        """As if sent from the card of each contact with this number (OWNER_TYPE_ID 3), as Bitrix24 binds it."""
        digits = re.sub(r"\D", "", phone)[-10:]
        return tuple(
            (3, int(contact_id))
            for contact_id, contact in self.portal.state.contacts.items()
            if digits
            and any(re.sub(r"\D", "", str(p.get("VALUE", "")))[-10:] == digits for p in contact.get("PHONE", []))
        )

    # ---- a manager, and the events ------------------------------------------------------------
    def answer(self, im_chat_id: int, text: str, manager: int = 7, name: str = "Анна") -> int:
        """A manager writes in the line's chat: the connector's app gets OnImConnectorMessageAdd."""
        chat = self.chats[im_chat_id]
        message_id = next(self._ids)
        signed = (
            text
            if self.connectors[chat.connector].get("NEED_SIGNATURE") in ("N", False, "false", 0)
            else (f"[b]{name}:[/b] [br]{text}")
        )
        entry = {"id": message_id, "author": "manager", "author_id": manager, "text": signed, "at": int(time.time())}
        chat.messages.append(entry)
        self._emit_message(chat, message_id, manager, signed)
        return message_id

    def finish(self, im_chat_id: int) -> None:
        chat = self.chats[im_chat_id]
        chat.finished = True
        data = {
            "CONNECTOR": chat.connector,
            "LINE": str(chat.line),
            "DATA": [
                {
                    "connector": {"connector_id": chat.connector, "line_id": chat.line, "chat_id": chat.external_id},
                    "session": {"id": 1, "closed": "Y"},
                    "chat": {"id": chat.im_chat_id},
                }
            ],
        }
        self._emit("ONIMCONNECTORDIALOGFINISH", data)

    def _emit_message(self, chat: LineChat, message_id: int, user: int, text: str) -> None:
        item = {
            "im": {"chat_id": chat.im_chat_id, "message_id": message_id},
            "message": {"user_id": user, "text": text},
            "chat": {"id": chat.external_id},
        }
        self._emit("ONIMCONNECTORMESSAGEADD", {"CONNECTOR": chat.connector, "LINE": chat.line, "MESSAGES": [item]})

    def _emit(self, event: str, data: dict[str, Any]) -> None:
        for binding in self.bindings:
            if binding["event"] != event:
                continue
            if self.drop_events and self._random.random() < self.drop_events:
                self.events_dropped += 1
                continue
            form = {"event": event, "event_handler_id": "1", "data": data, "ts": int(time.time())}
            form["auth"] = {
                "access_token": "",
                "domain": "sandbox.bitrix24.local",
                "client_endpoint": f"{self.base}/rest/",
                "member_id": self.member_id,
                "application_token": self.application_token,
            }
            try:
                task = asyncio.get_running_loop().create_task(self._post(binding["handler"], build_query(form)))
            except RuntimeError:
                return
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, body: str) -> None:
        # a client a post: events are sent from the portal's loop and from a test's (a manager's answer)
        with contextlib.suppress(httpx.HTTPError):  # Bitrix24 does not retry either
            async with httpx.AsyncClient(timeout=10) as client:
                await client.post(url, content=body, headers=_FORM)

    async def settle(self) -> None:
        """Wait until the events sent so far have been delivered (tests)."""
        # the tasks may run in the portal's loop or the caller's: watched, not awaited
        while self._tasks:  # noqa: ASYNC110 - an Event would be bound to one of the two loops
            await asyncio.sleep(0.02)

    # ---- the manager's page ------------------------------------------------------------------
    def chats_view(self) -> list[dict[str, Any]]:
        return [
            {
                "im_chat_id": c.im_chat_id,
                "connector": c.connector,
                "line": c.line,
                "chat": c.external_id,
                "client": c.client,
                "finished": c.finished,
                "messages": c.messages,
            }
            for c in self.chats.values()
        ]

    async def _chats_json(self, request: Request) -> Response:
        return JSONResponse(
            {
                "chats": self.chats_view(),
                "delivered": sorted(self.delivered),
                "lines": self.lines,
                "bindings": len(self.bindings),
                "events_dropped": self.events_dropped,
                "providers": sorted(self.providers),
                "statuses": self.statuses,
            }
        )

    async def _faults_form(self, request: Request) -> Response:
        """`drop_events=0.1`: that share of the events is lost on the way (benchmarks, by hand)."""
        form = parse_query((await request.body()).decode())
        try:
            share = float(form.get("drop_events", 0))
        except (TypeError, ValueError):
            return JSONResponse({"error": "drop_events must be a number"}, status_code=400)
        self.drop_events = min(max(share, 0.0), 1.0)
        return JSONResponse({"drop_events": self.drop_events})

    async def _answer_form(self, request: Request) -> Response:
        text = str(parse_query((await request.body()).decode()).get("text", "")).strip()
        chat = request.path_params["chat"]
        if chat not in self.chats or not text:
            return JSONResponse({"error": "no such chat or empty text"}, status_code=400)
        self.answer(chat, text)
        return RedirectResponse(f"../../chats#chat{chat}", status_code=303)

    async def _finish_form(self, request: Request) -> Response:
        chat = request.path_params["chat"]
        if chat not in self.chats:
            return JSONResponse({"error": "no such chat"}, status_code=404)
        self.finish(chat)
        return RedirectResponse(f"../../chats#chat{chat}", status_code=303)

    async def _chats_page(self, request: Request) -> Response:
        return HTMLResponse(render_chats(self))


_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CLIENT_USERS = 9000  # the portal user a connector's client is: 9000 + the chat's id


def _items(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        value = [value[k] for k in sorted(value, key=lambda k: int(k) if str(k).isdigit() else 0)]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def render_chats(sandbox: SandboxApp) -> str:
    """The Open Line as a manager sees it: each client's chat, an answer box, and "finish"."""
    parts = [
        "<!doctype html><meta charset=utf-8><title>Открытая линия (песочница)</title>",
        "<style>body{font:15px sans-serif;max-width:56em;margin:1em auto}section{border:1px solid #ccc;"
        "padding:.5em 1em;margin:1em 0}.client{color:#064}.bot{color:#555}.manager{color:#036}"
        ".system{color:#a00}</style><h1>Открытая линия (песочница Bitrix24)</h1>",
    ]
    for tenant in sandbox.install_handlers:
        parts.append(
            f"<form method=post action='app/install'><input type=hidden name=tenant value='{html.escape(tenant)}'>"
            f"<button>Установить приложение ({html.escape(tenant)})</button></form>"
        )
    installed = bool(sandbox.bindings)
    parts.append(
        f"<p>Приложение {'установлено' if installed else 'не установлено'}; "
        f"коннекторы: {', '.join(sorted(sandbox.connectors)) or 'нет'}.</p>"
    )
    for code in sandbox.providers:
        parts.append(
            f"<form id=robots method=post action='app/robot'><input type=hidden name=code value='{html.escape(code)}'>"
            "Робот отправляет SMS через приложение: <input name=to size=14 placeholder='+7…' aria-label='Номер'> "
            "<input name=text size=30 aria-label='Текст робота'> <button>Отправить</button></form>"
        )
    if sandbox.statuses:
        shown = "; ".join(f"{m[:8]}…: {' → '.join(s)}" for m, s in sandbox.statuses.items())
        parts.append(f"<p class=statuses>Статусы сообщений робота: {html.escape(shown)}</p>")
    if not sandbox.chats:
        parts.append("<p>Чатов пока нет: напишите боту как клиент.</p>")
    for chat in sandbox.chats.values():
        parts.append(
            f"<section id=chat{chat.im_chat_id} data-chat='{chat.im_chat_id}'><h2>{html.escape(chat.client)}"
            f" · {html.escape(chat.connector)}{' · завершён' if chat.finished else ''}</h2><ol>"
        )
        for message in chat.messages:
            tick = " ✓" if message["id"] in sandbox.delivered else ""
            files = "".join(
                f" <a href='{html.escape(f['url'])}'>{html.escape(f['name'] or 'файл')}</a>"
                for f in message.get("files", [])
            )
            parts.append(
                f"<li class={message['author']}><b>{message['author']}</b>: "
                f"{html.escape(str(message['text']))}{files}{tick}</li>"
            )
        parts.append(
            f"</ol><form method=post action='chats/{chat.im_chat_id}/answer'><input name=text size=50 "
            "aria-label='Ответ клиенту'> <button>Ответить</button></form>"
            f"<form method=post action='chats/{chat.im_chat_id}/finish'><button>Завершить диалог</button></form>"
            "</section>"
        )
    return "".join(parts)
