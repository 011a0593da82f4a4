"""A real HTTP server on 127.0.0.1 that keeps the requests it receives and answers
as told: `receiver.answers` is a queue of statuses (200, 500, 302…) or "hang" (say
nothing until the test ends); when it is empty every request gets 200."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HANG = "hang"


@dataclass(frozen=True)
class Received:
    path: str
    headers: Message  # names are case-insensitive, as in HTTP
    body: bytes


@dataclass
class Receiver:
    url: str
    answers: list[int | str] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.requests)

    def next_answer(self) -> int | str:
        with self.lock:
            return self.answers.pop(0) if self.answers else 200


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with receiver.lock:
                receiver.requests.append(Received(self.path, self.headers, body))
            answer = receiver.next_answer()
            if answer == HANG:
                receiver.released.wait(30)
                return
            self.send_response(answer)
            if 300 <= answer < 400:
                self.send_header("Location", "/elsewhere/")
            text = b"ok" if answer < 300 else b"invalid_payload"
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
            pass

    return Handler


@contextmanager
def webhook_receiver(path: str = "/hooks/valuepulse") -> Iterator[Receiver]:
    receiver = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.released.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
