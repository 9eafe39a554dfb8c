"""Loaded by Python at start-up when this folder is on PYTHONPATH (scripts/any-day): every wall-clock read
of the process, `time.time()` and `datetime.now()`, is moved to start at $LG_WALL_CLOCK and run on from
there. Monotonic time, sleeps and Redis's own clock stay real. libfaketime would move the clock for the
whole process too, but Python's `time.sleep` fails under it (EINVAL from clock_nanosleep), so the move is
made here, before any module reads the clock."""

from __future__ import annotations

import datetime as _datetime_module
import os
import time as _time_module

_start = os.environ.get("LG_WALL_CLOCK")
if _start:
    # The first process fixes the shift and hands it down, so the processes it starts (a worker) agree
    # with it instead of each starting its own clock at $LG_WALL_CLOCK.
    _given = os.environ.get("LG_WALL_CLOCK_SHIFT")
    if _given is not None:
        _shift = float(_given)
    else:
        _shift = _datetime_module.datetime.fromisoformat(_start).timestamp() - _time_module.time()
        os.environ["LG_WALL_CLOCK_SHIFT"] = repr(_shift)
    _real_time, _real_time_ns = _time_module.time, _time_module.time_ns

    def _time() -> float:
        return _real_time() + _shift

    def _time_ns() -> int:
        return _real_time_ns() + int(_shift * 1_000_000_000)

    _time_module.time = _time
    _time_module.time_ns = _time_ns

    # date.today() is left real: nothing of ours reads it, and date cannot be replaced (pydantic.v1
    # subclasses it with a metaclass of its own)
    _real_datetime = _datetime_module.datetime

    class _SameType(type):
        """isinstance and issubclass answer for the real type: values made in C (asyncpg, the stdlib)
        are real datetimes and must still pass `isinstance(value, datetime)` everywhere."""

        def __instancecheck__(cls, value: object) -> bool:
            return isinstance(value, cls.__mro__[1])

        def __subclasscheck__(cls, other: type) -> bool:
            return issubclass(other, cls.__mro__[1])

    class _ShiftedDatetime(_real_datetime, metaclass=_SameType):
        __slots__ = ()  # the real type's size: compiled modules (asyncpg) check it when they load

        @classmethod
        def now(cls, tz: _datetime_module.tzinfo | None = None) -> _ShiftedDatetime:  # type: ignore[override]
            return cls.fromtimestamp(_time(), tz)

        @classmethod
        def utcnow(cls) -> _ShiftedDatetime:  # type: ignore[override]
            return cls.fromtimestamp(_time(), _datetime_module.UTC).replace(tzinfo=None)

        @classmethod
        def today(cls) -> _ShiftedDatetime:  # type: ignore[override]
            return cls.fromtimestamp(_time())

    _datetime_module.datetime = _ShiftedDatetime  # type: ignore[misc]
