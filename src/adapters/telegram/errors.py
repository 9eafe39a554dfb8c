"""aiogram's exceptions for code outside this package, which must not import aiogram itself (see lazy_types)."""

from aiogram.exceptions import TelegramAPIError as TelegramAPIError
from aiogram.exceptions import TelegramNetworkError as TelegramNetworkError
from aiogram.exceptions import TelegramRetryAfter as TelegramRetryAfter
