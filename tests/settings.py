"""The settings the test suite runs under: the project's own, given a key.

Tests run with DEBUG off (Django's test runner forces it), and with DEBUG off the
settings refuse to start without SECRET_KEY. A fresh key for each run goes into this
process's environment, so every process a test starts (Celery workers, management
commands) inherits it and signs and checks survey links and sessions alike."""

from __future__ import annotations

import os
import secrets

os.environ.setdefault("SECRET_KEY", f"tests-{secrets.token_urlsafe(40)}")

from config.settings import *  # noqa: E402, F403
