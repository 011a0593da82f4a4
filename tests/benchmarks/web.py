"""Web benchmarks' plumbing: real gunicorn servers, wrk against them, interleaved rounds.

A contender is one web app serving one path: ValuePulse, the bare Django project in
tests/benchmarks/bare/, or a peer survey app from tests/benchmarks/peers/. Each runs
in its own gunicorn, with production's settings (gunicorn.conf.py: 5 sync workers, a
worker replaced after ~1,000 requests, an access log, the app preloaded) on a free
port of 127.0.0.1, DEBUG off, persistent database connections. `serving` starts them
(any WSGI app: a load test or another page benchmark may use it too) and `run_wrk`
loads one and parses what wrk saw.
wrk (32 connections, 2 threads) loads one contender at a time; `interleave` runs them
round-robin, the first one moving on each round, so a noisy neighbour on the machine
falls on all alike, and each figure is the median of the rounds with its min–max.

POSTs of first answers need a fresh token each: a contender's `fresh_posts(count)` makes
that many requests, written one a line to a file the wrk script (wrk/bench.lua) sends
once each. Every contender gets the same requests: the csrftoken cookie and the form's
csrfmiddlewaretoken carry one secret, as a browser sends them to a page that asks for
them (ValuePulse's survey pages ask for none, and read neither)."""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.benchmarks.report import ROOT, Spread, smoke
from tests.conftest import require_service
from tests.support.processes import child_environment, http_get, stop

BENCH_DIR = ROOT / "var" / "bench"
PEERS_PYTHON = BENCH_DIR / "peers-venv" / "bin" / "python"
WRK_SCRIPT = Path(__file__).with_name("wrk") / "bench.lua"
CONNECTIONS = 32
RAISED_RATE_LIMIT = 1_000_000_000  # requests a minute from one address
WRK_THREADS = 2
# One secret for every contender's CSRF cookie and form field (32 letters and digits,
# the unmasked form Django accepts in both places).
CSRF_SECRET = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))


# Seconds of each contender's unmeasured first run: every worker's first requests, and a
# first estimate of its rate (1 s holds a few hundred requests of the slowest contender).
WARM_UP_SECONDS = 1


def duration() -> int:
    """Seconds of load per contender and round: 4 s holds several hundred requests of the
    slowest contender (about 700 on a quiet machine) and thousands of the fastest, and the
    rounds, not their length, carry the spread. (It was 6 s: a minute more of `make bench`.)"""
    return 1 if smoke() else int(os.environ.get("BENCH_WEB_SECONDS", "4"))


def rounds() -> int:
    return 1 if smoke() else max(4, int(os.environ.get("BENCH_WEB_ROUNDS", "4")))


def require_wrk() -> str:
    path = shutil.which("wrk")
    require_service(path is not None, "wrk (the HTTP load generator)", "Install it with `make wrk` (Debian's package).")
    return str(path)


def require_peers() -> Path:
    require_service(
        PEERS_PYTHON.exists(),
        f"the peer survey apps' virtual environment ({PEERS_PYTHON.parent.parent.relative_to(ROOT)})",
        "Create it with `make peers` (pip installs tests/benchmarks/peers/requirements.txt).",
    )
    return PEERS_PYTHON


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class App:
    """A WSGI app (`wsgi`, such as config.wsgi:application) to serve, in `python`'s
    environment; `ready_path` answers once it is up."""

    name: str
    wsgi: str
    env: dict[str, str]
    python: Path | str = sys.executable
    ready_path: str = "/"


def valuepulse(*, var_dir: Path, redis_url: str | None, ready_path: str = "/login/") -> App:
    """ValuePulse as production runs it, on the test database and `redis_url`, with the
    public pages' per-address limit (PUBLIC_RATE_LIMIT, 60 a minute) raised out of reach
    of a load generator, which is one address; the limiter still counts every request."""
    env = child_environment(var_dir=var_dir, redis_url=redis_url, PUBLIC_RATE_LIMIT=str(RAISED_RATE_LIMIT))
    return App("ValuePulse", "config.wsgi:application", env, ready_path=ready_path)


