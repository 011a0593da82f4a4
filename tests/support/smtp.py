"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives.

Recipients in the `refuse.test` domain are refused: `defer@refuse.test` with a
transient 451, any other with a permanent 550, as a real server would.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller

REFUSED_DOMAIN = "refuse.test"
TRANSIENT_RECIPIENT = f"defer@{REFUSED_DOMAIN}"


@dataclass
class Sink:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[EmailMessage]:
        with self.lock:
            return list(self.messages)


class _Handler:
    def __init__(self, sink: Sink, delay: float) -> None:
        self.sink = sink
        self.delay = delay

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.sink.lock:
            self.sink.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() == TRANSIENT_RECIPIENT:
            return "451 4.3.0 Mailbox temporarily unavailable, try later"
        if address.lower().endswith("@" + REFUSED_DOMAIN):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)  # a server that takes its time, so a test can act mid-send
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append(message)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_sink(*, delay: float = 0, port: int | None = None) -> Iterator[Sink]:
    """`delay`: seconds the server takes over each message. `port`: where to listen
    (default a free one): a test can send to a port before the server starts there."""
    sink = Sink(host="127.0.0.1", port=port or free_port())
    controller = Controller(_Handler(sink, delay), hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
