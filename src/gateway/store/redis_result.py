"""redis-py types every asyncio command as `Awaitable[T] | T`; this narrows one to `T`."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def result(value: Awaitable[T] | T) -> T:
    if inspect.isawaitable(value):
        return await value
    return value
