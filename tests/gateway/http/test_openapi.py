"""openapi.yaml and the app agree: the same routes, and real answers fit the documented responses."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from fastapi.routing import APIRoute

from adapters.meta.signature import sign
from gateway.bootstrap import build_runtime
from gateway.http.app import create_app
from tests.conftest import ROOT, SECRET, fixture_json, gateway

SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))


def resolve(node: Any) -> Any:
    """Inline local `$ref`s so jsonschema sees plain schemas."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = SPEC
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return resolve(target)
        return {k: resolve(v) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v) for v in node]
    return node


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """The app's API routes; FastAPI 0.165 wraps each included router (we use no prefixes)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(api_routes(route.original_router.routes))
    return found


def test_the_spec_lists_exactly_the_apps_routes(make_config):
    app = create_app(build_runtime(make_config(None, "http://127.0.0.1:1"), "redis://127.0.0.1:1", sandbox_base=""))
    served = {(r.path, m.lower()) for r in api_routes(app.routes) for m in (r.methods or ()) if m != "HEAD"}
    documented = {(path, method) for path, item in SPEC["paths"].items() for method in item}
    assert served == documented


def check_against_spec(path: str, method: str, response: httpx.Response) -> None:
    operation = SPEC["paths"][path][method]
    documented = resolve(operation["responses"]).get(str(response.status_code))
    assert documented is not None, f"{method.upper()} {path} answered {response.status_code}, not documented"
    media = response.headers["content-type"].split(";")[0]
    content = documented["content"]
    assert media in content, f"{method.upper()} {path} {response.status_code}: {media} not documented"
    body = response.json() if media == "application/json" else response.text
    jsonschema.validate(body, content[media]["schema"])


async def test_real_answers_fit_the_documented_responses(make_config, portal):
    channels = {
        "telegram": {"bot_token": "1:t", "secret_token": SECRET, "api_base": "http://127.0.0.1:1"},
        "whatsapp": {
            "phone_number_id": "106540352242922",
            "access_token": "t",
            "app_secret": "s",
            "verify_token": "v",
            "api_base": "http://127.0.0.1:1",
        },
    }
    config = make_config(portal.url, "http://127.0.0.1:1", channels=channels)
    update = fixture_json("channels/telegram_01_text_message.json")
    whatsapp = json.dumps(fixture_json("channels/whatsapp_01_text_message.json")).encode()
    tg, wa = "/webhooks/{tenant}/telegram", "/webhooks/{tenant}/whatsapp"
    tg_headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    handshake = {"hub.mode": "subscribe", "hub.verify_token": "v", "hub.challenge": "42"}
    async with gateway(config) as (client, _runtime):
        requests: list[tuple[str, str, httpx.Response]] = [
            (tg, "post", await client.post("/webhooks/salon/telegram", json=update, headers=tg_headers)),
            (tg, "post", await client.post("/webhooks/salon/telegram", json=update, headers=tg_headers)),
            (tg, "post", await client.post("/webhooks/salon/telegram", json=update)),
            (
                tg,
                "post",
                await client.post("/webhooks/salon/telegram", json=update, headers={tg_headers.popitem()[0]: "x"}),
            ),
            (tg, "post", await client.post("/webhooks/nope/telegram", json=update)),
            (wa, "get", await client.get("/webhooks/salon/whatsapp", params=handshake)),
            (wa, "get", await client.get("/webhooks/salon/whatsapp", params={**handshake, "hub.verify_token": "x"})),
            (
                wa,
                "post",
                await client.post(
                    "/webhooks/salon/whatsapp", content=whatsapp, headers={"X-Hub-Signature-256": sign(whatsapp, "s")}
                ),
            ),
            (
                wa,
                "post",
                await client.post(
                    "/webhooks/salon/whatsapp", content=b"[", headers={"X-Hub-Signature-256": sign(b"[", "s")}
                ),
            ),
            (
                wa,
                "post",
                await client.post(
                    "/webhooks/salon/whatsapp", content=b"x" * (1 << 21), headers={"X-Hub-Signature-256": "sha256=0"}
                ),
            ),
            ("/webhooks/{tenant}/instagram", "post", await client.post("/webhooks/salon/instagram", content=b"{}")),
            ("/healthz", "get", await client.get("/healthz")),
            ("/readyz", "get", await client.get("/readyz")),
            ("/metrics", "get", await client.get("/metrics")),
        ]
    statuses = [r.status_code for _, _, r in requests]
    assert statuses == [200, 200, 401, 403, 404, 200, 403, 200, 400, 413, 404, 200, 200, 200]
    for path, method, response in requests:
        check_against_spec(path, method, response)


@pytest.mark.parametrize("path", list(SPEC["paths"]))
def test_every_operation_has_a_summary_and_an_id(path):
    for operation in SPEC["paths"][path].values():
        assert operation["summary"] and operation["operationId"]
