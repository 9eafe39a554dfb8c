"""Replies through the WhatsApp Cloud API: text, reply buttons or a list, a template outside the window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from adapters.meta.graph import GraphClient
from domain import Recipient, Reply, SendRejected, Template

MAX_TEXT = 4096
MAX_BUTTONS, BUTTON_TITLE = 3, 20
MAX_ROWS, ROW_TITLE, BODY_WITH_BUTTONS = 10, 24, 1024
LIST_BUTTON = "Выбрать"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def address(to: Recipient) -> dict[str, str]:
    """The number in E.164 with `+` (without it WhatsApp prepends the business's country code);
    a username client without a known number is addressed by their BSUID."""
    if to.phone:
        return {"to": to.phone if to.phone.startswith("+") else "+" + to.phone}
    return {"recipient": to.chat_id}


def content(reply: Reply) -> dict[str, Any]:
    if not reply.choices:
        return {"type": "text", "text": {"body": _clip(reply.text, MAX_TEXT), "preview_url": False}}
    if len(reply.choices) <= MAX_BUTTONS:
        buttons = [
            {"type": "reply", "reply": {"id": c.payload[:256], "title": _clip(c.label, BUTTON_TITLE)}}
            for c in reply.choices
        ]
        return {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": _clip(reply.text, BODY_WITH_BUTTONS)},
                "action": {"buttons": buttons},
            },
        }
    rows = [{"id": c.payload[:200], "title": _clip(c.label, ROW_TITLE)} for c in reply.choices[:MAX_ROWS]]
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": _clip(reply.text, MAX_TEXT)},
            "action": {"button": LIST_BUTTON, "sections": [{"title": "Варианты", "rows": rows}]},
        },
    }


class WhatsAppSender:
    window: timedelta | None = timedelta(hours=24)  # the customer-service window

    def __init__(self, graph: GraphClient, phone_number_id: str, template: tuple[str, str] | None = None) -> None:
        self._graph = graph
        self._path = f"{phone_number_id}/messages"
        self._template = template  # (name, language) of an approved template for a closed window

    async def download(self, ref: str, limit: int) -> tuple[bytes, str]:
        """A file the client sent, by its media id: Graph gives a short-lived link that needs the token."""
        media = await self._graph.get(ref)
        url, size = media.get("url"), media.get("file_size")
        if not isinstance(url, str) or (isinstance(size, int) and size > limit):
            raise SendRejected("the file is gone or too large")
        body = await self._graph.download(url, limit)
        return body, str(media.get("mime_type") or "application/octet-stream")

    async def send(self, to: Recipient, reply: Reply) -> None:
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", **address(to), **content(reply)}
        await self._graph.post(self._path, body)

    async def send_outside_window(self, to: Recipient, reply: Reply) -> bool:
        if self._template is None:
            return False
        name, language = self._template
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            **address(to),
            "type": "template",
            "template": {"name": name, "language": {"code": language}},
        }
        await self._graph.post(self._path, body)
        return True

    async def send_template(self, to: Recipient, template: Template) -> bool:
        parameters = [{"type": "text", "text": value[:1024]} for value in template.params]
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            **address(to),
            "type": "template",
            "template": {
                "name": template.name,
                "language": {"code": template.language},
                "components": [{"type": "body", "parameters": parameters}] if parameters else [],
            },
        }
        await self._graph.post(self._path, body)
        return True

    async def acknowledge_button(self, callback_id: str) -> None:
        return None
