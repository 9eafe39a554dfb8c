"""Bring one conversation's deal in Bitrix24 up to date: contact, deal, fields, timeline.

Idempotent: run it any number of times, after any crash, and the portal ends with one contact per
person, one deal per conversation and one timeline entry per message. Where a create may have
happened without our knowing (timeout, crash after sending), it looks up before creating again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bitrix.client import BitrixClient
from gateway import keys
from gateway.config import TenantConfig
from gateway.state import CrmLink, DialogueState, load_dialogue, load_link, save_link, timeline_from
from qualifier.phone import mask_phone

logger = logging.getLogger("gateway.crm_sync")

ORIGINATOR = "lead-gateway"
CHANNEL_TITLES = {"telegram": "Telegram", "whatsapp": "WhatsApp", "instagram": "Instagram"}
IM_TYPES = {"telegram": "TELEGRAM"}  # Bitrix24 has no WHATSAPP/INSTAGRAM IM type: those use OTHER


@dataclass(frozen=True)
class CrmContext:
    redis: Redis
    bitrix: BitrixClient
    tenant: TenantConfig
    service_names: dict[str, str]


def identity_value(state: DialogueState) -> str:
    """The channel identity kept on the contact's IM field; stable, so it can be searched."""
    return f"{state.channel}:{state.sender_id}"


def _id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def sync_conversation(ctx: CrmContext, conversation_key: str) -> CrmLink | None:
    state = await load_dialogue(ctx.redis, conversation_key)
    if state is None:
        return None
    link = await load_link(ctx.redis, conversation_key)
    await _ensure_contact(ctx, state, link, conversation_key)
    await _ensure_deal(ctx, state, link, conversation_key)
    await _post_timeline(ctx, link, conversation_key)
    return link


async def _find_contact(ctx: CrmContext, state: DialogueState) -> int | None:
    if state.phone:
        found = (
            await ctx.bitrix.call(
                "crm.duplicate.findbycomm", {"type": "PHONE", "values": [state.phone], "entity_type": "CONTACT"}
            )
        ).result
        ids = found.get("CONTACT", []) if isinstance(found, dict) else []
        if ids:
            return min(_id(i) or 0 for i in ids) or None
    rows = (
        await ctx.bitrix.call("crm.contact.list", {"filter": {"IM": identity_value(state)}, "select": ["ID"]})
    ).result
    if isinstance(rows, list) and rows:
        return _id(rows[0].get("ID"))
    return None


def _im_entries(state: DialogueState) -> list[dict[str, str]]:
    im_type = IM_TYPES.get(state.channel, "OTHER")
    entries = [{"VALUE": identity_value(state), "VALUE_TYPE": im_type}]
    if state.username:
        entries.append({"VALUE": f"@{state.username}", "VALUE_TYPE": im_type})
    return entries


async def _ensure_contact(ctx: CrmContext, state: DialogueState, link: CrmLink, conv: str) -> None:
    person_key = keys.person_contact(state.tenant, state.channel, state.sender_id)
    if link.contact_id is None:
        cached = await ctx.redis.get(person_key)
        link.contact_id = _id(cached) if cached else await _find_contact(ctx, state)
        if link.contact_id is None:
            link.contact_pending = True
            await save_link(ctx.redis, conv, link)
            fields: dict[str, Any] = {
                "NAME": state.name or state.username or "Клиент",
                "IM": _im_entries(state),
                "SOURCE_ID": ctx.tenant.bitrix.source_ids.get(state.channel, "OTHER"),
                "SOURCE_DESCRIPTION": CHANNEL_TITLES.get(state.channel, state.channel),
            }
            if state.phone:
                fields["PHONE"] = [{"VALUE": state.phone, "VALUE_TYPE": "MOBILE"}]
            link.contact_id = _id((await ctx.bitrix.call("crm.contact.add", {"fields": fields})).result)
            link.identity_linked = True
            link.phone_on_contact = state.phone
            logger.info(
                "contact %s created for %s phone=%s",
                link.contact_id,
                conv,
                mask_phone(state.phone) if state.phone else "-",
            )
        link.contact_pending = False
        await save_link(ctx.redis, conv, link)
        await ctx.redis.set(person_key, str(link.contact_id))
    update: dict[str, Any] = {}
    if not link.identity_linked:
        update["IM"] = _im_entries(state)
    if state.phone and link.phone_on_contact != state.phone:
        update["PHONE"] = [{"VALUE": state.phone, "VALUE_TYPE": "MOBILE"}]
    if update:
        await ctx.bitrix.call("crm.contact.update", {"id": link.contact_id, "fields": update})
        link.identity_linked = True
        link.phone_on_contact = state.phone or link.phone_on_contact
        await save_link(ctx.redis, conv, link)


def _source_description(state: DialogueState) -> str:
    channel = CHANNEL_TITLES.get(state.channel, state.channel)
    parts = [channel + (f" @{state.username}" if state.username else f" id {state.sender_id}")]
    if state.attribution and state.attribution.code:
        parts.append(f"ссылка: {state.attribution.code}")
    if state.attribution and state.attribution.description:
        parts.append(state.attribution.description)
    return "; ".join(parts)


