"""A local Bitrix24 portal: the CRM methods the gateway calls, as the REST docs describe them.

Envelopes `{"result", "time"}` / `{"error", "error_description"}`, 503 QUERY_LIMIT_EXCEEDED from
a leaky bucket, `batch` with `$result[...]` references and `result_error`, multifields with
add/overwrite/delete semantics, the empty-code 400, and fault injection for tests and benchmarks.
State lives in memory; `GET /deals` shows what landed, for people.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bitrix.querystring import parse_query

MOSCOW = timezone(timedelta(hours=3))
_multifield_ids = itertools.count(1)
# The default pipeline of a new portal: STAGE_ID, name, SEMANTICS (S success, F failure, None in progress).
DEFAULT_DEAL_STAGES = (
    ("NEW", "Новая", None),
    ("PREPARATION", "Подготовка документов", None),
    ("PREPAYMENT_INVOICE", "Счёт на предоплату", None),
    ("EXECUTING", "В работе", None),
    ("FINAL_INVOICE", "Финальный счёт", None),
    ("WON", "Сделка успешна", "S"),
    ("LOSE", "Сделка провалена", "F"),
    ("APOLOGY", "Анализ причины провала", "F"),
)
MULTIFIELDS = ("PHONE", "EMAIL", "WEB", "IM", "LINK")
_FILTER_OP = re.compile(r"^(>=|<=|!=|=%|%=|!@|>|<|=|!|@|%)?(.+)$")
_REF = re.compile(r"^\$result\[([^\]]+)\]((?:\[[^\]]*\])*)$")


class SandboxError(Exception):
    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status, self.code, self.description = status, code, description


@dataclass
class Faults:
    # Share of requests answered with a 500 (or a non-JSON 502). Half of them fail after the work is done,
    # as a portal whose proxy drops the answer would: the client cannot tell, and must look before redoing.
    error_rate: float = 0.0
    latency_ms: float = 0.0
    # answer this late after the work is done: the client times out not knowing it succeeded
    latency_after_ms: float = 0.0
    slow_methods: frozenset[str] = frozenset()  # empty: latency_after_ms applies to every method
    # method -> description: answered with the empty-code 400 a portal gives a wrong field or stage
    refuse: dict[str, str] = field(default_factory=dict)
    seed: int | None = None


@dataclass
class PortalState:
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    deals: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    activities: dict[int, dict[str, Any]] = field(default_factory=dict)  # to-dos (crm.activity.todo.add)
    statuses: list[dict[str, Any]] = field(
        default_factory=lambda: [
            *(
                {"ENTITY_ID": "SOURCE", "STATUS_ID": s, "NAME": s.title(), "SORT": 10 * i, "SYSTEM": "Y"}
                for i, s in enumerate(("CALL", "EMAIL", "WEB", "ADVERTISING", "PARTNER", "OTHER"), 1)
            ),
            *(
                {
                    "ENTITY_ID": "DEAL_STAGE",
                    "STATUS_ID": stage,
                    "NAME": name,
                    "SORT": 10 * i,
                    "SYSTEM": "Y",
                    "SEMANTICS": semantics,
                    "EXTRA": {"SEMANTICS": {"S": "success", "F": "failure"}.get(semantics or "", "process")},
                }
                for i, (stage, name, semantics) in enumerate(DEFAULT_DEAL_STAGES, 1)
            ),
        ]
    )
    # Online Booking (booking.v1): resources, their slot schedules, bookings (with clients and external data)
    resources: dict[int, dict[str, Any]] = field(default_factory=dict)
    slots: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    bookings: dict[int, dict[str, Any]] = field(default_factory=dict)
    product_rows: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # a deal's, by its id
    next_id: int = 1
    requests: int = 0
    rejected: int = 0  # refused for the rate (503 QUERY_LIMIT_EXCEEDED)
    failed: int = 0  # injected faults
    calls: dict[str, int] = field(default_factory=dict)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


class Sandbox:
    def __init__(
        self,
        *,
        burst: int = 50,
        per_second: float = 2.0,
        user_id: str = "1",
        code: str = "sandbox",
        faults: Faults | None = None,
        enforce_rate: bool = True,
    ) -> None:
        self.state = PortalState()
        self.url = ""  # the webhook URL it is served at, once someone serves it
        self.burst, self.per_second, self.enforce_rate = burst, per_second, enforce_rate
        self.user_id, self.code = user_id, code
        self.faults = faults or Faults()
        # Outgoing webhooks: (handler URL, application_token); deal changes made through the API are POSTed
        # to each, form-encoded as Bitrix24 does, without retries (a lost event is lost, as there).
        self.event_handlers: list[tuple[str, str]] = []
        self._event_tasks: set[asyncio.Task[None]] = set()
        self._event_client: Any = None
        self.events_sent: list[tuple[str, int]] = []
        # Methods that exist only in an application's context (Open Lines: bitrix/sandbox_app.py); through
        # the webhook they are refused as Bitrix24 does (WRONG_AUTH_TYPE).
        self.app_methods: dict[str, Any] = {}
        # contact ids by (PHONE|EMAIL|IM, value as compared): lookups stay cheap with thousands of contacts
        self._contact_index: dict[tuple[str, str], set[int]] = {}
        self._indexed: dict[int, set[tuple[str, str]]] = {}
        self._level, self._level_at = 0.0, time.monotonic()
        self.app = Starlette(
            routes=[
                Route("/rest/{user}/{code}/{method:path}", self._rest, methods=["GET", "POST"]),
                Route("/deals", self._deals_view, methods=["GET"]),
                Route("/stats", self._stats_view, methods=["GET"]),
                Route("/", self._index, methods=["GET"]),
            ]
        )

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._faults = faults
        self._random = random.Random(faults.seed)  # noqa: S311 - fault injection, not crypto

    # ---- HTTP ----------------------------------------------------------------------------
    async def _rest(self, request: Request) -> Response:
        started = time.time()
        self.state.requests += 1
        if request.path_params["user"] != self.user_id or request.path_params["code"] != self.code:
            return self.error_response(401, "NO_AUTH_FOUND", "Wrong authorization data")
        if not self._admit():
            self.state.rejected += 1
            return self.error_response(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        fault = bool(self.faults.error_rate) and self._random.random() < self.faults.error_rate
        fault_after = fault and self._random.random() < 0.5
        if fault and not fault_after:
            return self._fault()
        method = request.path_params["method"].removesuffix(".json")
        if method in self.app_methods:
            return self.error_response(401, "WRONG_AUTH_TYPE", "Current authorization type is denied for this method")
        try:
            params = await self.request_params(request)
            result = self.dispatch(method, params)
        except SandboxError as exc:
            return self.error_response(exc.status, exc.code, exc.description)
        if fault_after:
            return self._fault()
        if self.faults.latency_after_ms and (
            not self.faults.slow_methods or self.faults.slow_methods & _methods_called(method, params)
        ):
            await asyncio.sleep(self.faults.latency_after_ms / 1000)
        body: dict[str, Any] = {"result": result, "time": self.timing(started)}
        if method.endswith(".list") and isinstance(result, list):
            body["total"] = len(result)
        return JSONResponse(body)

    async def request_params(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        params: dict[str, Any] = parse_query(request.url.query) if request.url.query else {}
        if raw and "json" in content_type:
            try:
                loaded = json.loads(raw)
            except json.JSONDecodeError:
                raise SandboxError(400, "INVALID_REQUEST", "Request body is not valid JSON") from None
            if not isinstance(loaded, dict):
                raise SandboxError(400, "INVALID_REQUEST", "Request body must be an object")
            params.update(loaded)
        elif raw:
            params.update(parse_query(raw.decode("utf-8", "replace")))
        return params

    def _admit(self) -> bool:
        if not self.enforce_rate:
            return True
        now = time.monotonic()
        self._level = max(0.0, self._level - (now - self._level_at) * self.per_second)
        self._level_at = now
        if self._level + 1 > self.burst:
            return False
        self._level += 1
        return True

    def _fault(self) -> Response:
        self.state.failed += 1
        if self._random.random() < 0.5:
            return PlainTextResponse("<html>502 Bad Gateway</html>", status_code=502)
        return self.error_response(500, "INTERNAL_SERVER_ERROR", "Internal server error")

    def timing(self, started: float) -> dict[str, Any]:
        finish = time.time()
        return {
            "start": started,
            "finish": finish,
            "duration": finish - started,
            "processing": finish - started,
            "date_start": datetime.fromtimestamp(started, UTC).isoformat(),
            "date_finish": datetime.fromtimestamp(finish, UTC).isoformat(),
            "operating_reset_at": int(started) + 600,
            "operating": 0,
        }

    @staticmethod
    def error_response(status: int, code: str, description: str) -> JSONResponse:
        return JSONResponse({"error": code, "error_description": description}, status_code=status)

    async def _deals_view(self, request: Request) -> Response:
        deals = []
        for deal in self.state.deals.values():
            contacts = [self.state.contacts[c] for c in deal.get("CONTACT_IDS", []) if c in self.state.contacts]
            comments = [
                c["COMMENT"]
                for c in self.state.comments.values()
                if c["ENTITY_TYPE"] == "deal" and c["ENTITY_ID"] == deal["ID"]
            ]
            deals.append({**deal, "contacts": contacts, "timeline": comments})
        return JSONResponse(deals)

    async def _stats_view(self, request: Request) -> Response:
        s = self.state
        return JSONResponse(
            {
                "requests": s.requests,
                "rejected": s.rejected,
                "failed": s.failed,
                "contacts": len(s.contacts),
                "deals": len(s.deals),
                "comments": len(s.comments),
                "calls": s.calls,
            }
        )

    async def _index(self, request: Request) -> Response:
        return PlainTextResponse(
            "lead-gateway Bitrix24 sandbox\n"
            f"REST webhook: /rest/{self.user_id}/{self.code}/<method>\n"
            "GET /deals  what landed (deals with contacts and timeline)\nGET /stats  counters\n"
        )

    # ---- methods -------------------------------------------------------------------------
    def dispatch(self, method: str, params: dict[str, Any]) -> Any:
        self.state.calls[method] = self.state.calls.get(method, 0) + 1
        if method in self.app_methods:
            return self.app_methods[method](params)
        handler = _METHODS.get(method)
        if method in self.faults.refuse:
            raise SandboxError(400, "", self.faults.refuse[method])
        if handler is None:
            raise SandboxError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
        return handler(self, params)

    def _batch(self, params: dict[str, Any]) -> Any:
        cmd = params.get("cmd")
        if not isinstance(cmd, dict) or not cmd:
            raise SandboxError(400, "INVALID_ARG_VALUE", "Parameter 'cmd' must be a non-empty array")
        if len(cmd) > 50:
            raise SandboxError(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
        halt = str(params.get("halt", "0")).lower() in ("1", "true", "y")
        results: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for key, line in cmd.items():
            method, _, query = str(line).partition("?")
            if method == "batch":
                raise SandboxError(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage")
            try:
                sub = _resolve_refs(parse_query(query), results)
                results[key] = self.dispatch(method, sub)
            except SandboxError as exc:
                errors[key] = {"error": exc.code, "error_description": exc.description}
                if halt:
                    break
        return {
            "result": results or [],
            "result_error": errors or [],
            "result_total": [],
            "result_next": [],
            "result_time": [],
        }

    def _add(self, store: dict[int, dict[str, Any]], params: dict[str, Any]) -> int:
        fields = _fields(params)
        now = _portal_now()
        record: dict[str, Any] = {"ID": 0, "DATE_CREATE": now, "DATE_MODIFY": now}
        entity_id = self.state.new_id()
        record["ID"] = entity_id
        _apply(record, fields)
        store[entity_id] = record
        if store is self.state.contacts:
            self._index_contact(record)
        if store is self.state.deals:
            record.setdefault("STAGE_ID", "NEW")
            record.setdefault("IS_RETURN_CUSTOMER", "N")
            self._stage_semantic(record)
            self._emit("ONCRMDEALADD", entity_id)
        return entity_id

    def _update(self, store: dict[int, dict[str, Any]], params: dict[str, Any]) -> bool:
        record = store.get(_int(params.get("id", params.get("ID"))))
        if record is None:
            raise SandboxError(400, "", "Not found")
        _apply(record, _fields(params))
        record["DATE_MODIFY"] = _portal_now()
        if store is self.state.contacts:
            self._index_contact(record)
        if store is self.state.deals:
            self._stage_semantic(record)
            self._emit("ONCRMDEALUPDATE", int(record["ID"]))
        return True

    def _index_contact(self, contact: dict[str, Any]) -> None:
        contact_id = int(contact["ID"])
        for key in self._indexed.pop(contact_id, set()):
            self._contact_index.get(key, set()).discard(contact_id)
        keys = {
            (kind, _comm_key(kind, str(m.get("VALUE", ""))) if kind != "IM" else str(m.get("VALUE", "")))
            for kind in ("PHONE", "EMAIL", "IM")
            for m in contact.get(kind, [])
        }
        for key in keys:
            self._contact_index.setdefault(key, set()).add(contact_id)
        self._indexed[contact_id] = keys

    def _stage_semantic(self, deal: dict[str, Any]) -> None:
        """STAGE_SEMANTIC_ID is read-only and follows the stage: P in progress, S success, F failure."""
        semantics = next(
            (
                s.get("SEMANTICS")
                for s in self.state.statuses
                if s["ENTITY_ID"].startswith("DEAL_STAGE") and s["STATUS_ID"] == deal.get("STAGE_ID")
            ),
            None,
        )
        deal["STAGE_SEMANTIC_ID"] = semantics or "P"

    def _emit(self, event: str, entity_id: int, data_key: str = "data[FIELDS][ID]") -> None:
        for url, token in self.event_handlers:
            body = {
                "event": event,
                "event_handler_id": "1",
                data_key: str(entity_id),
                "ts": str(int(time.time())),
                "auth[domain]": "sandbox.bitrix24.local",
                "auth[client_endpoint]": self.url or "http://127.0.0.1/rest/",
                "auth[member_id]": "sandbox",
                "auth[application_token]": token,
            }
            try:
                task = asyncio.get_running_loop().create_task(self._deliver(url, body, event, entity_id))
            except RuntimeError:  # no loop (a synchronous caller): nothing to deliver with
                return
            self._event_tasks.add(task)
            task.add_done_callback(self._event_tasks.discard)

    async def _deliver(self, url: str, body: dict[str, str], event: str, entity_id: int) -> None:
        import httpx

        if self._event_client is None:
            self._event_client = httpx.AsyncClient(timeout=10)
        try:
            await self._event_client.post(url, data=body)
            self.events_sent.append((event, entity_id))
        except httpx.HTTPError:
            pass  # Bitrix24 does not retry either

    def _get(self, store: dict[int, dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        record = store.get(_int(params.get("id", params.get("ID"))))
        if record is None:
            raise SandboxError(400, "", "Not found")
        return _public(record)

    def _list(self, store: dict[int, dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
        flt = params.get("filter") or {}
        if not isinstance(flt, dict):
            raise SandboxError(400, "", "Parameter 'filter' must be array.")
        candidates: Iterable[dict[str, Any]] = store.values()
        if store is self.state.contacts and isinstance(flt.get("IM"), str):  # by a channel identity
            candidates = [store[i] for i in self._contact_index.get(("IM", flt["IM"]), set()) if i in store]
        rows = _where(candidates, flt)
        rows.sort(key=lambda r: int(r["ID"]))
        start = _int(params.get("start", 0)) if str(params.get("start", "0")).lstrip("-").isdigit() else 0
        rows = rows[max(start, 0) : max(start, 0) + 50]
        select = params.get("select")
        if isinstance(select, list) and select and "*" not in select:
            return [{k: _public(r).get(k) for k in ["ID", *select] if k in r or k == "ID"} for r in rows]
        return [_public(r) for r in rows]

    def _findbycomm(self, params: dict[str, Any]) -> Any:
        kind = str(params.get("type", "")).upper()
        values = params.get("values")
        if isinstance(values, dict):  # `values[0]=...` in a batch command: a PHP array all the same
            values = list(values.values())
        if kind not in ("PHONE", "EMAIL"):
            raise SandboxError(400, "Communication type is not defined", "")
        if not isinstance(values, list) or not values:
            raise SandboxError(400, "Communication values is not defined", "")
        wanted = {_comm_key(kind, str(v)) for v in values[:20]}
        entity = str(params.get("entity_type", "CONTACT")).upper()
        if entity != "CONTACT":
            return []
        found = sorted(set().union(*(self._contact_index.get((kind, key), set()) for key in wanted)))
        return {"CONTACT": found[:20]} if found else []

    def _comment_add(self, params: dict[str, Any]) -> int:
        fields = params.get("fields")
        if not isinstance(fields, dict):
            raise SandboxError(400, "100", "Required fields are missing")
        if not str(fields.get("COMMENT", "")).strip():
            raise SandboxError(400, "INVALID_ARG_VALUE", "Empty comment")
        entity_type = str(fields.get("ENTITY_TYPE", "")).lower()
        entity_id = _int(fields.get("ENTITY_ID"))
        store = {"deal": self.state.deals, "contact": self.state.contacts}.get(entity_type)
        if store is None or entity_id not in store:
            raise SandboxError(400, "OWNER_NOT_FOUND", "Owner not found")
        comment_id = self.state.new_id()
        self.state.comments[comment_id] = {
            "ID": comment_id,
            "ENTITY_TYPE": entity_type,
            "ENTITY_ID": entity_id,
            "COMMENT": str(fields["COMMENT"]),
            "CREATED": datetime.now(UTC).isoformat(),
        }
        return comment_id

    def _comment_list(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        flt = params.get("filter") or {}
        return [dict(c) for c in _where(self.state.comments.values(), flt if isinstance(flt, dict) else {})]

    def _status_list(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        flt = params.get("filter") or {}
        rows = _where(self.state.statuses, flt if isinstance(flt, dict) else {})
        return [{"ID": i + 1, **s} for i, s in enumerate(rows)]

    def _status_add(self, params: dict[str, Any]) -> int:
        fields = _fields(params)
        if not fields.get("ENTITY_ID") or not fields.get("STATUS_ID"):
            raise SandboxError(400, "", "Required fields ENTITY_ID, STATUS_ID")
        if any(
            s["ENTITY_ID"] == fields["ENTITY_ID"] and s["STATUS_ID"] == fields["STATUS_ID"] for s in self.state.statuses
        ):
            raise SandboxError(400, "", "Status already exists")
        self.state.statuses.append(
            {
                "ENTITY_ID": fields["ENTITY_ID"],
                "STATUS_ID": fields["STATUS_ID"],
                "NAME": fields.get("NAME", fields["STATUS_ID"]),
                "SORT": 500,
                "SYSTEM": "N",
            }
        )
        return len(self.state.statuses)


class _Activities:
    """To-dos on a deal's timeline (crm.activity.todo.add), closed by crm.activity.update COMPLETED=Y."""

    @staticmethod
    def todo_add(sandbox: Sandbox, params: dict[str, Any]) -> Any:
        owner_type, owner = _int(params.get("ownerTypeId")), _int(params.get("ownerId"))
        if owner_type != 2 or owner not in sandbox.state.deals:
            raise SandboxError(400, "NOT_FOUND", "Owner not found")
        if not params.get("deadline"):
            raise SandboxError(400, "ERROR_CORE", "deadline is required")
        activity_id = sandbox.state.new_id()
        sandbox.state.activities[activity_id] = {
            "ID": activity_id,
            "OWNER_TYPE_ID": owner_type,
            "OWNER_ID": owner,
            "DEADLINE": str(params["deadline"]),
            "SUBJECT": str(params.get("title", "")),
            "DESCRIPTION": str(params.get("description", "")),
            "RESPONSIBLE_ID": _int(params.get("responsibleId") or 1),
            "COMPLETED": "N",
        }
        return {"id": activity_id}

    @staticmethod
    def update_description(sandbox: Sandbox, params: dict[str, Any]) -> Any:
        activity = sandbox.state.activities.get(_int(params.get("id")))
        owner = (_int(params.get("ownerTypeId")), _int(params.get("ownerId")))
        if activity is None or owner != (activity["OWNER_TYPE_ID"], activity["OWNER_ID"]):
            raise SandboxError(400, "NOT_FOUND", "Activity not found")
        if "value" not in params:
            raise SandboxError(400, "ERROR_CORE", "value is required")
        activity["DESCRIPTION"] = str(params["value"])
        return {"success": True}

    @staticmethod
    def update(sandbox: Sandbox, params: dict[str, Any]) -> Any:
        activity = sandbox.state.activities.get(_int(params.get("id", params.get("ID"))))
        if activity is None:
            raise SandboxError(400, "NOT_FOUND", "Activity not found")
        fields = params.get("fields") or {}
        if "COMPLETED" in fields:
            activity["COMPLETED"] = "Y" if str(fields["COMPLETED"]) in ("Y", "1", "true") else "N"
        return True


