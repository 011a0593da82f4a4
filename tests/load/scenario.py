"""The load run (issue 16, proof 6), shared by the short CI test (tests/load/test_load.py)
and the full benchmark (tests/benchmarks/test_load_bench.py).

The whole app as production runs it: gunicorn (gunicorn.conf.py, sync workers, DEBUG
off), two Celery workers and beat, on this test's PostgreSQL database and a Redis
server of the run's own (tests/support/redis_server.py's private_redis: no queue or
rate-limit counter of another test can leak in), mail to an SMTP sink. Locust
(tests/load/locustfile.py) plays respondents, an integrator and account managers in a
process of its own. Afterwards the run waits until the workers have settled every
answer and sent every message, then `problems()` names every broken promise.

Two settings differ from production, both so that the run proves what it should in a
minute: ANSWER_QUIET_MINUTES=0 (an answer is evaluated at once instead of after a quiet
minute, so every alert is due before the run ends) and SWEEP_SECONDS=10. The public
pages' per-address limit stays as it is: each respondent comes from an address of its
own, written into X-Forwarded-For as one trusted proxy (TRUSTED_PROXY_HOPS=1) would.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken

from core.models import OutgoingMessage
from customers.models import Band
from insights.models import Alert, AlertKind
from surveys.models import Delivery, Invitation, InvitationStatus, Response, Survey, hash_token
from tests.factories import ApiStaffFactory, CustomerFactory, UserFactory, due_invitations
from tests.support.invariants import check_invariants, message_ids
from tests.support.processes import (
    PROJECT_DIR, celery_beat, celery_worker, child_environment, free_ports, gunicorn_server, together, wait_until,
)
from tests.support.redis_server import private_redis
from tests.support.smtp import smtp_sink

LOCUST = str(Path(sys.executable).with_name("locust"))
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
MANAGER_PASSWORD = "load-test manager passphrase"
SETTLE_SECONDS = 90  # the workers' time to evaluate every answer and send every message after the run
STOP_SECONDS = 30  # Locust lets each user finish what it is doing (answer, comment) when the time is up
ANSWERS_PER_RESPONDENT_SECOND = 0.7  # at most: an answer takes a respondent 1.5 s or more


@dataclass
class Plan:
    respondents: int
    seconds: int
    managers: int = 2
    web_workers: int = 2
    spawn_rate: int = 50

    @property
    def users(self) -> int:
        return self.respondents + 1 + self.managers  # the integrator is one


@dataclass
class Usage:
    """At one moment: the machine's load average (1 minute), and the CPU seconds used so
    far by gunicorn's workers (those exited included) and by the two Celery workers."""

    load_average: float
    web_cpu: float
    worker_cpu: float

    @classmethod
    def now(cls, *, web_log: Path, workers: list[int]) -> Usage:
        master = int(re.search(r"\[(\d+)\] \[INFO\] Starting gunicorn", web_log.read_text())[1])
        children = [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", web_log.read_text())]
        return cls(os.getloadavg()[0], _cpu_seconds(children) + _cpu_seconds([master], of_children=True),
                   _cpu_seconds(workers))


def _cpu_seconds(pids: list[int], *, of_children: bool = False) -> float:
    """User + system CPU seconds of processes still running (/proc/<pid>/stat), or with
    `of_children` of their children that have exited."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited: its parent counts it
        ticks += int(fields[13]) + int(fields[14]) if of_children else int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """What Locust saw (`requests`: its figures by request; `statuses`; the answers and
    deliveries accepted) and what the server logged."""

    plan: Plan
    requests: dict[str, dict]
    statuses: Counter
    answers: list[list]
    deliveries: list[str]
    tokens: list[str]
    tokens_left: int
    seconds: float
    server_errors_logged: int
    settled: bool
    usage: tuple[Usage, Usage, Usage]  # as Locust started, as it ended, once the workers had settled
    received: list = field(repr=False, default_factory=list)
    logs: str = field(repr=False, default="")

    def server_errors(self) -> int:
        """Answers of 500 and more, and requests that got no answer at all (status 0)."""
        return sum(n for status, n in self.statuses.items() if int(status) >= 500 or int(status) == 0)

    def final_answers(self) -> dict[str, tuple[int, str, int]]:
        """Each token's answer as the respondent last left it: score, comment, and how many
        accepted changes came before it."""
        final: dict[str, tuple[int, str, int]] = {}
        for token, score, comment in self.answers:
            earlier = final[token][2] + 1 if token in final else 0
            final[token] = (score, comment, earlier)
        return final


def prepare(plan: Plan, directory: Path) -> Path:
    """The people and rows the run needs, written where Locust reads them: survey emails
    sent an hour ago to distinct contacts (their link tokens), customers each managed by
    one of the account managers (who sign in with a password), a staff API token."""
    managers = [UserFactory(username=f"load-manager-{n}") for n in range(plan.managers)]
    # Hashed the way the server checks it (the tests' own fast hasher is not one the server accepts).
    hasher = PBKDF2PasswordHasher()
    get_user_model().objects.filter(pk__in=[manager.pk for manager in managers]).update(
        password=hasher.encode(MANAGER_PASSWORD, hasher.salt())
    )
    customers = [CustomerFactory(account_manager=managers[n % len(managers)]) for n in range(10 * plan.managers)]
    tokens = sent_invitations(int(plan.respondents * plan.seconds * ANSWERS_PER_RESPONDENT_SECOND) + plan.respondents,
                              customers=customers)
    analyse_what_was_loaded()
    data = {
        "tokens": tokens,
        "managers": [[manager.username, MANAGER_PASSWORD] for manager in managers],
        "managers_count": plan.managers,
        "api_token": AuthToken.objects.create(ApiStaffFactory(username="load-integrator"))[1],
        "customers": [customer.external_id for customer in customers],
        "results": str(directory / "locust-results.json"),
    }
    path = directory / "load-data.json"
    path.write_text(json.dumps(data))
    return path


def analyse_what_was_loaded() -> None:
    """What autovacuum does after a bulk load (on PostgreSQL): the servers' prepared
    statements are then planned for tables of their size, not as first seen, nearly
    empty (a token lookup reading every invitation)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def sent_invitations(count: int, *, customers: list) -> list[str]:
    """`count` survey emails sent an hour ago, scheduled the way the API schedules them;
    their link tokens."""
    due_invitations(count, customers=customers, address="load{}@example.com", reference="LOAD-{}")
    sent_at = timezone.now() - timedelta(hours=1)
    invitations = list(Invitation.objects.filter(delivery__reference__startswith="LOAD-"))
    tokens = [secrets.token_urlsafe(24) for _ in invitations]
    for invitation, token in zip(invitations, tokens, strict=True):
        invitation.status, invitation.sent_at, invitation.next_attempt_at = InvitationStatus.SENT, sent_at, None
        invitation.remind_at, invitation.token_hash = sent_at + timedelta(days=3), hash_token(token)
    Invitation.objects.bulk_update(invitations, ["status", "sent_at", "next_attempt_at", "remind_at", "token_hash"],
                                   batch_size=1000)
    return tokens


def run(plan: Plan, tmp_path: Path) -> Run:
    data_file = prepare(plan, tmp_path)
    (port,) = free_ports(1)
    with smtp_sink() as sink, private_redis(tmp_path) as broker:
        env = child_environment(
            var_dir=tmp_path, redis_url=broker.url, EMAIL_HOST=sink.host, EMAIL_PORT=str(sink.port), DEBUG="",
            ANSWER_QUIET_MINUTES="0", SWEEP_SECONDS="10", TRUSTED_PROXY_HOPS="1",
        )
        with together(
            gunicorn_server(env, port=port, log=tmp_path / "web.log", workers=plan.web_workers),
            celery_worker(env, queue="celery", log=tmp_path / "worker1.log", name="load-one"),
            celery_worker(env, queue="celery", log=tmp_path / "worker2.log", name="load-two"),
            celery_beat(env, log=tmp_path / "beat.log"),
        ) as (url, first_worker, second_worker, _):
            workers = [first_worker.pid, second_worker.pid]
            started = Usage.now(web_log=tmp_path / "web.log", workers=workers)
            _locust(plan, url, data_file, tmp_path / "locust.log")
            ended = Usage.now(web_log=tmp_path / "web.log", workers=workers)
            settled = wait_until(_settled, timeout=SETTLE_SECONDS, interval=0.5)
            finished = Usage.now(web_log=tmp_path / "web.log", workers=workers)
            wait_until(lambda: len(sink.received()) >= _sent(), timeout=10)
        received = sink.received()
    results = json.loads(Path(json.loads(data_file.read_text())["results"]).read_text())
    return Run(
        plan=plan,
        requests=results["requests"],
        statuses=Counter(results["statuses"]),
        answers=results["answers"],
        deliveries=results["deliveries"],
        tokens=json.loads(data_file.read_text())["tokens"],
        tokens_left=results["tokens_left"],
        seconds=results["seconds"],
        server_errors_logged=len(re.findall(r'" 5\d\d ', (tmp_path / "web.log").read_text())),
        settled=settled,
        usage=(started, ended, finished),
        received=received,
        logs="\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in sorted(tmp_path.glob("*.log"))),
    )


def _locust(plan: Plan, url: str, data_file: Path, log: Path) -> None:
    command = [
        LOCUST, "-f", str(LOCUSTFILE), "--headless", "--host", url, "--users", str(plan.users),
        "--spawn-rate", str(plan.spawn_rate), "--run-time", f"{plan.seconds}s", "--stop-timeout", str(STOP_SECONDS),
        "--exit-code-on-error", "0", "--only-summary", "--loglevel", "WARNING",
    ]
    with log.open("w") as output:
        subprocess.run(command, cwd=PROJECT_DIR, env={**os.environ, "LOAD_DATA": str(data_file)},
                       stdout=output, stderr=subprocess.STDOUT, check=True, timeout=plan.seconds + STOP_SECONDS + 60)


def _settled() -> bool:
    """Every answer evaluated and every message sent: nothing left for the workers."""
    waiting = Response.objects.filter(needs_evaluation=True, is_suspect=False).exists()
    unsent = OutgoingMessage.objects.filter(
        status__in=[OutgoingMessage.Status.QUEUED, OutgoingMessage.Status.SENDING]
    ).exists()
    return not waiting and not unsent


def _sent() -> int:
    return OutgoingMessage.objects.filter(status=OutgoingMessage.Status.SENT).count()


def problems(result: Run) -> list[str]:
    """Every broken promise of the run, in words; an empty list means all hold."""
    found = []
    if result.server_errors() or result.server_errors_logged:
        found.append(f"server errors: {result.server_errors()} seen by Locust (status 5xx or no answer), "
                     f"{result.server_errors_logged} in gunicorn's access log; statuses {dict(result.statuses)}")
    if result.requests["all"]["failures"]:
        found.append(f"{result.requests['all']['failures']} requests failed (an error status, or not the page a "
                     f"person expects there); statuses {dict(result.statuses)}")
    if not result.settled:
        found.append(f"the workers had not settled {SETTLE_SECONDS} s after the run")
    found += answers_not_stored_once(result)
    found += deliveries_not_recorded_once(result)
    found += alerts_not_raised(result)
    found += check_invariants(sink_message_ids=message_ids(result.received))
    return found


def answers_not_stored_once(result: Run) -> list[str]:
    """Every accepted answer stored once, as the respondent last left it (earlier
    versions kept as revisions), and nothing stored that was not accepted."""
    final = result.final_answers()
    token_of = {hash_token(token): token for token in result.tokens}
    stored = Response.objects.filter(invitation__token_hash__in=token_of).values_list(
        "invitation__token_hash", "score", "comment", "revisions"
    )
    found, seen = [], Counter()
    for digest, score, comment, revisions in stored:
        token = token_of[digest]
        seen[token] += 1
        if token not in final:
            found.append(f"an answer ({score}) is stored for a link no accepted answer used")
        elif final[token] != (score, comment, revisions):
            found.append(f"answer stored as {(score, comment, revisions)}, accepted as {final[token]}")
    found += [f"an accepted answer is stored {seen[token]} times" for token in final if seen[token] != 1]
    return found


def deliveries_not_recorded_once(result: Run) -> list[str]:
    recorded = Counter(Delivery.objects.filter(reference__startswith="LOAD-API-").values_list("reference", flat=True))
    accepted = set(result.deliveries)
    if set(recorded) != accepted or set(recorded.values()) - {1}:
        return [f"{len(accepted)} deliveries accepted, {len(recorded)} recorded "
                f"({sum(recorded.values())} rows)"]
    return []


def alerts_not_raised(result: Run) -> list[str]:
    """One at-risk alert for every accepted answer left at risk, and none for the others."""
    survey = Survey.default()
    at_risk = sum(1 for score, _, _ in result.final_answers().values() if survey.classify(score) == Band.AT_RISK)
    raised = Alert.objects.filter(kind=AlertKind.AT_RISK, response__band=Band.AT_RISK).count()
    alerts = Alert.objects.count()
    if raised != at_risk or alerts != at_risk:
        return [f"{at_risk} answers left at risk, {raised} at-risk alerts raised for them, {alerts} alerts in all"]
    return []
