"""Running calls at the same moment in threads, as simultaneous requests would arrive."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def run_at_once(*calls: Callable[[], Any], timeout: float = 60) -> list[Any]:
    """Starts every call together, each in its own thread with its own database
    connection, and returns what each returned or raised, in the order they finished."""
    start = threading.Barrier(len(calls))
    outcomes: list[Any] = []

    def run(call: Callable[[], Any]) -> None:
        try:
            start.wait()
            outcomes.append(call())
        except Exception as error:  # handed to the test, which asserts on it
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return outcomes