class _ProductRows:
    """crm.item.productrow.set/list for deals (ownerType D): `set` replaces every row, `price` is the unit
    price after the discount, and the deal's OPPORTUNITY becomes the rows' total."""

    @staticmethod
    def _deal(sandbox: Sandbox, owner_type: Any, owner_id: Any) -> int:
        deal_id = _int(owner_id)
        if str(owner_type) != "D" or deal_id not in sandbox.state.deals:
            raise SandboxError(400, "NOT_FOUND", "Owner not found")
        return deal_id

    @staticmethod
    def set(sandbox: Sandbox, params: dict[str, Any]) -> Any:
        deal_id = _ProductRows._deal(sandbox, params.get("ownerType"), params.get("ownerId"))
        rows, sent = [], params.get("productRows") or []
        if isinstance(sent, dict):  # productRows[0][price]=... in a batch's query string
            sent = [sent[k] for k in sorted(sent, key=_int)]
        for given in sent:
            price, quantity = float(given.get("price", 0)), float(given.get("quantity", 1))
            discount = float(given.get("discountSum", 0))
            row = {
                "id": sandbox.state.new_id(),
                "ownerId": deal_id,
                "ownerType": "D",
                "productId": _int(given.get("productId", 0)),
                "productName": str(given.get("productName", "")),
                "price": price,
                "priceNetto": price + discount,
                "quantity": quantity,
                "discountTypeId": _int(given.get("discountTypeId", 2)),
                "discountRate": float(given.get("discountRate", 0)),
                "discountSum": discount,
                "taxRate": given.get("taxRate"),
                "taxIncluded": given.get("taxIncluded", "N"),
                "measureCode": _int(given.get("measureCode", 796)),
            }
            rows.append(row)
        sandbox.state.product_rows[deal_id] = rows
        total = round(sum(r["price"] * r["quantity"] for r in rows), 2)
        return (
            {"productRows": rows}
            if sandbox._update(sandbox.state.deals, {"id": deal_id, "fields": {"OPPORTUNITY": total}})
            else None
        )

    @staticmethod
    def list(sandbox: Sandbox, params: dict[str, Any]) -> Any:
        wanted = params.get("filter") or {}
        deal_id = _ProductRows._deal(sandbox, wanted.get("=ownerType"), wanted.get("=ownerId"))
        return {"productRows": list(sandbox.state.product_rows.get(deal_id, []))}


