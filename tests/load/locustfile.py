"""The load test's people, for Locust (issue 16, proof 6): respondents answering their
survey links, an integrator posting delivery batches through the API with a token, and
account managers paging through their alerts, signed in.

tests/load/scenario.py prepares the data, starts the app, runs this file headless and
reads what it writes; by hand, against a server whose database holds the data:

    LOAD_DATA=var/load/data.json .venv/bin/locust -f tests/load/locustfile.py --headless \
        --host http://127.0.0.1:8000 --users 205 --spawn-rate 50 --run-time 60s --stop-timeout 30

LOAD_DATA is a JSON file: `tokens` (link tokens of survey emails sent, each answered by
one respondent), `managers` ([username, password]), `api_token`, `customers` (external
ids the integrator delivers to), `managers_count`, `results` (where this file writes what
it saw: every request's status, every answer and delivery accepted, Locust's figures).

Locust runs in its own process (it patches the standard library with gevent), so this
file imports nothing of the project.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections import Counter
from datetime import datetime, timezone
from itertools import count
from pathlib import Path
from urllib.parse import urlencode

from locust import FastHttpUser, between, events, task
from locust.exception import StopUser

DATA = json.loads(Path(os.environ["LOAD_DATA"]).read_text())
TOKENS = list(reversed(DATA["tokens"]))  # each respondent takes the next one (pop)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ALERT_LINK = re.compile(r'href="/alerts/(\d+)/"')
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DELIVERIES_PER_BATCH = 50

# What this process saw; written to DATA["results"] when Locust quits.
statuses: Counter[str] = Counter()
answers: list[list] = []  # [token, score, comment] of every answer the site accepted (303), in order
deliveries: set[str] = set()  # references of every delivery in a batch the API accepted
addresses = count(1)


@events.request.add_listener
def _tally(request_type, name, response, exception, **kwargs) -> None:
    statuses[str(getattr(response, "status_code", 0) or 0)] += 1


def _respondent_address() -> str:
    """A distinct client address for each respondent, as our proxy (TRUSTED_PROXY_HOPS=1)
    would append it to X-Forwarded-For: the per-address limits count each person apart."""
    number = next(addresses)
    return f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"


def _expect(response, status: int) -> None:
    """Counts the request as failed in Locust's figures unless it answered `status`."""
    if response.status_code != status:
        response.failure(f"{response.status_code}, not {status}")


def _csrf(page) -> str:
    found = CSRF.search(page.text or "")
    return found[1] if found else ""


class Respondent(FastHttpUser):
    """One respondent after another: opens the link from the email with a score
    preselected, sends it, reads the thank-you page, and one in three adds a comment."""

    weight = 1
    wait_time = between(0.5, 1.5)

    @task
    def answer_a_survey(self) -> None:
        if not TOKENS:
            raise StopUser  # every prepared link is answered; the run is sized so this is rare
        token, score = TOKENS.pop(), random.randint(1, 10)
        headers = {"X-Forwarded-For": _respondent_address()}
        self.client.cookiejar.clear()  # a new person, a new browser
        url = f"/s/{token}/"
        page = self.client.get(f"{url}?score={score}", name="/s/[token]/ open", headers=headers)
        if page.status_code != 200:
            return
        time.sleep(random.uniform(1, 2))  # reading the question (gevent's sleep: Locust patched it)
        if not self._send(url, {"score": score}, headers, name="answer"):
            return
        thanks = self.client.get(f"{url}thanks/", name="/s/[token]/thanks/", headers=headers)
        if random.random() < 1 / 3 and thanks.status_code == 200:
            time.sleep(random.uniform(1, 3))  # writing it
            comment = random.choice(["Late again.", "Great service, thank you!", "The driver was kind. 👍"])
            form = {"score": score, "comment": comment, "step": "comment"}
            if self._send(url, form, headers, name="comment", comment=comment):
                self.client.get(f"{url}thanks/?saved=comment", name="/s/[token]/thanks/", headers=headers)

    def _send(self, url: str, form: dict, headers: dict, *, name: str, comment: str = "") -> bool:
        with self.client.post(url, data=urlencode(form), headers={**headers, **FORM}, allow_redirects=False,
                              name=f"/s/[token]/ {name}", catch_response=True) as sent:
            _expect(sent, 303)  # the answer recorded, on to the thank-you page
        if sent.status_code != 303:
            return False
        answers.append([url.split("/")[2], int(form["score"]), comment])
        return True


