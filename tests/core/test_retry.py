from __future__ import annotations

from datetime import timedelta

from core import retry


class TestRetryPolicy:
    def test_retry_delays_grow_and_stay_bounded(self):
        delays = [retry.retry_delay(attempt) for attempt in range(1, 10)]
        assert delays[:4] == [timedelta(minutes=minutes) for minutes in (1, 2, 4, 8)]
        assert max(delays) == timedelta(minutes=30)