@dataclass
class Server:
    name: str
    url: str


@contextmanager
def serving(
    apps: list[App], *, log_dir: Path = BENCH_DIR / "logs", timeout: float = 120
) -> Iterator[dict[str, Server]]:
    """Each app under a gunicorn of its own with production's settings (gunicorn.conf.py)
    on a free port of 127.0.0.1, all started at once; each stopped by its own PID after."""
    log_dir.mkdir(parents=True, exist_ok=True)
    started: list[tuple[App, Server, subprocess.Popen, Path]] = []
    try:
        for app in apps:
            port, slug = free_port(), app.name.lower().replace(" ", "-")
            env = {**app.env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "5", "GUNICORN_THREADS": "1",
                   "LOG_LEVEL": "WARNING", "DEBUG": "false"}
            command = [str(Path(app.python).with_name("gunicorn")), "--config", str(ROOT / "gunicorn.conf.py"),
                       "--access-logfile", str(log_dir / f"{slug}-access.log"), app.wsgi]
            log = log_dir / f"{slug}.log"
            with log.open("w") as output:
                process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output,  # nosec B603
                                           stderr=subprocess.STDOUT)
            started.append((app, Server(app.name, f"http://127.0.0.1:{port}"), process, log))
        deadline = time.monotonic() + timeout
        for app, server, process, log in started:
            while not _answers(server.url + app.ready_path):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn for {app.name} did not start:\n{log.read_text()}")
                time.sleep(0.2)
        yield {server.name: server for _, server, _, _ in started}
    finally:
        for _, _, process, _ in started:
            process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown; nothing is in flight
        for _, _, process, _ in started:
            stop(process, timeout=20)


def _answers(url: str) -> bool:
    try:
        return http_get(url, timeout=5)[0] < 500
    except OSError:
        return False


@dataclass
class Load:
    """What wrk measured for one contender in one round."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    issued: int
    accepted: int  # 2xx and 3xx answers
    rejected: int  # any other status
    socket_errors: int
    ran_out: bool = False  # the POSTs given were all sent before the time was over

    @property
    def failed(self) -> int:
        return self.rejected + self.socket_errors


def run_wrk(url: str, *, seconds: int, get_path: str = "", posts: Path | None = None) -> Load:
    """wrk against `url` for `seconds` with CONNECTIONS connections: GET `get_path`, or
    each request of the `posts` file once."""
    args = ["post", str(posts), str(WRK_THREADS), CSRF_SECRET] if posts else ["get", get_path]
    command = [require_wrk(), f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "30s",
               "-s", str(WRK_SCRIPT), url, "--", *args]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)  # nosec B603
    line = next((line for line in out.stdout.splitlines() if line.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")
    figures = json.loads(line.removeprefix("WRK_JSON "))
    return Load(
        requests_per_second=figures["requests"] / (figures["duration_us"] / 1e6),
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        issued=figures["issued"],
        accepted=figures["accepted"],
        rejected=figures["rejected"],
        socket_errors=figures["connect_errors"] + figures["read_errors"] + figures["write_errors"]
        + figures["timeouts"],
        ran_out=bool(figures["ran_out"]),
    )


def write_posts(path: Path, requests: list[tuple[str, str]]) -> Path:
    """A file of POSTs for wrk/bench.lua: `(path, form body)` each, the CSRF field added."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        for url_path, body in requests:
            out.write(f"{url_path}\t{body}&csrfmiddlewaretoken={CSRF_SECRET}\n")
    return path