class Integrator(FastHttpUser):
    """An integration posting deliveries as they happen, a batch at a time; now and then
    a batch goes again, as a client retrying after a timeout does (nothing is doubled)."""

    fixed_count = 1
    wait_time = between(0.5, 1.5)
    batches = count(1)

    def on_start(self) -> None:
        self.client.auth_header = f"Token {DATA['api_token']}"
        self.last_batch: list[dict] = []

    @task
    def post_a_batch(self) -> None:
        if self.last_batch and random.random() < 0.2:
            batch = self.last_batch
        else:
            number = next(self.batches)
            now = datetime.now(timezone.utc).isoformat()
            batch = [
                {
                    "customer": random.choice(DATA["customers"]),
                    "reference": f"LOAD-API-{number}-{row}",
                    "delivered_at": now,
                    "contact_email": f"api-{number}-{row}@example.com",
                    "contact_name": f"Contact {number}-{row}",
                }
                for row in range(DELIVERIES_PER_BATCH)
            ]
        answer = self.client.post("/api/v1/deliveries/bulk/", json=batch, name="/api/v1/deliveries/bulk/")
        if answer.status_code == 200:
            deliveries.update(row["reference"] for row in batch)
        self.last_batch = batch


class AccountManager(FastHttpUser):
    """An account manager signed in, working down the alert queue: the first page, an
    alert or two, now and then the next page."""

    fixed_count = DATA["managers_count"]
    wait_time = between(2, 5)
    logins = count()

    def on_start(self) -> None:
        username, password = DATA["managers"][next(self.logins) % len(DATA["managers"])]
        page = self.client.get("/login/", name="/login/")
        form = {"csrfmiddlewaretoken": _csrf(page), "username": username, "password": password}
        with self.client.post("/login/", data=urlencode(form), headers=FORM, allow_redirects=False,
                              name="/login/ sign in", catch_response=True) as signed_in:
            _expect(signed_in, 302)

    @task
    def work_the_queue(self) -> None:
        queue = self._page("/alerts/", name="/alerts/")
        shown = ALERT_LINK.findall(queue.text or "")
        for alert in random.sample(shown, k=min(2, len(shown))):
            time.sleep(random.uniform(1, 3))
            self._page(f"/alerts/{alert}/", name="/alerts/[id]/")
        if "?page=2" in (queue.text or "") and random.random() < 0.5:
            self._page("/alerts/?page=2", name="/alerts/?page=[n]")

    def _page(self, url: str, *, name: str):
        """A signed-in page: its 200, never a way back to the sign-in page."""
        with self.client.get(url, name=name, allow_redirects=False, catch_response=True) as page:
            _expect(page, 200)
        return page


@events.quitting.add_listener
def _write_results(environment, **kwargs) -> None:
    stats = environment.stats
    requests = {
        f"{entry.method} {entry.name}": _figures(entry) for entry in sorted(stats.entries.values(), key=lambda e: e.name)
    }
    requests["all"] = _figures(stats.total)
    Path(DATA["results"]).write_text(json.dumps({
        "requests": requests,
        "statuses": dict(statuses),
        "answers": answers,
        "deliveries": sorted(deliveries),
        "tokens_left": len(TOKENS),
        "seconds": max(stats.total.last_request_timestamp or 0, stats.total.start_time) - stats.total.start_time,
    }, indent=1))


def _figures(entry) -> dict:
    return {
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "per_second": entry.total_rps,
        "median_ms": entry.median_response_time,
        "p95_ms": entry.get_response_time_percentile(0.95),
        "max_ms": entry.max_response_time,
    }
