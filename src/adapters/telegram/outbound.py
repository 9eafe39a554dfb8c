"""Replies to Telegram through aiogram's Bot (Bot API base configurable)."""

from __future__ import annotations

import mimetypes
from datetime import timedelta

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from domain import CredentialsRejected, PlainSender, Recipient, Reply, SendRejected, SendRetryable, Unreachable

MAX_TEXT = 4096


def make_bot(token: str, api_base: str, timeout: float = 20.0) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base), timeout=timeout)
    return Bot(token=token, session=session)


def reply_markup(reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove:
    if reply.ask_phone:
        return ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text=reply.phone_button, request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if reply.choices:
        rows = [[InlineKeyboardButton(text=c.label, callback_data=c.payload[:64])] for c in reply.choices]
        return InlineKeyboardMarkup(inline_keyboard=rows)
    return ReplyKeyboardRemove()


class TelegramSender(PlainSender):
    window: timedelta | None = None  # a bot may answer anyone who started it, at any time

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, to: Recipient, reply: Reply) -> None:
        try:
            await self.bot.send_message(
                chat_id=int(to.chat_id), text=reply.text[:MAX_TEXT], reply_markup=reply_markup(reply)
            )
        except TelegramRetryAfter as exc:
            raise SendRetryable("telegram flood control", float(exc.retry_after)) from exc
        except (TelegramServerError, TelegramNetworkError) as exc:
            raise SendRetryable(f"telegram unavailable: {type(exc).__name__}: {exc}") from exc
        except TelegramForbiddenError as exc:  # "bot was blocked by the user", "user is deactivated"
            raise Unreachable(f"telegram refused: {exc.message}") from exc
        except TelegramBadRequest as exc:
            raise SendRejected(f"telegram refused: {exc.message}") from exc
        except TelegramUnauthorizedError as exc:
            raise CredentialsRejected(f"telegram bot token rejected: {exc.message}") from exc
        except TelegramAPIError as exc:
            raise SendRetryable(f"telegram error: {type(exc).__name__}") from exc

    async def acknowledge_button(self, callback_id: str) -> None:
        # Stops the client's progress spinner; a stale query (over ~15 min) is refused and harmless.
        try:
            await self.bot.answer_callback_query(callback_query_id=callback_id)
        except TelegramBadRequest:
            return
        except (TelegramServerError, TelegramNetworkError, TelegramRetryAfter) as exc:
            raise SendRetryable(f"telegram unavailable: {type(exc).__name__}: {exc}") from exc

    async def download(self, ref: str, limit: int) -> tuple[bytes, str]:
        """A file the client sent, by its file_id (the Bot API serves files up to 20 MB)."""
        try:
            found = await self.bot.get_file(ref)
            if not found.file_path or (found.file_size or 0) > limit:
                raise SendRejected("the file is gone or too large")
            data = await self.bot.download_file(found.file_path)
        except TelegramBadRequest as exc:
            raise SendRejected(f"telegram refused: {exc.message}") from exc
        except (TelegramServerError, TelegramNetworkError, TelegramRetryAfter) as exc:
            raise SendRetryable(f"telegram unavailable: {type(exc).__name__}") from exc
        if data is None:
            raise SendRejected("telegram sent no file")
        body = data.read()
        if len(body) > limit:
            raise SendRejected("the file is too large")
        return body, mimetypes.guess_type(found.file_path)[0] or "application/octet-stream"

    async def close(self) -> None:
        await self.bot.session.close()
