"""The embedded redis-server: started again when it dies, and never outliving the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import redis

from gateway.cli.embedded_redis import EmbeddedRedis


def _wait(predicate, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead too
        return stat.read().split()[2] != "Z"


def test_a_killed_embedded_redis_is_started_again_with_its_data(tmp_path):
    server = EmbeddedRedis(tmp_path)
    server.SUPERVISE_SECONDS = 0.1
    server.start()
    server.supervise()
    try:
        client = redis.Redis(unix_socket_path=str(server.socket))
        client.set("kept", "yes")
        assert server._process is not None
        first = server._process.pid
        os.kill(first, signal.SIGKILL)
        _wait(lambda: server._process is not None and server._process.pid != first and server._answers())
        assert client.get("kept") == b"yes"  # the append-only file brought it back
    finally:
        server.stop()


def test_the_embedded_redis_dies_with_a_killed_parent(tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from gateway.cli.embedded_redis import EmbeddedRedis
        server = EmbeddedRedis(Path({str(tmp_path)!r}))
        server.start()
        print(server._process.pid, flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)  # noqa: S603 - our script
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert _alive(child)
    parent.kill()
    parent.wait()
    _wait(lambda: not _alive(child))