class _Booking:
    """booking.v1.*, as the REST docs describe them: numeric error codes, `{result: {booking: ...}}`."""

    @staticmethod
    def resource_add(sandbox: Sandbox, params: dict[str, Any]) -> Any:
        fields = _fields(params)
        if not fields.get("name"):
            raise SandboxError(400, "100", "Could not find value for parameter 'name'")
        resource_id = sandbox.state.new_id()
        sandbox.state.resources[resource_id] = {
            "id": resource_id,
            "name": str(fields["name"]),
            "typeId": fields.get("typeId"),
        }
        return {"resource": sandbox.state.resources[resource_id]}

    @staticmethod
    def resource_list(sandbox: Sandbox, params: dict[str, Any]) -> Any:
        return {"resource": list(sandbox.state.resources.values())}

    @staticmethod
    def _resource(sandbox: Sandbox, params: dict[str, Any]) -> int:
        resource_id = _int(params.get("resourceId", 0))
        if resource_id not in sandbox.state.resources:
            raise SandboxError(400, "1009", "Resource not found")
        return resource_id

    @staticmethod
    def slots_set(sandbox: Sandbox, params: dict[str, Any]) -> Any:
        resource_id = _Booking._resource(sandbox, params)
        rules = []
        for rule in _as_list(params.get("slots")):
            if not isinstance(rule, dict):
                continue
            rules.append(
                {
                    "id": sandbox.state.new_id(),
                    "from": _int(rule.get("from", 0)),
                    "to": _int(rule.get("to", 0)),
                    "timezone": str(rule.get("timezone") or "Europe/Moscow"),
                    "weekDays": [str(d) for d in _as_list(rule.get("weekDays"))],
                    "slotSize": _int(rule.get("slotSize", 60)),
                }
            )
        sandbox.state.slots[resource_id] = rules
        return True

    @staticmethod
    def slots_list(sandbox: Sandbox, params: dict[str, Any]) -> Any:
        return {"slots": sandbox.state.slots.get(_Booking._resource(sandbox, params), [])}

    @staticmethod
    def _period(fields: dict[str, Any]) -> tuple[int, int]:
        period = fields.get("datePeriod")
        try:
            start = _int(period["from"]["timestamp"])  # type: ignore[index]
            end = _int(period["to"]["timestamp"])  # type: ignore[index]
        except (KeyError, TypeError):
            raise SandboxError(400, "422", "Invalid date period") from None
        if end <= start:
            raise SandboxError(400, "422", "Invalid date period")
        return start, end

    @staticmethod
    def _check_free(sandbox: Sandbox, resources: list[int], start: int, end: int, besides: int | None) -> None:
        if not resources or any(r not in sandbox.state.resources for r in resources):
            raise SandboxError(400, "1018", "Empty resource collection")
        for other in sandbox.state.bookings.values():
            if other["id"] == besides or not set(other["resourceIds"]) & set(resources):
                continue
            o_start, o_end = _span(other)
            if o_start < end and start < o_end:  # the resource is taken then
                raise SandboxError(400, "1018", "Empty resource collection")

    @staticmethod
    def _public(booking: dict[str, Any]) -> dict[str, Any]:
        return {k: booking[k] for k in ("id", "name", "description", "datePeriod", "resourceIds")}

    @staticmethod
    def add(sandbox: Sandbox, params: dict[str, Any]) -> Any:
        fields = _fields(params)
        resources = [_int(r) for r in _as_list(fields.get("resourceIds"))]
        start, end = _Booking._period(fields)
        _Booking._check_free(sandbox, resources, start, end, None)
        booking_id = sandbox.state.new_id()
        period = fields["datePeriod"]
        sandbox.state.bookings[booking_id] = {
            "id": booking_id,
            "name": str(fields.get("name") or f"booking {booking_id}"),
            "description": fields.get("description"),
            "datePeriod": {
                "from": {"timestamp": start, "timezone": str(period["from"].get("timezone", ""))},
                "to": {"timestamp": end, "timezone": str(period["to"].get("timezone", ""))},
            },
            "resourceIds": resources,
            "clients": [],
            "externalData": [],
        }
        sandbox._emit("ONBOOKINGADD", booking_id, data_key="data[ID]")
        return {"id": booking_id}

    @staticmethod
    def _booking(sandbox: Sandbox, params: dict[str, Any], key: str = "id", missing: str = "1021") -> dict[str, Any]:
        booking = sandbox.state.bookings.get(_int(params.get(key, 0)))
        if booking is None:
            raise SandboxError(400, missing, "Booking not found")
        return booking

    @staticmethod
    def get(sandbox: Sandbox, params: dict[str, Any]) -> Any:
        return {"booking": _Booking._public(_Booking._booking(sandbox, params))}

    @staticmethod
    def update(sandbox: Sandbox, params: dict[str, Any]) -> Any:
        booking = _Booking._booking(sandbox, params, missing="1019")
        fields = _fields(params)
        resources = [_int(r) for r in _as_list(fields.get("resourceIds"))] or booking["resourceIds"]
        if "datePeriod" in fields:
            start, end = _Booking._period(fields)
        else:
            start, end = booking["datePeriod"]["from"]["timestamp"], booking["datePeriod"]["to"]["timestamp"]
        _Booking._check_free(sandbox, resources, start, end, booking["id"])
        booking["resourceIds"] = resources
        booking["datePeriod"]["from"]["timestamp"], booking["datePeriod"]["to"]["timestamp"] = start, end
        for key in ("name", "description"):
            if key in fields:
                booking[key] = fields[key]
        sandbox._emit("ONBOOKINGUPDATE", booking["id"], data_key="data[ID]")
        return {"booking": _Booking._public(booking)}

    @staticmethod
    def delete(sandbox: Sandbox, params: dict[str, Any]) -> Any:
        booking = _Booking._booking(sandbox, params)
        del sandbox.state.bookings[booking["id"]]
        sandbox._emit("ONBOOKINGDELETE", booking["id"], data_key="data[ID]")
        return True

    @staticmethod
    def list(sandbox: Sandbox, params: dict[str, Any]) -> Any:
        flt = params.get("filter") or params.get("FILTER") or {}
        flt = flt if isinstance(flt, dict) else {}
        rows = list(sandbox.state.bookings.values())
        within = flt.get("within")
        if isinstance(within, dict):
            low, high = _int(within.get("dateFrom", 0)), _int(within.get("dateTo", 0))
            rows = [
                b
                for b in rows
                if b["datePeriod"]["from"]["timestamp"] < high and b["datePeriod"]["to"]["timestamp"] > low
            ]
        client = flt.get("client")
        if isinstance(client, dict):
            wanted = {
                (str(e.get("code")), str(e.get("id"))) for e in _as_list(client.get("entities")) if isinstance(e, dict)
            }
            rows = [b for b in rows if any((c["type"]["code"], str(c["id"])) in wanted for c in b["clients"])]
        start = max(_int(params.get("start", 0) or 0), 0)
        return {"booking": [_Booking._public(b) for b in rows[start : start + 50]]}

    @staticmethod
    def client_set(sandbox: Sandbox, params: dict[str, Any]) -> Any:
        booking = _Booking._booking(sandbox, params, key="bookingId")
        clients = []
        for client in _as_list(params.get("clients")):
            if isinstance(client, dict) and isinstance(client.get("type"), dict):
                kind = client["type"]
                clients.append(
                    {"id": _int(client.get("id")), "type": {"module": kind.get("module"), "code": kind.get("code")}}
                )
        booking["clients"] = clients
        return True

    @staticmethod
    def external_set(sandbox: Sandbox, params: dict[str, Any]) -> Any:
        booking = _Booking._booking(sandbox, params, key="bookingId")
        booking["externalData"] = [
            {
                "moduleId": str(e.get("moduleId")),
                "entityTypeId": str(e.get("entityTypeId")),
                "value": str(e.get("value")),
            }
            for e in _as_list(params.get("externalData"))
            if isinstance(e, dict)
        ]
        return True

    @staticmethod
    def external_list(sandbox: Sandbox, params: dict[str, Any]) -> Any:
        return {"externalData": _Booking._booking(sandbox, params, key="bookingId")["externalData"]}


