"""An SMTP sink in a process of its own, for benchmarks.

tests/support/smtp.py runs its server in a thread of the test process, which shares the
GIL with whatever sends to it; a benchmark would measure the two taking turns. This
script serves SMTP (aiosmtpd) on 127.0.0.1 in another process, accepts every message
and keeps only its recipients: one line a message in the file given, written as the
message is accepted, so the file's lines count the messages received.

    python tests/support/smtp_sink_process.py --port 2525 --recipients /tmp/received.txt

`running_sink` starts it from a test and stops it by its PID (SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from aiosmtpd.smtp import SMTP

HOST = "127.0.0.1"


class _RecipientsHandler:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        self.out.write("\t".join(envelope.rcpt_tos) + "\n")
        self.out.flush()
        return "250 Message accepted"


async def _serve(port: int, recipients: Path) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    with recipients.open("a") as out:
        handler = _RecipientsHandler(out)
        # A fixed hostname: aiosmtpd would otherwise look up the machine's name.
        server = await loop.create_server(lambda: SMTP(handler, hostname="sink.localhost"), HOST, port)
        await stop.wait()
        server.close()
        await server.wait_closed()


# --- Used from tests: start the script, wait for it to listen, stop it by its PID.


@dataclass
class RunningSink:
    host: str
    port: int
    recipients_file: Path
    process: subprocess.Popen

    def recipients(self) -> list[str]:
        """One entry a message received (its recipients, tab-separated), in order."""
        if not self.recipients_file.exists():
            return []
        return self.recipients_file.read_text().splitlines()

    def count(self) -> int:
        if not self.recipients_file.exists():
            return 0
        with self.recipients_file.open("rb") as lines:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: lines.read(1 << 20), b""))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def running_sink(recipients_file: Path, *, timeout: float = 20) -> Iterator[RunningSink]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--port", str(port), "--recipients", str(recipients_file)],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"The SMTP sink did not start (exit code {process.poll()})")
            time.sleep(0.05)
        yield RunningSink(host=HOST, port=port, recipients_file=recipients_file, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--recipients", type=Path, required=True, help="file that gets one line a message")
    arguments = parser.parse_args()
    asyncio.run(_serve(arguments.port, arguments.recipients))


if __name__ == "__main__":
    main()
