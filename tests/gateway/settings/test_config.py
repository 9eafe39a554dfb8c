from typing import get_args

import pytest
from pydantic import BaseModel

from gateway.settings import ConfigError, load_config, parse_config
from tests.conftest import ROOT


def minimal(**telegram):
    tg = {"bot_token": "1:x", "secret_token": "s", **telegram}
    return {"tenants": {"salon": {"channels": {"telegram": tg}}}}


def test_env_expansion_with_default_and_value():
    config = parse_config(
        {
            "redis_url": "${REDIS:-redis://127.0.0.1:6379/0}",
            "tenants": {"salon": {"channels": {"telegram": {"bot_token": "${TOKEN}", "secret_token": "abc"}}}},
        },
        {"TOKEN": "42:secret"},
    )
    assert config.redis_url == "redis://127.0.0.1:6379/0"
    telegram = config.tenants["salon"].channels.telegram
    assert telegram is not None and telegram.bot_token == "42:secret"


def test_unset_variable_is_named_with_its_key_path():
    with pytest.raises(ConfigError) as info:
        parse_config(minimal(bot_token="${NOPE}"), {})
    assert info.value.problems == ["tenants.salon.channels.telegram.bot_token: environment variable NOPE is not set"]


def test_missing_secret_token_in_webhook_mode_names_the_key():
    data = {"tenants": {"salon": {"channels": {"telegram": {"bot_token": "1:x"}}}}}
    with pytest.raises(ConfigError) as info:
        parse_config(data, {})
    assert "tenants.salon.channels.telegram.secret_token: required when mode is webhook" in info.value.problems


def test_polling_needs_no_secret_and_typos_are_refused():
    assert parse_config({"tenants": {"a": {"channels": {"telegram": {"bot_token": "1:x", "mode": "polling"}}}}}, {})
    with pytest.raises(ConfigError) as info:
        parse_config({"tenants": {"a": {"timezon": "Europe/Moscow"}}}, {})
    assert info.value.problems == ["tenants.a.timezon: unknown key"]


@pytest.mark.parametrize(
    ("tenant", "expected"),
    [
        ({"timezone": "Mars/Base"}, "tenants.salon.timezone: unknown time zone 'Mars/Base'"),
        (
            {"hours": {"mon": "21:00-10:00"}},
            "tenants.salon.hours.mon: '21:00-10:00': closing time must be after opening time",
        ),
        (
            {"bitrix": {"webhook_url": "http://portal.example/rest/1/x/"}},
            "tenants.salon.bitrix.webhook_url: must be an https:// URL (http:// only for loopback addresses)",
        ),
    ],
)
def test_bad_values_are_reported_by_path(tenant, expected):
    with pytest.raises(ConfigError) as info:
        parse_config({"tenants": {"salon": tenant}}, {})
    assert expected in info.value.problems


def test_tenant_id_must_be_url_safe():
    with pytest.raises(ConfigError) as info:
        parse_config({"tenants": {"Salon One": {}}}, {})
    assert info.value.problems[0].startswith("tenants.Salon One")


def test_unlisted_days_inherit_the_previous_listed_day():
    config = parse_config({"tenants": {"s": {"hours": {"mon": "10:00-21:00", "sat": "10:00-18:00", "sun": None}}}}, {})
    week = config.tenants["s"].opening_hours()
    assert [w[1].hour if w else None for w in week] == [21, 21, 21, 21, 21, 18, None]


def test_loopback_http_is_allowed_for_stand_ins():
    config = parse_config(minimal(api_base="http://127.0.0.1:9999/"), {})
    telegram = config.tenants["salon"].channels.telegram
    assert telegram is not None and telegram.api_base == "http://127.0.0.1:9999"


def test_example_config_file_is_valid():
    config = load_config(ROOT / "lead-gateway.example.yaml", {})
    assert config.tenants["salon"].bitrix.webhook_url is None


