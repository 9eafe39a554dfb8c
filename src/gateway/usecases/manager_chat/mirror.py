"""The chat mirrored into the Open Line: the client's messages as the client's, the bot's (replies,
reminders, offers) as the bot's, in order and once. Each send of the bot is logged by the sender it goes
through; the log is posted by one job at a time per conversation, from where the line left off."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime

from redis.asyncio import Redis

from bitrix import methods
from bitrix.openlines import Taken, line_message, plain_text, sent_results
from domain import Channel, Recipient, Reply, Sender, Template, conversation_key, conversation_parts
from gateway.store import chat_log, keys
from gateway.store.chat_log import ChatEntry
from gateway.store.redis_result import result
from gateway.usecases.manager_chat.context import AppContext
from gateway.usecases.manager_chat.install import connector_of

logger = logging.getLogger("gateway.usecases.manager_chat.mirror")

BATCH = 20  # entries a request: a burst arrives in a few requests, in order
BOT_MARK = "🤖 "  # what the bot's messages in the line start with (a manager does not type it)


def chat_id(conversation: str) -> str:
    """The chat's (and the client's) id in the line: `channel:chat`, the conversation without its tenant."""
    _, channel, chat = conversation_parts(conversation)
    return f"{channel}:{chat}"


def echo_digest(text: str) -> str:
    return hashlib.sha256(" ".join(plain_text(text).split()).encode()).hexdigest()[:24]


def shown(reply: Reply) -> str:
    """A reply as the line shows it: its words, and its buttons as the client saw them."""
    if not reply.choices:
        return reply.text
    return reply.text + "\n" + " | ".join(f"[{choice.label}]" for choice in reply.choices)


class MirroringSender:
    """A channel's sender that also logs what it sent for the line (the tenant runs as a Bitrix24 app)."""

    def __init__(
        self, inner: Sender, redis: Redis, tenant: str, channel: Channel, clock: Callable[[], datetime]
    ) -> None:
        self.inner, self._redis, self._tenant, self._channel, self._clock = inner, redis, tenant, channel, clock
        self.window = inner.window

    async def _log(self, to: Recipient, key: str | None, text: str) -> None:
        conversation = conversation_key(self._tenant, self._channel, to.chat_id)
        at = self._clock()
        entry = ChatEntry(key=key or f"bot:{at.timestamp()}", author="bot", text=text, at=at.timestamp())
        await chat_log.append(self._redis, self._tenant, conversation, entry)

    async def send(self, to: Recipient, reply: Reply) -> None:
        await self.inner.send(to, reply)
        await self._log(to, reply.key, shown(reply))

    async def send_outside_window(self, to: Recipient, reply: Reply) -> bool:
        sent = await self.inner.send_outside_window(to, reply)
        if sent:
            await self._log(to, reply.key and reply.key + ":template", "[шаблон] " + reply.text)
        return sent

    async def send_template(self, to: Recipient, template: Template) -> bool:
        sent = await self.inner.send_template(to, template)
        if sent:
            text = f"[шаблон {template.name}] " + ", ".join(template.params)
            await self._log(to, None, text)
        return sent

    async def acknowledge_button(self, callback_id: str) -> None:
        await self.inner.acknowledge_button(callback_id)


async def log_client(
    redis: Redis,
    tenant: str,
    conversation: str,
    key: str,
    text: str,
    at: datetime,
    name: str,
    files: list[dict[str, str]] | None = None,
) -> None:
    """A client's message, logged for the line (once, whatever is retried), with links to its files."""
    entry = ChatEntry(key=key, author="client", text=text, at=at.timestamp(), name=name, files=files or [])
    await chat_log.append(redis, tenant, conversation, entry)


async def mirror(ctx: AppContext, conversation: str) -> str:
    """Post what the line has not taken yet; per element, the portal's refusal is logged and passed
    over (one bad element must not hold the chat back), a failed request is retried whole."""
    connector = connector_of(conversation)
    if connector is None:
        return "no_connector"
    posted_total = 0
    async with ctx.redis.lock(keys.chat_lock(conversation), timeout=60, blocking_timeout=60):
        while True:
            posted, entries = await chat_log.unmirrored(ctx.redis, conversation, BATCH)
            if not entries:
                break
            installation = await ctx.access.installation()
            messages = [_element(conversation, entry, installation.user_id) for entry in entries]
            line = await ctx.line()
            answer = await ctx.crm.call(
                methods.IMCONNECTOR_SEND_MESSAGES, {"CONNECTOR": connector, "LINE": line, "MESSAGES": messages}
            )
            taken = sent_results(answer) or [Taken(True, None)] * len(entries)
            chat = next((t for t in taken if t.ok and t.im_chat_id is not None), None)
            if chat is not None and chat.im_chat_id is not None:  # one conversation, one chat in the line
                await remember_chat(ctx, chat.im_chat_id, conversation, chat.user)
            for entry, outcome in zip(entries, taken, strict=False):
                if not outcome.ok:
                    logger.warning("%s: the line refused entry %s", conversation, entry.key)
                    continue
                if entry.author == "bot":  # if it comes back as a manager's message, it is not sent
                    echo = keys.echo(conversation, echo_digest(_posted_text(entry)))
                    await result(ctx.redis.set(echo, 1, ex=keys.ECHO_SECONDS))
            await chat_log.mirrored(ctx.redis, conversation, posted + len(entries))
            posted_total += len(entries)
    return "mirrored" if posted_total else "nothing"


async def remember_chat(ctx: AppContext, im_chat_id: int, conversation: str, client_user: int | None = None) -> None:
    """Which conversation a line chat holds (and who its client is there), and that it is active now."""
    ttl = keys.CONVERSATION_TTL_SECONDS
    async with ctx.redis.pipeline(transaction=False) as pipe:
        pipe.set(keys.line_chat(ctx.tenant, im_chat_id), conversation, ex=ttl)
        if client_user is not None:
            pipe.set(keys.chat_client_user(ctx.tenant, im_chat_id), client_user, ex=ttl)
        pipe.zadd(keys.open_chats(ctx.tenant), {str(im_chat_id): ctx.clock().timestamp()})
        await pipe.execute()


def _element(conversation: str, entry: ChatEntry, bot_user: int | None) -> dict[str, object]:
    chat = chat_id(conversation)
    return line_message(
        user_id=chat,
        name=entry.name or "Клиент",
        chat_id=chat,
        message_id=entry.key,
        text=_posted_text(entry),
        at=entry.at,
        as_user=bot_user if entry.author == "bot" else None,
        files=entry.files,
    )


def _posted_text(entry: ChatEntry) -> str:
    return entry.text if entry.author == "client" else BOT_MARK + entry.text