def _span(booking: dict[str, Any]) -> tuple[int, int]:
    return booking["datePeriod"]["from"]["timestamp"], booking["datePeriod"]["to"]["timestamp"]


def _as_list(value: Any) -> list[Any]:
    """A list from JSON, or from a form's `key[0]=...` (a dict by index)."""
    if isinstance(value, dict):
        return list(value.values())
    return list(value) if isinstance(value, list) else []


def _portal_now() -> str:
    """The portal's clock, as Bitrix24 writes it: ISO 8601 with the portal's offset (here Moscow's)."""
    return datetime.now(UTC).astimezone(MOSCOW).isoformat(timespec="seconds")


def _methods_called(method: str, params: dict[str, Any]) -> set[str]:
    """The method, or for a batch the methods of its commands."""
    cmd = params.get("cmd") if method == "batch" else None
    if isinstance(cmd, dict):
        return {str(line).partition("?")[0] for line in cmd.values()}
    return {method}


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise SandboxError(400, "", f"Invalid ID {value!r}") from None


def _fields(params: dict[str, Any]) -> dict[str, Any]:
    fields = params.get("fields", params.get("FIELDS"))
    if not isinstance(fields, dict):
        raise SandboxError(400, "", "Parameter 'fields' must be array.")
    return fields


