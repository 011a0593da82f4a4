"""Counts the database queries of requests, in a Django process of the app's own.

    DJANGO_SETTINGS_MODULE=... python tests/benchmarks/web_queries.py '[["POST", "/s/TOKEN/", "score=7"]]'

Prints the counts as a JSON list. Run by tests/benchmarks/web.py for every contender
(ValuePulse, the bare project, the peer apps in their own virtual environment), so each
figure comes from the same CaptureQueriesContext around Django's test client. Before
each counted request a GET of its path goes, uncounted: it opens the connection and
fills what a process caches once, as a warm server has."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main(requests: str) -> int:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    setup_test_environment()  # lets the test client's host in
    counts = []
    for method, path, body in json.loads(requests):
        client = Client()
        client.get(path)
        with CaptureQueriesContext(connection) as queries:
            if method == "POST":
                answer = client.post(path, body, content_type="application/x-www-form-urlencoded")
            else:
                answer = client.get(path)
        if answer.status_code >= 400:
            print(f"{method} {path} answered {answer.status_code}", file=sys.stderr)
            return 1
        counts.append(len(queries))
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