@dataclass
class Contender:
    """One app on one path. `fresh_posts(count)` returns `count` POSTs never sent before
    (for a GET contender it stays None)."""

    name: str
    server: Server
    get_path: str = ""
    fresh_posts: Callable[[int], list[tuple[str, str]]] | None = None
    queries: int | None = None  # queries per request, counted in process
    loads: list[Load] = field(default_factory=list)  # the measured rounds
    unmeasured: list[Load] = field(default_factory=list)  # warm-ups, runs made again

    def throughput(self) -> Spread:
        return Spread.of([load.requests_per_second for load in self.loads])

    def p99(self) -> Spread:
        return Spread.of([load.p99_ms for load in self.loads])

    def p50(self) -> Spread:
        return Spread.of([load.p50_ms for load in self.loads])

    def totals(self, *, unmeasured: bool = False) -> tuple[int, int, int]:
        """Requests issued, accepted and failed over the rounds (and the unmeasured runs)."""
        loads = self.loads + (self.unmeasured if unmeasured else [])
        return (sum(load.issued for load in loads), sum(load.accepted for load in loads),
                sum(load.failed for load in loads))

    def summary(self) -> str:
        issued, accepted, failed = self.totals()
        queries = "?" if self.queries is None else self.queries
        return (f"{self.name}: {self.throughput().text(' req/s')}, p50 {self.p50().text(' ms', 1)}, "
                f"p99 {self.p99().text(' ms', 1)}, {queries} queries/request; {issued:,} requests sent, "
                f"{accepted:,} accepted (2xx/3xx), {failed:,} failed, {issued - accepted - failed:,} still in "
                "flight when wrk stopped")


def measure(contender: Contender, *, seconds: int, expected_rate: float, keep: bool = True) -> Load:
    """One wrk run. A POST contender gets enough fresh requests for `expected_rate`
    twice over (plus what the connections hold in flight); should wrk send them all
    before the time is over, the run is made again with more (a smoke run keeps it)."""
    for _ in range(4):
        posts = None
        if contender.fresh_posts is not None:
            count = math.ceil(max(expected_rate, 50) * seconds * 2) + CONNECTIONS * 4
            posts = write_posts(BENCH_DIR / "posts" / f"{contender.name}.txt", contender.fresh_posts(count))
        load = run_wrk(contender.server.url, seconds=seconds, get_path=contender.get_path, posts=posts)
        if not load.ran_out or smoke():
            break
        contender.unmeasured.append(load)
        print(f"[bench] {contender.name} sent all {count:,} fresh POSTs before {seconds} s; again with more")
        expected_rate *= 4
    else:
        raise RuntimeError(f"{contender.name}: wrk kept running out of fresh POSTs")
    (contender.loads if keep else contender.unmeasured).append(load)
    return load


def interleave(contenders: list[Contender], *, first_guess: float = 500) -> None:
    """A warm-up of each (WARM_UP_SECONDS; none in a smoke run), then `rounds()` rounds
    of `duration()` seconds each, round-robin with a different contender first each round. Each contender's rate for
    sizing its POSTs is its best so far."""
    best = {contender.name: first_guess / 2 for contender in contenders}
    for contender in [] if smoke() else contenders:
        warm = measure(contender, seconds=WARM_UP_SECONDS, expected_rate=first_guess, keep=False)
        best[contender.name] = warm.requests_per_second
    for number in range(rounds()):
        order = contenders[number % len(contenders):] + contenders[:number % len(contenders)]
        for contender in order:
            load = measure(contender, seconds=duration(), expected_rate=best[contender.name])
            best[contender.name] = max(best[contender.name], load.requests_per_second)
            print(f"[bench] round {number + 1} {contender.name}: {load.requests_per_second:,.0f} req/s, "
                  f"p99 {load.p99_ms:.1f} ms, {load.failed} failed")


def count_queries(*, python: Path | str, env: dict[str, str], requests: list[tuple[str, str, str]]) -> subprocess.Popen:
    """Starts counting the queries of each request `(method, path, body)` in a Django
    process of the app's own (tests/benchmarks/web_queries.py, CaptureQueriesContext);
    `queries_counted` reads the counts."""
    command = [str(python), str(Path(__file__).with_name("web_queries.py")), json.dumps(requests)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # nosec B603
                            text=True)


def queries_counted(process: subprocess.Popen) -> list[int]:
    out, err = process.communicate(timeout=300)
    if process.returncode != 0:
        raise RuntimeError(f"Counting queries failed:\n{out}\n{err}")
    return json.loads(out.strip().splitlines()[-1])