def _apply(record: dict[str, Any], fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        if key in MULTIFIELDS:
            _apply_multifield(record, key, value)
        elif key == "CONTACT_IDS":
            ids = list(value.values()) if isinstance(value, dict) else list(value or [])
            record["CONTACT_IDS"] = [_int(v) for v in ids]
            record["CONTACT_ID"] = record["CONTACT_IDS"][0] if record["CONTACT_IDS"] else None
        else:
            record[key] = value


def _apply_multifield(record: dict[str, Any], key: str, value: Any) -> None:
    entries = list(value.values()) if isinstance(value, dict) else list(value or [])
    current: list[dict[str, Any]] = record.setdefault(key, [])
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if entry.get("ID"):
            target = next((m for m in current if str(m["ID"]) == str(entry["ID"])), None)
            if target is None:
                continue
            if entry.get("DELETE") == "Y" or entry.get("VALUE") == "":
                current.remove(target)
            else:
                target.update({k: v for k, v in entry.items() if k in ("VALUE", "VALUE_TYPE")})
        elif entry.get("VALUE"):
            current.append(
                {
                    "ID": str(next(_multifield_ids)),
                    "TYPE_ID": key,
                    "VALUE": str(entry["VALUE"]),
                    "VALUE_TYPE": entry.get("VALUE_TYPE", "WORK"),
                }
            )


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if k in ("ID", "CONTACT_ID") and v is not None else v) for k, v in record.items()}


