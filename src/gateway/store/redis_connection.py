"""Redis connections whose writes are bounded by `asyncio.timeout` rather than `asyncio.wait_for`, and
that count their round trips by who made them (a write is one: a pipeline or a script goes in one).

redis-py (5.x) sends every command through `wait_for` when `socket_timeout` is set, which wraps the
write in a new task each time: on the reply path that is a task per Redis command, a measurable share
of the CPU a message costs. `asyncio.timeout` bounds the same write with a timer instead. Reads keep
redis-py's own timeout handling; errors are raised as redis-py raises them.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Who is talking to Redis: "http" unless a worker's tasks say otherwise (set where each worker starts,
# inherited by every task it creates). Read by /metrics and the benchmarks: round trips per message.
ROLE: ContextVar[str] = ContextVar("redis_role", default="http")
ROUND_TRIPS: Counter[str] = Counter()


class _BoundedWrites:
    if TYPE_CHECKING:  # provided by the redis-py connection this is mixed into
        socket_timeout: float | None
        _writer: Any
        is_connected: bool

        async def connect(self) -> None: ...
        async def check_health(self) -> None: ...
        async def disconnect(self, nowait: bool = False) -> None: ...

    async def send_packed_command(self, command: bytes | str | Iterable[bytes], check_health: bool = True) -> None:
        if not self.is_connected:
            await self.connect()
        elif check_health:
            await self.check_health()
        if isinstance(command, str):
            command = command.encode()
        if isinstance(command, bytes):
            command = [command]
        ROUND_TRIPS[ROLE.get()] += 1
        try:
            async with asyncio.timeout(self.socket_timeout):
                self._writer.writelines(command)
                await self._writer.drain()
        except TimeoutError:
            await self.disconnect(nowait=True)
            raise RedisTimeoutError("Timeout writing to socket") from None
        except OSError as exc:
            await self.disconnect(nowait=True)
            raise RedisConnectionError(f"Error while writing to socket. {exc}.") from exc
        except BaseException:
            await self.disconnect(nowait=True)
            raise


class TcpConnection(_BoundedWrites, Connection):
    pass


class UnixConnection(_BoundedWrites, UnixDomainSocketConnection):
    pass
