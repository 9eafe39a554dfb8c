"""`lead-gateway check`: reach Redis, each portal and each channel; a table, exit 1 on any failure."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

import httpx
from redis.exceptions import RedisError

from adapters.max.outbound import MaxApi
from adapters.meta.graph import GraphClient
from adapters.sms.outbound import balance as sms_provider_balance
from adapters.telegram.errors import TelegramAPIError, TelegramNetworkError
from adapters.telegram.outbound import make_bot
from adapters.vk.outbound import VkApi
from bitrix import methods
from bitrix.client import BitrixClient, make_http_client
from bitrix.errors import BitrixError
from domain import Channel, SendError
from gateway.bootstrap import connect_redis
from gateway.settings import AppConfig
from gateway.settings.channels import MaxConfig, SmsConfig, VkConfig


async def _redis(config: AppConfig) -> tuple[str, bool, str]:
    if not config.redis_url:
        return "redis", True, "embedded (started by run/serve/worker)"
    redis = connect_redis(config.redis_url)
    try:
        await asyncio.wait_for(redis.ping(), timeout=5)
        return "redis", True, "reachable"
    except (RedisError, OSError, TimeoutError) as exc:
        return "redis", False, f"unreachable: {type(exc).__name__}"
    finally:
        await redis.aclose()


async def _bitrix(tenant: str, url: str | None) -> tuple[str, bool, str]:
    name = f"{tenant}: bitrix24"
    if url is None:
        return name, True, "built-in sandbox portal"
    async with make_http_client() as http:
        try:
            mode = (await BitrixClient(url, http).call(methods.CRM_SETTINGS_MODE_GET)).result
        except BitrixError as exc:
            return name, False, f"{_shown(url)}: {exc.code or 'error'}: {exc.description}"[:200]
    return name, True, f"reachable, CRM mode {'classic' if mode == 1 else 'simple'}"


def _shown(webhook_url: str) -> str:
    """The portal's URL as an operator recognises it, without the webhook's secret code."""
    base, _, rest = webhook_url.partition("/rest/")
    user = rest.split("/", 1)[0]
    return f"{base}/rest/{user}/***/" if rest else base


async def _telegram(tenant: str, token: str, api_base: str) -> tuple[str, bool, str]:
    bot = make_bot(token, api_base, timeout=10)
    try:
        me = await bot.get_me()
        return f"{tenant}: telegram", True, f"bot @{me.username}"
    except (TelegramAPIError, TelegramNetworkError) as exc:
        return f"{tenant}: telegram", False, f"{type(exc).__name__}"
    finally:
        await bot.session.close()


async def _graph(tenant: str, channel: str, api_base: str, token: str, node: str) -> tuple[str, bool, str]:
    name = f"{tenant}: {channel}"
    async with make_http_client() as http:
        try:
            found = await GraphClient(http, api_base, token).get(node, {"fields": "id"})
        except SendError as exc:
            return name, False, str(exc)[:120]
    return name, True, f"token accepted for {found.get('id', node)}"


async def _vk(tenant: str, vk: VkConfig) -> tuple[str, bool, str]:
    async with make_http_client() as http:
        try:
            await VkApi(http, vk.api_base, vk.access_token, vk.version).call(
                "groups.getById", {"group_id": vk.group_id}
            )
        except SendError as exc:
            return f"{tenant}: vk", False, str(exc)[:120]
    return f"{tenant}: vk", True, f"token accepted for community {vk.group_id}"


async def _max(tenant: str, bot: MaxConfig) -> tuple[str, bool, str]:
    async with make_http_client() as http:
        try:
            me = await MaxApi(http, bot.api_base, bot.bot_token).request("GET", "/me", {})
        except SendError as exc:
            return f"{tenant}: max", False, str(exc)[:120]
    name = me.get("username") or me.get("name") if isinstance(me, dict) else None
    return f"{tenant}: max", True, f"bot {name or 'reachable'}"


async def _sms(tenant: str, sms: SmsConfig) -> tuple[str, bool, str]:
    async with make_http_client() as http:
        try:
            balance = await sms_balance(http, sms)
        except SendError as exc:
            return f"{tenant}: sms", False, str(exc)[:120]
    return f"{tenant}: sms", True, f"{sms.provider}, balance {balance}"


async def sms_balance(http: httpx.AsyncClient, sms: SmsConfig) -> str:
    if sms.provider == "smsru":
        return await sms_provider_balance(http, sms.base() + "/my/balance", {"api_id": sms.api_id or "", "json": "1"})
    params = {"login": sms.login or "", "psw": sms.password or "", "fmt": "3"}
    return await sms_provider_balance(http, sms.base() + "/sys/balance.php", params)


async def _bitrix_app(tenant: str, config: AppConfig, store_url: str) -> tuple[str, bool, str]:
    """The app's installation as the business store keeps it: installed, renewal refused, or a refresh
    token within two weeks of its 180 days (a portal quiet that long)."""
    from gateway.store.sql.bitrix_apps import Installations, TokensUnreadable
    from gateway.store.sql.engine import make_engine
    from gateway.usecases.manager_chat.access import REFRESH_TOKEN_DAYS

    name = f"{tenant}: bitrix24 app"
    engine = make_engine(store_url)
    try:
        found = await Installations(engine, config.secret_key or "").load(tenant)
    except TokensUnreadable as exc:
        return name, False, str(exc)
    except Exception as exc:
        return name, False, f"business store: {type(exc).__name__}"
    finally:
        await engine.dispose()
    if found is None:
        return name, False, f"not installed: install the local app (handler /bitrix/{tenant}/app/install)"
    if found.renewal_error:
        return name, False, f"{found.domain}: {found.renewal_error}; install the app again"
    left = REFRESH_TOKEN_DAYS - (datetime.now(UTC) - found.renewed_at).days
    if left < 14:
        return name, False, f"{found.domain}: the refresh token lapses in {left} days"
    return name, True, f"installed in {found.domain}, line {found.line_id or '-'}, refresh token good {left} days"


async def run_checks(config: AppConfig, store_url: str | None = None) -> int:
    checks = [_redis(config)]
    for tenant_id, tenant in config.tenants.items():
        if tenant.bitrix.app is not None and store_url is not None:
            checks.append(_bitrix_app(tenant_id, config, store_url))
        else:
            checks.append(_bitrix(tenant_id, tenant.bitrix.webhook_url))
        if tenant.channels.telegram is not None:
            tg = tenant.channels.telegram
            checks.append(_telegram(tenant_id, tg.bot_token, tg.api_base))
        if (wa := tenant.channels.whatsapp) is not None:
            checks.append(_graph(tenant_id, Channel.WHATSAPP, wa.api_base, wa.access_token, wa.phone_number_id))
        if (ig := tenant.channels.instagram) is not None:
            checks.append(_graph(tenant_id, Channel.INSTAGRAM, ig.api_base, ig.access_token, ig.account_id))
        if tenant.channels.vk is not None:
            checks.append(_vk(tenant_id, tenant.channels.vk))
        if tenant.channels.max is not None:
            checks.append(_max(tenant_id, tenant.channels.max))
        if tenant.sms is not None:
            checks.append(_sms(tenant_id, tenant.sms))
    rows = [("config", True, "valid"), *await asyncio.gather(*checks)]
    width = max(len(r[0]) for r in rows)
    for name, ok, detail in rows:
        sys.stdout.write(f"{name:<{width}}  {'OK  ' if ok else 'FAIL'}  {detail}\n")
    return 0 if all(ok for _, ok, _ in rows) else 1
