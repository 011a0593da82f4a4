"""A redis-server of a test's own, to stop, pause and restart as a broker outage would."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.conftest import require_service
from tests.support.processes import free_ports, stop, wait_until


class PrivateRedis:
    """A redis-server of this test's own on 127.0.0.1, without persistence: stopping and
    starting it again loses whatever it held, as a restarted broker without a disk does."""

    def __init__(self, port: int, log: Path) -> None:
        self.port, self.log = port, log
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("a") as output:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--daemonize", "no"],
                stdout=output, stderr=subprocess.STDOUT,
            )
        if not wait_until(self.answers, timeout=10, interval=0.05):
            raise RuntimeError(f"redis-server on port {self.port} did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=5)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False


@contextmanager
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    require_service(
        shutil.which("redis-server") is not None,
        "redis-server on PATH",
        "Install it (`apt-get install redis-server`); the test starts its own on a free port.",
    )
    (port,) = free_ports(1, first=18400, last=18499)
    server = PrivateRedis(port, tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()
