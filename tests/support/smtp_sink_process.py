"""An SMTP sink in a process of its own, for benchmarks.

tests/support/smtp.py runs its server in a thread of the test process, which shares the
GIL with whatever sends to it; a benchmark would measure the two taking turns. This
script serves SMTP (aiosmtpd) on 127.0.0.1 in another process, accepts every message
and keeps only its recipients: one line a message in the file given, written as the
message is accepted, so the file's lines count the messages received.

    python tests/support/smtp_sink_process.py --port 2525 --recipients /tmp/received.txt [--lean]

`running_sink` starts it from a test and stops it by its PID (SIGTERM).

aiosmtpd reads a message's data line by line, checking each line's length and undoing
the dot-stuffing, which costs about a millisecond of CPU for a 9 kB survey email: at a
few hundred messages a second, as much as one of the workers sending them, on the same
two cores. `--lean` (for a benchmark that only counts recipients, such as the
two-worker run) reads the data in large pieces up to the line holding a lone dot and
keeps none of it; the commands before it are aiosmtpd's own.
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


# The end of a message's data: a line holding a lone dot (a dot starting a line of the
# message is doubled by the sender, so no line of the message itself is one).
_END_OF_DATA = b"\r\n.\r\n"


class _LeanSMTP(SMTP):
    """aiosmtpd's server, reading each message's data in pieces of up to 64 kB rather
    than line by line. A sender writes nothing after the data's end until it has the
    answer (this server offers no PIPELINING), so the end is the last bytes received."""

    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed():
            return
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        tail = b"\r\n"  # the data's first line may be the lone dot (an empty message)
        while not tail.endswith(_END_OF_DATA):
            piece = await self._reader.read(1 << 16)
            if not piece:  # the connection closed during the data
                return
            tail = (tail + piece)[-len(_END_OF_DATA):]
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push(status)


async def _serve(port: int, recipients: Path, *, lean: bool) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server_class = _LeanSMTP if lean else SMTP
    with recipients.open("a") as out:
        handler = _RecipientsHandler(out)
        # A fixed hostname: aiosmtpd would otherwise look up the machine's name.
        server = await loop.create_server(lambda: server_class(handler, hostname="sink.localhost"), HOST, port)
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
def running_sink(recipients_file: Path, *, lean: bool = False, timeout: float = 20) -> Iterator[RunningSink]:
    """The sink in a process of its own (`lean`: reading data in large pieces, see above)."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--port", str(port), "--recipients", str(recipients_file)]
        + (["--lean"] if lean else []),
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
    parser.add_argument("--lean", action="store_true", help="read each message's data in large pieces")
    arguments = parser.parse_args()
    asyncio.run(_serve(arguments.port, arguments.recipients, lean=arguments.lean))


if __name__ == "__main__":
    main()
