"""Telegram through aiogram. aiogram is imported here first, with its models built lazily."""

from adapters.telegram.lazy_types import import_aiogram

import_aiogram()
