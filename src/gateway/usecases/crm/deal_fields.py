"""What a conversation's deal and contact carry in Bitrix24: title, source, UTM tags, comments, the
visit's user fields and stage, and a digest so an unchanged deal is not written again."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from domain import Channel, Visit
from gateway.store.conversations import CrmLink, DialogueState
from gateway.usecases.crm.context import ORIGINATOR, CrmContext, identity_value

CHANNEL_TITLES = {
    Channel.TELEGRAM: "Telegram",
    Channel.WHATSAPP: "WhatsApp",
    Channel.INSTAGRAM: "Instagram",
    Channel.VK: "ВКонтакте",
    Channel.MAX: "MAX",
    Channel.FORM: "формы на сайте",
}


IM_TYPES = {
    Channel.TELEGRAM: "TELEGRAM",
    Channel.VK: "VK",
}  # Bitrix24 has no WHATSAPP/INSTAGRAM IM type: those use OTHER


def im_entries(state: DialogueState) -> list[dict[str, str]]:
    im_type = IM_TYPES.get(state.channel, "OTHER")
    entries = [{"VALUE": identity_value(state), "VALUE_TYPE": im_type}]
    if state.username:
        entries.append({"VALUE": f"@{state.username}", "VALUE_TYPE": im_type})
    return entries


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


def stage_for_visit(ctx: CrmContext, link: CrmLink, visit: Visit | None) -> str | None:
    """The stage the deal moves to for a visit state it has not shown yet; a final stage (visited, no-show)
    is the portal's to set, never ours."""
    if visit is None or link.visit_stage == visit.status or visit.status not in WRITTEN_STAGES:
        return None
    return str(getattr(ctx.tenant.bitrix.stages, visit.status))


WRITTEN_STAGES = ("booked", "confirmed", "cancelled")


def deal_fields(
    ctx: CrmContext,
    state: DialogueState,
    link: CrmLink,
    contact: int | str | None = None,
    visit: Visit | None = None,
) -> dict[str, Any]:
    channel = CHANNEL_TITLES.get(state.channel, state.channel)
    services = ", ".join(ctx.service_names.get(s, s) for s in state.service_ids)
    who = state.name or (f"@{state.username}" if state.username else "клиент")
    fields: dict[str, Any] = {
        "TITLE": f"{services} — {who}" if services else f"Заявка из {channel} — {who}",
        "CONTACT_IDS": [contact] if contact else [],
        "SOURCE_ID": ctx.tenant.bitrix.source_ids.get(state.channel, "OTHER"),
        "SOURCE_DESCRIPTION": _source_description(state),
        "ORIGINATOR_ID": ORIGINATOR,
        "ORIGIN_ID": link.origin_id(state.conversation_key),
    }
    if link.returning:
        fields["IS_RETURN_CUSTOMER"] = "Y"
    visit_field = ctx.tenant.bitrix.visit_field
    if visit is not None and visit_field:
        fields[visit_field] = visit.start_at.astimezone(ctx.tenant.tz).isoformat()
    if state.attribution:
        for tag in ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"):
            value = getattr(state.attribution, tag)
            if value:
                fields[tag.upper()] = value
    comments = _comments(state, services)
    if visit is not None and visit.discount_percent:
        comments += f"\nСкидка {visit.discount_percent}%: повторная запись после неявки"
    if comments:
        fields["COMMENTS"] = comments
    if ctx.tenant.bitrix.category_id is not None:
        fields["CATEGORY_ID"] = ctx.tenant.bitrix.category_id
    fields.update(_user_fields(ctx, state, services))
    return fields


def digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
