"""The web benchmarks' wrk script (tests/benchmarks/wrk/bench.lua) against a small real
HTTP server: each POST line is sent once at most, so a first answer is never sent twice,
and what it counts adds up. Runs in `make test` (not a benchmark: no figure is judged)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.benchmarks import web


class Recorder(BaseHTTPRequestHandler):
    """Answers a POST with 303 and a GET with 200, and keeps every POST's body."""

    bodies: Counter

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.bodies[body] += 1
        self.send_response(303)
        self.send_header("Location", "/thanks/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "6")
        self.end_headers()
        self.wfile.write(b"a page")

    def log_message(self, *args) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # wrk drops its connections when its time is over, mid-answer


@contextmanager
def recording_server() -> Iterator[tuple[str, Counter]]:
    bodies: Counter = Counter()
    handler = type("BoundRecorder", (Recorder,), {"bodies": bodies})
    server = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    finally:
        server.shutdown()
        server.server_close()


def posts_file(tmp_path, count: int):
    return web.write_posts(tmp_path / "posts.txt", [(f"/s/token-{n}/", f"score=7&token={n}") for n in range(count)])


def test_each_post_line_is_sent_once_at_most(tmp_path):
    web.require_wrk()
    with recording_server() as (url, bodies):
        load = web.run_wrk(url, seconds=1, posts=posts_file(tmp_path, 50_000))
    assert not load.ran_out
    assert set(bodies.values()) == {1}
    assert all(f"csrfmiddlewaretoken={web.CSRF_SECRET}" in body for body in bodies)
    assert load.accepted <= len(bodies) <= load.issued
    assert load.rejected == 0


def test_it_says_when_the_lines_ran_out_and_sends_none_twice(tmp_path):
    web.require_wrk()
    with recording_server() as (url, bodies):
        load = web.run_wrk(url, seconds=1, posts=posts_file(tmp_path, 40))
    assert load.ran_out
    assert set(bodies.values()) == {1}
    assert len(bodies) <= 40


def test_a_get_run_counts_its_answers(tmp_path):
    web.require_wrk()
    with recording_server() as (url, bodies):
        load = web.run_wrk(url, seconds=1, get_path="/s/a-page/")
    assert load.accepted > 0 and load.failed == 0
    assert load.issued >= load.accepted
    assert not bodies
