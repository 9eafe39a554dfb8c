"""Schemathesis fuzzes every operation in openapi.yaml against the app (real Redis): no answer is a 5xx,
and every answer matches what the file documents."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from gateway.bootstrap import build_runtime
from gateway.http.app import create_app
from gateway.settings import parse_config
from tests.conftest import REDIS_URL, ROOT, SECRET, LoopbackServer

schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml")


@pytest.fixture(scope="module")
def app():
    channel = {"access_token": "t", "app_secret": "s", "verify_token": "v", "api_base": "http://127.0.0.1:1"}
    config = parse_config(
        {
            "redis_url": REDIS_URL,
            "tenants": {
                "salon": {
                    "bitrix": {"webhook_url": "http://127.0.0.1:1/rest/1/x/", "application_token": "tok"},
                    "channels": {
                        "telegram": {"bot_token": "1:t", "secret_token": SECRET, "api_base": "http://127.0.0.1:1"},
                        "whatsapp": {"phone_number_id": "1", **channel},
                        "instagram": {"account_id": "2", **channel},
                    },
                }
            },
        },
        {},
    )
    app = create_app(build_runtime(config, REDIS_URL, sandbox_base="http://127.0.0.1:1"))
    with LoopbackServer(app) as server:  # real HTTP on loopback, one event loop for every request
        yield server.base


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_5xx_or_off_the_spec(case, app, redis_url):
    response = case.call(base_url=app)
    assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code} {response.text[:200]}"
    case.validate_response(response)
