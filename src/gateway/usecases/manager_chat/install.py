"""Installing the app: the portal's tokens proven and kept, then one connector per channel of the tenant
on its Open Line, the events bound, and the message provider robots send through. Installing again
repairs what is missing and duplicates nothing."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bitrix import methods
from bitrix.errors import BitrixAuthError, BitrixRequestError
from bitrix.oauth import pair_from, renew
from bitrix.openlines import CONNECTOR_EVENTS
from domain import Channel, conversation_parts
from gateway.store.sql.bitrix_apps import Installation
from gateway.usecases.manager_chat.context import AppContext

logger = logging.getLogger("gateway.usecases.manager_chat.install")

# Lower case: Bitrix24 lower-cases the id anyway, and with upper case editing and deleting break.
CONNECTORS = {
    Channel.TELEGRAM: "lg_telegram",
    Channel.WHATSAPP: "lg_whatsapp",
    Channel.INSTAGRAM: "lg_instagram",
    Channel.VK: "lg_vk",
    Channel.MAX: "lg_max",
    Channel.FORM: "lg_forms",
}
PROVIDER_CODE = "lead_gateway"  # the message provider's CODE in the portal (one per app)
CHANNEL_OF = {connector: channel for channel, connector in CONNECTORS.items()}
_BY_NAME = {channel.value: connector for channel, connector in CONNECTORS.items()}


def connector_of(conversation: str) -> str | None:
    """The connector a conversation's chat goes through (None: a channel without one, such as SMS)."""
    return _BY_NAME.get(conversation_parts(conversation)[1])


TITLES = {
    Channel.TELEGRAM: "Telegram",
    Channel.WHATSAPP: "WhatsApp",
    Channel.INSTAGRAM: "Instagram",
    Channel.VK: "ВКонтакте",
    Channel.MAX: "MAX",
    Channel.FORM: "Заявки с сайта",
}
DEAL_EVENTS = ("ONCRMDEALUPDATE", "ONCRMDEALADD")  # the lifecycle reads a manager's changes to a deal
_ICON = "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24'><path fill='%23fff' d='M4 4h16v12H7l-3 3z'/></svg>"


