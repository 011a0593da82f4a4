"""The answer rule with every real part: a web process records an answer and its
correction, and a real Celery worker raises one alert, about the correction, once the
answer has been quiet for its period (the task queued with a countdown, not the sweep)."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from insights.models import Alert
from surveys.models import Response
from tests.factories import CustomerFactory, sent_invitation
from tests.support.processes import PROJECT_DIR, celery_worker, child_environment, wait_until
from tests.support.services import require_redis

# Three seconds, so the test waits for it.
QUIET_MINUTES = "0.05"

ANSWER_AND_CORRECT = """
import time
import django; django.setup()
from config.celery import app
app.conf.task_default_queue = {queue!r}
from surveys.models import Invitation
from surveys.services import record_response
invitation = Invitation.objects.get(pk={pk})
record_response(invitation=invitation, score=8)
time.sleep(2)
record_response(invitation=invitation, score=2)
print("corrected")
"""


def evaluations_finished(log) -> int:
    """How many evaluate_response tasks the worker's log says it has finished."""
    return len(re.findall(r"insights\.tasks\.evaluate_response\[[^\]]+\] succeeded", log.read_text()))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["embedded", "redis"])
def test_a_real_worker_alerts_once_about_the_corrected_answer_after_the_quiet_period(broker, tmp_path):
    redis_url = require_redis() if broker == "redis" else None
    customer = CustomerFactory(tier=2)
    invitation = sent_invitation(
        token=f"quiet-worker-{uuid.uuid4().hex}", sent_at=timezone.now() - timedelta(hours=1),
        delivery__customer=customer, delivery__contact__customer=customer,
    )
    env = child_environment(var_dir=tmp_path, redis_url=redis_url, ANSWER_QUIET_MINUTES=QUIET_MINUTES)
    queue = f"test-{uuid.uuid4().hex}"

    with celery_worker(env, queue=queue, log=tmp_path / "worker.log"):
        web = subprocess.run(
            [sys.executable, "-c", ANSWER_AND_CORRECT.format(queue=queue, pk=invitation.pk)],
            cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60,
        )
        assert "corrected" in web.stdout, web.stderr
        raised = wait_until(lambda: Alert.objects.exists(), timeout=30)
        assert raised, (tmp_path / "worker.log").read_text()
        # The first answer's task has run too (its countdown ended first), and raised nothing more.
        both_ran = wait_until(lambda: evaluations_finished(tmp_path / "worker.log") >= 2, timeout=30)
        assert both_ran, (tmp_path / "worker.log").read_text()

    response = Response.objects.get()
    alert = Alert.objects.get()
    assert (alert.score, alert.response_id) == (2, response.pk)
    # Not before the quiet period after the correction was over (submitted_at is the
    # correction's time); this, not a count taken at some moment, proves it, however
    # slowly the machine ran the web process.
    assert alert.created_at - response.submitted_at >= timedelta(seconds=3)
    assert "insights.tasks.evaluate_response" in (tmp_path / "worker.log").read_text()