def _comm_key(kind: str, value: str) -> str:
    if kind == "EMAIL":
        return value.strip().lower()
    digits = re.sub(r"\D", "", value.split(";")[0].split(",")[0])
    return digits[-10:] if len(digits) >= 10 else digits


def _where(rows: Iterable[dict[str, Any]], flt: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows a list method's `filter` selects (every condition must hold)."""
    return [r for r in rows if all(_matches(r, k, v) for k, v in flt.items())]


def _matches(record: dict[str, Any], key: str, expected: Any) -> bool:
    match = _FILTER_OP.match(key)
    op, name = (match.group(1) or "", match.group(2)) if match else ("", key)
    actual = record.get(name)
    if name in MULTIFIELDS:
        values = {str(m.get("VALUE")) for m in (actual or [])}
        hit = str(expected) in values
        return not hit if op in ("!", "!=") else hit
    if op in ("@", "!@"):
        pool = {str(v) for v in (expected if isinstance(expected, list) else [expected])}
        return (str(actual) in pool) == (op == "@")
    if op in (">", "<", ">=", "<="):
        a, b = _comparable(actual), _comparable(expected)
        if a is None or b is None or type(a) is not type(b):
            return False
        return {">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]  # type: ignore[operator]
    if op in ("%", "=%", "%="):
        return str(expected).lower() in str(actual or "").lower()
    equal = str(actual if actual is not None else "") == str(expected)
    return not equal if op in ("!", "!=") else equal


def _comparable(value: Any) -> float | datetime | None:
    """A number, or a date-time (dates compare by instant; one without an offset is the portal's time)."""
    try:
        return float(str(value))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=MOSCOW)


def _resolve_refs(node: Any, results: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        return {k: _resolve_refs(v, results) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve_refs(v, results) for v in node]
    if isinstance(node, str):
        match = _REF.match(node)
        if match:
            value: Any = results.get(match.group(1))
            for part in re.findall(r"\[([^\]]*)\]", match.group(2)):
                if isinstance(value, list) and part.isdigit():
                    value = value[int(part)] if int(part) < len(value) else None
                elif isinstance(value, dict):
                    value = value.get(part)
                else:
                    value = None
            return "" if value is None else value
    return node


_METHODS: dict[str, Any] = {
    "batch": Sandbox._batch,
    "crm.contact.add": lambda s, p: s._add(s.state.contacts, p),
    "crm.contact.update": lambda s, p: s._update(s.state.contacts, p),
    "crm.contact.get": lambda s, p: s._get(s.state.contacts, p),
    "crm.contact.list": lambda s, p: s._list(s.state.contacts, p),
    "crm.deal.add": lambda s, p: s._add(s.state.deals, p),
    "crm.deal.update": lambda s, p: s._update(s.state.deals, p),
    "crm.deal.get": lambda s, p: s._get(s.state.deals, p),
    "crm.deal.list": lambda s, p: s._list(s.state.deals, p),
    "crm.duplicate.findbycomm": Sandbox._findbycomm,
    "crm.timeline.comment.add": Sandbox._comment_add,
    "crm.activity.todo.add": lambda s, p: _Activities.todo_add(s, p),
    "crm.activity.update": lambda s, p: _Activities.update(s, p),
    "crm.activity.todo.updateDescription": lambda s, p: _Activities.update_description(s, p),
    "crm.activity.get": lambda s, p: s._get(s.state.activities, p),
    "crm.timeline.comment.list": Sandbox._comment_list,
    "crm.status.list": Sandbox._status_list,
    "crm.item.productrow.set": _ProductRows.set,
    "crm.item.productrow.list": _ProductRows.list,
    "crm.status.add": Sandbox._status_add,
    "crm.settings.mode.get": lambda s, p: 1,
    "booking.v1.resource.add": _Booking.resource_add,
    "booking.v1.resource.list": _Booking.resource_list,
    "booking.v1.resource.slots.set": _Booking.slots_set,
    "booking.v1.resource.slots.list": _Booking.slots_list,
    "booking.v1.booking.add": _Booking.add,
    "booking.v1.booking.get": _Booking.get,
    "booking.v1.booking.update": _Booking.update,
    "booking.v1.booking.delete": _Booking.delete,
    "booking.v1.booking.list": _Booking.list,
    "booking.v1.booking.client.set": _Booking.client_set,
    "booking.v1.booking.externalData.set": _Booking.external_set,
    "booking.v1.booking.externalData.list": _Booking.external_list,
}