def test_unreadable_and_invalid_yaml(tmp_path):
    with pytest.raises(ConfigError):
        load_config(tmp_path / "absent.yaml", {})
    broken = tmp_path / "broken.yaml"
    broken.write_text("tenants: [", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(broken, {})
    assert "not valid YAML" in info.value.problems[0]


def test_texts_and_user_fields_are_checked_by_name():
    with pytest.raises(ConfigError) as info:
        parse_config(
            {"tenants": {"s": {"texts": {"greting": "Привет"}, "bitrix": {"fields": {"service": "TITLE"}}}}}, {}
        )
    problems = "\n".join(info.value.problems)
    assert "tenants.s.texts.greting: unknown text" in problems
    assert "tenants.s.bitrix.fields.service" in problems
    with pytest.raises(ConfigError) as bad:
        parse_config({"tenants": {"s": {"texts": {"confirm": "Ждём {client}"}}}}, {})
    assert "tenants.s.texts.confirm: bad placeholder" in bad.value.problems[0]


REAL_TOKEN = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"  # BotFather's shape, not a live token


def test_going_live_with_only_the_token_set_is_refused_saying_what_to_set():
    example = ROOT / "lead-gateway.example.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(example, {"TELEGRAM_BOT_TOKEN": REAL_TOKEN})
    assert info.value.problems == [
        "tenants.salon.channels.telegram.api_base: a real bot token is pointed at the Bot API stand-in; "
        "set TELEGRAM_API_BASE=https://api.telegram.org"
    ]
    env = {"TELEGRAM_BOT_TOKEN": REAL_TOKEN, "TELEGRAM_API_BASE": "https://api.telegram.org"}
    with pytest.raises(ConfigError) as info:
        load_config(example, env)
    assert info.value.problems[0].startswith(
        "tenants.salon.channels.telegram.secret_token: the README's public example secret with a real bot token"
    )
    live = load_config(example, {**env, "TELEGRAM_SECRET_TOKEN": "a-secret_of-our-own"})
    assert live.tenants["salon"].channels.telegram is not None
    assert load_config(example, {}).tenants["salon"].channels.telegram is not None  # the sandbox as shipped


@pytest.mark.parametrize(
    ("token", "base", "secret", "field", "live_base"),
    [
        ("VK_TOKEN", "VK_API_BASE", "VK_SECRET", "channels.vk", "https://api.vk.com/method"),
        ("MAX_BOT_TOKEN", "MAX_API_BASE", "MAX_SECRET", "channels.max", "https://platform-api.max.ru"),
        ("SMSRU_API_ID", "SMS_API_BASE", None, "sms", "https://sms.ru"),
        ("YK_SECRET", "YK_API_BASE", None, "payments", "https://api.yookassa.ru/v3"),
    ],
)
def test_a_credential_of_ones_own_is_refused_at_the_stand_in_and_with_the_public_secret(
    token, base, secret, field, live_base
):
    example = ROOT / "lead-gateway.example.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(example, {token: "one-of-our-own-0123456789"})
    assert info.value.problems[0].startswith(f"tenants.salon.{field}.api_base: ")
    assert f"of your own is pointed at the stand-in; set {base}={live_base}" in info.value.problems[0]
    live = {token: "one-of-our-own-0123456789", base: live_base}
    if secret is not None:
        with pytest.raises(ConfigError) as info:
            load_config(example, live)
        assert info.value.problems[0].startswith(f"tenants.salon.{field}.secret: the README's public example secret")
        live[secret] = "a-secret_of-our-own"
    assert load_config(example, live).tenants["salon"] is not None


def test_every_unset_variable_and_every_bad_day_is_reported_at_once():
    data = minimal(bot_token="${TOKEN_A}", secret_token="${SECRET_B}")
    with pytest.raises(ConfigError) as info:
        parse_config(data, {})
    assert info.value.problems == [
        "tenants.salon.channels.telegram.bot_token: environment variable TOKEN_A is not set",
        "tenants.salon.channels.telegram.secret_token: environment variable SECRET_B is not set",
    ]
    data["tenants"]["salon"]["hours"] = {"mon": "21:00-10:00", "tue": "10:00-21:00", "sat": "nine to five"}
    with pytest.raises(ConfigError) as info:
        parse_config(data, {"TOKEN_A": "1:x", "SECRET_B": "s"})
    assert info.value.problems == [
        "tenants.salon.hours.mon: '21:00-10:00': closing time must be after opening time",
        "tenants.salon.hours.sat: 'nine to five': expected HH:MM-HH:MM or null (closed)",
    ]


def _field_names(model: type[BaseModel], seen: set[type] | None = None) -> set[str]:
    """Every key a settings model accepts, nested models included."""
    seen = seen if seen is not None else set()
    names: set[str] = set()
    if model in seen:
        return names
    seen.add(model)
    for name, field in model.model_fields.items():
        names.add(field.alias or name)  # the key as written in YAML
        pending = [field.annotation]
        while pending:
            kind = pending.pop()
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                names |= _field_names(kind, seen)
            pending.extend(get_args(kind))
    return names


def test_the_reference_config_loads_and_names_every_key():
    from gateway.settings import AppConfig, Texts

    env = {
        "OPENAI_API_KEY": "sk-x",
        "B24_APP_TOKEN": "b24-token",
        "TELEGRAM_BOT_TOKEN": "1:x",
        "TELEGRAM_SECRET_TOKEN": "s",
        "WA_ACCESS_TOKEN": "t",
        "META_APP_SECRET": "s",
        "WA_VERIFY_TOKEN": "v",
        "IG_ACCESS_TOKEN": "t",
        "IG_APP_SECRET": "s",
        "IG_VERIFY_TOKEN": "v",
        "DASHBOARD_PASSWORD": "owner-secret",
        "VK_TOKEN": "vk1.a.token",
        "VK_SECRET": "s",
        "VK_CONFIRMATION": "c",
        "SMSRU_API_ID": "id",
        "MAX_BOT_TOKEN": "t",
        "MAX_SECRET": "max-secret",
        "YK_SHOP_ID": "100001",
        "YK_SECRET": "live_key",
    }
    path = ROOT / "lead-gateway.reference.yaml"
    config = load_config(path, env)
    assert config.llm is not None and config.tenants["salon"].channels.whatsapp is not None
    text = path.read_text(encoding="utf-8")
    keys = _field_names(AppConfig) | set(Texts.__dataclass_fields__)
    missing = sorted(k for k in keys if f"{k}:" not in text)
    assert missing == []


def test_every_yaml_snippet_in_the_readme_and_the_manual_parses():
    import re

    import yaml

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    text = "\n".join(page.read_text(encoding="utf-8") for page in pages)
    snippets = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert snippets
    for snippet in snippets:
        assert yaml.safe_load(snippet) is not None


def test_a_real_portals_dashboard_behind_the_examples_password_is_refused():
    tenant = {"bitrix": {"webhook_url": "https://example.bitrix24.ru/rest/1/abc/"}}
    with pytest.raises(ConfigError) as info:
        parse_config({"tenants": {"salon": {**tenant, "dashboard": {"password": "change-me-dashboard"}}}}, {})
    assert "dashboard.password: the example's public password with a real portal" in info.value.problems[0]
    config = parse_config({"tenants": {"salon": {**tenant, "dashboard": {"password": "a-long-own-one"}}}}, {})
    assert config.tenants["salon"].analytics
    assert parse_config({"tenants": {"salon": {"dashboard": {"password": "change-me-dashboard"}}}}, {})  # sandbox


def test_app_mode_needs_a_fernet_key_and_reads_it_from_the_environment():
    app = {"client_id": "local.1", "client_secret": "s", "public_url": "https://gw.example.com"}
    data = {"tenants": {"salon": {"channels": minimal()["tenants"]["salon"]["channels"], "bitrix": {"app": app}}}}
    with pytest.raises(ConfigError) as info:
        parse_config(data, {})
    assert info.value.problems == ["secret_key: a tenant has bitrix.app; set LEAD_GATEWAY_SECRET_KEY (a Fernet key)"]
    with pytest.raises(ConfigError) as info:
        parse_config(data, {"LEAD_GATEWAY_SECRET_KEY": "not-a-key"})
    assert info.value.problems == ["secret_key: not a Fernet key (32 url-safe base64-encoded bytes)"]
    key = "n3Fv0n0S4e1XzvWb3C0D8nU7pZ1Qy9lK2mRr4tYw6Hs="
    config = parse_config(data, {"LEAD_GATEWAY_SECRET_KEY": key})
    assert config.secret_key == key and "n3Fv" not in repr(config)  # never printed with the config
    with pytest.raises(ConfigError) as info:
        parse_config(
            {
                **data,
                "secret_key": key,
                "tenants": {
                    "salon": {
                        **data["tenants"]["salon"],
                        "bitrix": {"app": {**app, "public_url": "http://gw.example.com"}},
                    }
                },
            },
            {},
        )
    assert info.value.problems == [
        "tenants.salon.bitrix.app.public_url: must be an https:// URL (http:// only for loopback addresses)"
    ]
