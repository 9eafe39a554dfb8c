"""Coalesce calls from many callers into `batch` requests while the portal's rate limit makes them wait.

Callers submit small groups of commands (a contact, its deal, the deal's comments) that may refer to
each other with `$result[name]`. When the portal is idle a group goes out at once, alone; while a
request waits for the leaky bucket, every group that arrives meanwhile joins the next `batch` (at most
50 commands, groups never split). A group's names are prefixed so that groups from different callers
cannot collide, and `halt=0`, so one caller's failing command does not stop another's.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bitrix.client import MAX_BATCH, BitrixClient
from bitrix.errors import BitrixError
from bitrix.limiter import LeakyBucket

logger = logging.getLogger("bitrix.batcher")

Command = tuple[str, Mapping[str, Any]]
_REF = re.compile(r"\$result\[([^\]]+)\]")


@dataclass
class GroupResult:
    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, BitrixError] = field(default_factory=dict)

    def value(self, name: str) -> Any:
        """The command's result, or its error raised."""
        if name in self.errors:
            raise self.errors[name]
        return self.results.get(name)


@dataclass
class _Pending:
    commands: dict[str, Command]
    future: asyncio.Future[GroupResult]


def _renamed(node: Any, names: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: _renamed(v, names) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_renamed(v, names) for v in node]
    if isinstance(node, str) and "$result[" in node:
        return _REF.sub(lambda m: f"$result[{names.get(m.group(1), m.group(1))}]", node)
    return node


class Batcher:
    def __init__(self, client: BitrixClient, bucket: LeakyBucket | None, *, max_in_flight: int = 4) -> None:
        self._client = client
        self._bucket = bucket
        self._queue: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._ids = itertools.count(1)
        self._runner: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self.requests = 0  # HTTP requests sent (a batch counts once)
        self.commands = 0  # commands carried by them

    async def submit(self, commands: Mapping[str, Command]) -> GroupResult:
        if not commands:
            return GroupResult()
        if len(commands) > MAX_BATCH:
            raise ValueError(f"a group holds at most {MAX_BATCH} commands, got {len(commands)}")
        future: asyncio.Future[GroupResult] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(dict(commands), future))
        self._ensure_runner()
        self._wakeup.set()
        return await future

    async def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """One command, coalesced with whatever else is waiting; its result, or its error raised."""
        return (await self.submit({"call": (method, params or {})})).value("call")

    def _ensure_runner(self) -> None:
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="bitrix-batcher")

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
            await self._slots.acquire()
            try:
                if self._bucket is not None:
                    await self._bucket.acquire()  # groups keep arriving while we wait: they join
            except asyncio.CancelledError:
                self._slots.release()
                raise
            except Exception as exc:  # the bucket's store failed: the waiting callers get the error, we go on
                self._slots.release()
                self._fail_waiting(exc)
                continue
            taken = self._take()
            if not taken:
                self._slots.release()
                continue
            task = asyncio.create_task(self._send(taken))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    def _fail_waiting(self, error: Exception) -> None:
        waiting, self._queue = self._queue, []
        for group in waiting:
            if not group.future.done():
                group.future.set_exception(error)

    def _take(self) -> list[_Pending]:
        taken: list[_Pending] = []
        size = 0
        while self._queue and size + len(self._queue[0].commands) <= MAX_BATCH:
            group = self._queue.pop(0)
            if group.future.done():  # its caller gave up (cancelled)
                continue
            taken.append(group)
            size += len(group.commands)
        return taken

    async def _send(self, groups: list[_Pending]) -> None:
        try:
            if len(groups) == 1 and len(groups[0].commands) == 1:
                await self._send_one(groups[0])
            else:
                await self._send_batch(groups)
        finally:
            self._slots.release()

    async def _send_one(self, group: _Pending) -> None:
        name, (method, params) = next(iter(group.commands.items()))
        self.requests += 1
        self.commands += 1
        try:
            result = await self._client.call(method, params, admitted=True)
        except BitrixError as exc:
            _resolve(group.future, GroupResult(errors={name: exc}))
        except Exception as exc:
            _fail(group.future, exc)
        else:
            _resolve(group.future, GroupResult(results={name: result.result}))

    async def _send_batch(self, groups: list[_Pending]) -> None:
        commands: dict[str, Command] = {}
        keys: list[dict[str, str]] = []
        for group in groups:
            prefix = f"g{next(self._ids)}_"
            names = {name: prefix + name for name in group.commands}
            keys.append(names)
            for name, (method, params) in group.commands.items():
                commands[names[name]] = (method, _renamed(dict(params), names))
        self.requests += 1
        self.commands += len(commands)
        try:
            answer = await self._client.batch(commands, admitted=True)
        except Exception as exc:
            for group in groups:
                _fail(group.future, exc)
            return
        for group, names in zip(groups, keys, strict=True):
            outcome = GroupResult()
            for name, key in names.items():
                if key in answer.errors:
                    outcome.errors[name] = answer.errors[key]
                else:
                    outcome.results[name] = answer.results.get(key)
            _resolve(group.future, outcome)

    async def close(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        for group in self._queue:
            _fail(group.future, asyncio.CancelledError())


def _resolve(future: asyncio.Future[GroupResult], value: GroupResult) -> None:
    if not future.done():
        future.set_result(value)


def _fail(future: asyncio.Future[GroupResult], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
