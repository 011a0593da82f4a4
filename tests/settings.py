"""The settings the test suite runs under: the project's own, given a key.

Tests run with DEBUG off (Django's test runner forces it), and with DEBUG off the
settings refuse to start without SECRET_KEY. A fresh key for each run goes into this
process's environment, so every process a test starts (Celery workers, management
commands) inherits it and signs and checks survey links and sessions alike.

Run in several processes (pytest-xdist, as `make test` does), each process gets a Redis
database of its own (tests/support/parallel.py) here, before the project's settings read
REDIS_URL, so its cache, its broker and the processes its tests start all use that one."""

from __future__ import annotations

import os
import secrets

from tests.support.parallel import give_this_worker_its_redis_database

os.environ.setdefault("SECRET_KEY", f"tests-{secrets.token_urlsafe(40)}")
give_this_worker_its_redis_database()

from config.settings import *  # noqa: E402, F403