class InstallRefused(Exception):
    """The install form cannot be trusted or used; `status` is the HTTP answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


@dataclass(frozen=True)
class Installed:
    member_id: str
    domain: str
    reinstalled: bool


async def accept(ctx: AppContext, auth: Mapping[str, Any]) -> Installed:
    """Keep the tokens an install form carries, once the token server has vouched for them: renewed with
    this app's own credentials, so a form with made-up or another app's tokens is refused, and the portal's
    id and address are the token server's, not the form's."""
    offered = pair_from(auth)
    application_token = str(auth.get("application_token") or "").strip()
    if offered is None or not application_token:
        raise InstallRefused(
            400,
            "malformed_body",
            "auth[access_token], refresh_token, client_endpoint, member_id and application_token are required",
        )
    known = await ctx.installations.load(ctx.tenant)
    if known is not None and known.member_id != offered.member_id:
        raise InstallRefused(409, "another_portal", "the tenant's app is installed in another portal")
    app = ctx.app
    now = ctx.clock()
    try:
        pair = await renew(
            ctx.http, app.oauth_base, app.client_id, app.client_secret, offered.refresh_token, now.timestamp()
        )
    except BitrixAuthError as exc:
        raise InstallRefused(403, "tokens_refused", f"the token server refused the tokens: {exc.code}") from None
    if pair.member_id != offered.member_id:
        raise InstallRefused(403, "tokens_refused", "the tokens belong to another portal")
    await ctx.installations.save(
        Installation(
            tenant=ctx.tenant,
            member_id=pair.member_id,
            domain=pair.domain or offered.domain,
            client_endpoint=pair.client_endpoint,
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            application_token=application_token,
            expires_at=datetime.fromtimestamp(pair.expires_at, UTC),
            user_id=pair.user_id or offered.user_id,
            installed_at=known.installed_at if known is not None else now,
            renewed_at=now,
        )
    )
    ctx.access.forget()
    await ctx.health(ctx.tenant, "bitrix_app", True, "installed")
    logger.info("bitrix app of %s installed in %s (%s)", ctx.tenant, pair.domain or offered.domain, pair.member_id)
    return Installed(pair.member_id, pair.domain or offered.domain, known is not None)


async def set_up(ctx: AppContext) -> str:
    """Line, connectors, events: each asked for what is there first, so a second run adds nothing."""
    await ctx.access.installation()
    line = await _line(ctx)
    for channel in ctx.channels:
        await _connector(ctx, channel, line)
    bound = await _bound(ctx)
    handler = f"{ctx.app.public_url}/bitrix/{ctx.tenant}/app/events"
    wanted = list(CONNECTOR_EVENTS) + (list(DEAL_EVENTS) if ctx.config.lifecycle is not None else [])
    for event in wanted:
        if (event, handler) not in bound:
            await ctx.crm.call(methods.EVENT_BIND, {"event": event, "handler": handler})
    await _provider(ctx)
    await ctx.installations.set_up(ctx.tenant, line, ctx.clock())
    ctx.access.forget()
    logger.info("bitrix app of %s set up: line %s, connectors %s", ctx.tenant, line, sorted(ctx.channels))
    return "done"


async def _line(ctx: AppContext) -> int:
    wanted = ctx.app.line
    try:
        found = await ctx.crm.call(methods.IMOPENLINES_CONFIG_GET, {"CONFIG_ID": wanted})
    except BitrixRequestError:
        found = None
    if isinstance(found, dict) and str(found.get("ID", wanted)) == str(wanted):
        return wanted
    known = (await ctx.access.installation()).line_id
    if known is not None:  # created by an earlier setup
        return known
    created = await ctx.crm.call(
        methods.IMOPENLINES_CONFIG_ADD, {"PARAMS": {"LINE_NAME": f"lead-gateway: {ctx.tenant}"}}
    )
    logger.warning("open line %s not found in the portal; line %s created", wanted, created)
    return int(created)


async def _connector(ctx: AppContext, channel: Channel, line: int) -> None:
    connector = CONNECTORS[channel]
    await ctx.crm.call(
        methods.IMCONNECTOR_REGISTER,
        {
            "ID": connector,
            "NAME": f"{TITLES[channel]} (lead-gateway)",
            "ICON": {"DATA_IMAGE": "data:image/svg+xml," + quote(_ICON, safe="'=:/ %"), "COLOR": "#2fc6f6"},
            "PLACEMENT_HANDLER": f"{ctx.app.public_url}/bitrix/{ctx.tenant}/app/placement",
            "CHAT_GROUP": "N",
            "NEED_SIGNATURE": "N",  # the client sees the manager's words, not "[b]Анна:[/b]"
            "NEED_SYSTEM_MESSAGES": "N",  # the line's notices are for managers, not clients
            "EDIT_INTERNAL_MESSAGES": "N",  # a sent message cannot be changed in most messengers
            "DEL_INTERNAL_MESSAGES": "N",
            "NEWSLETTER": "N",  # mailings go through the consent-aware outreach, not the line
        },
    )
    await ctx.crm.call(methods.IMCONNECTOR_ACTIVATE, {"CONNECTOR": connector, "LINE": line, "ACTIVE": 1})
    await ctx.crm.call(
        methods.IMCONNECTOR_CONNECTOR_DATA_SET,
        {
            "CONNECTOR": connector,
            "LINE": line,
            "DATA": {
                "id": f"{connector}_{line}",
                "url": ctx.app.public_url,
                "url_im": ctx.app.public_url,
                "name": f"{TITLES[channel]}: {ctx.tenant}",
            },
        },
    )


async def _provider(ctx: AppContext) -> None:
    """The message provider robots and a card's "send SMS" send through; a second setup updates its
    address (the gateway may have moved) instead of adding another."""
    fields = {
        "CODE": PROVIDER_CODE,
        "TYPE": "SMS",
        "HANDLER": f"{ctx.app.public_url}/bitrix/{ctx.tenant}/app/sms",
        "NAME": "Мессенджер клиента, затем SMS (lead-gateway)",
        "DESCRIPTION": "Сообщение уходит в мессенджер, где клиент пишет боту; SMS, если там не доставить",
    }
    codes = await ctx.crm.call(methods.MESSAGESERVICE_SENDER_LIST)
    if isinstance(codes, list) and PROVIDER_CODE in codes:
        await ctx.crm.call(methods.MESSAGESERVICE_SENDER_UPDATE, {k: v for k, v in fields.items() if k != "TYPE"})
    else:
        await ctx.crm.call(methods.MESSAGESERVICE_SENDER_ADD, fields)


async def _bound(ctx: AppContext) -> set[tuple[str, str]]:
    rows = await ctx.crm.call(methods.EVENT_GET)
    return {
        (str(row.get("event", "")).upper(), str(row.get("handler", "")))
        for row in (rows if isinstance(rows, list) else [])
        if isinstance(row, dict)
    }