def _comments(state: DialogueState, services: str) -> str:
    lines = [f"Услуга: {services}"] if services else []
    if state.time_start:
        end = f"–{state.time_end:%d.%m.%Y %H:%M}" if state.time_end else ""
        lines.append(f"Желаемое время: {state.time_start:%d.%m.%Y %H:%M}{end}")
    if state.phone:
        lines.append(f"Телефон: {state.phone}")
    return "\n".join(lines)


def _user_fields(ctx: CrmContext, state: DialogueState, services: str) -> dict[str, str]:
    names = ctx.tenant.bitrix.fields
    values = {
        names.service: services or None,
        names.desired_time: state.time_start.isoformat() if state.time_start else None,
        names.desired_time_end: state.time_end.isoformat() if state.time_end else None,
    }
    return {name: value for name, value in values.items() if name and value}


def deal_fields(ctx: CrmContext, state: DialogueState, link: CrmLink) -> dict[str, Any]:
    channel = CHANNEL_TITLES.get(state.channel, state.channel)
    services = ", ".join(ctx.service_names.get(s, s) for s in state.service_ids)
    who = state.name or (f"@{state.username}" if state.username else "клиент")
    fields: dict[str, Any] = {
        "TITLE": f"{services} — {who}" if services else f"Заявка из {channel} — {who}",
        "CONTACT_IDS": [link.contact_id] if link.contact_id else [],
        "SOURCE_ID": ctx.tenant.bitrix.source_ids.get(state.channel, "OTHER"),
        "SOURCE_DESCRIPTION": _source_description(state),
        "ORIGINATOR_ID": ORIGINATOR,
        "ORIGIN_ID": state.conversation_key,
    }
    if state.attribution:
        for tag in ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"):
            value = getattr(state.attribution, tag)
            if value:
                fields[tag.upper()] = value
    comments = _comments(state, services)
    if comments:
        fields["COMMENTS"] = comments
    if ctx.tenant.bitrix.category_id is not None:
        fields["CATEGORY_ID"] = ctx.tenant.bitrix.category_id
    fields.update(_user_fields(ctx, state, services))
    return fields


def _digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


async def _find_deal(ctx: CrmContext, conv: str) -> int | None:
    rows = (
        await ctx.bitrix.call(
            "crm.deal.list", {"filter": {"=ORIGINATOR_ID": ORIGINATOR, "=ORIGIN_ID": conv}, "select": ["ID"]}
        )
    ).result
    return _id(rows[0].get("ID")) if isinstance(rows, list) and rows else None


async def _ensure_deal(ctx: CrmContext, state: DialogueState, link: CrmLink, conv: str) -> None:
    fields = deal_fields(ctx, state, link)
    digest = _digest(fields)
    if link.deal_id is None and link.deal_pending:
        # A create was sent before and its outcome is unknown: it may exist already.
        found = await _find_deal(ctx, conv)
        if found is not None:
            link.deal_id, link.deal_pending = found, False
            await _record_deal(ctx, state.tenant, link, conv)
    if link.deal_id is None:
        link.deal_pending = True
        await save_link(ctx.redis, conv, link)
        create = dict(fields)
        qualified_now = bool(ctx.tenant.bitrix.qualified_stage_id) and not state.missing()
        stage = ctx.tenant.bitrix.qualified_stage_id if qualified_now else ctx.tenant.bitrix.stage_id
        if stage:
            create["STAGE_ID"] = stage
        link.qualified = qualified_now
        result = await ctx.bitrix.call("crm.deal.add", {"fields": create, "params": {"REGISTER_SONET_EVENT": "Y"}})
        link.deal_id = _id(result.result)
        link.deal_pending = False
        link.deal_digest = digest
        await _record_deal(ctx, state.tenant, link, conv)
        logger.info("deal %s created for %s", link.deal_id, conv)
        return
    qualify = bool(ctx.tenant.bitrix.qualified_stage_id) and not state.missing() and not link.qualified
    if link.deal_digest != digest or qualify:
        update = {**fields, "STAGE_ID": ctx.tenant.bitrix.qualified_stage_id} if qualify else fields
        await ctx.bitrix.call("crm.deal.update", {"id": link.deal_id, "fields": update})
        link.deal_digest = digest
        link.qualified = link.qualified or qualify
        await save_link(ctx.redis, conv, link)


async def _record_deal(ctx: CrmContext, tenant: str, link: CrmLink, conv: str) -> None:
    """Keep the deal id on the conversation, and the conversation under the deal (for reminders)."""
    await save_link(ctx.redis, conv, link)
    if link.deal_id is not None:
        await ctx.redis.set(keys.deal_conversation(tenant, link.deal_id), conv)


async def _post_timeline(ctx: CrmContext, link: CrmLink, conv: str) -> None:
    for entry in await timeline_from(ctx.redis, conv, link.timeline_posted):
        await ctx.bitrix.call(
            "crm.timeline.comment.add",
            {
                "fields": {
                    "ENTITY_ID": link.deal_id,
                    "ENTITY_TYPE": "deal",
                    "COMMENT": f"[{entry.at:%d.%m %H:%M}] Клиент: {entry.text}",
                }
            },
        )
        link.timeline_posted += 1
        await save_link(ctx.redis, conv, link)
