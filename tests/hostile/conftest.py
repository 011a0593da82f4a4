"""Hostile input: properties Hypothesis tries to break, fuzzed requests, markup and
formulas where text is shown or exported, and the API against its own schema.

Hypothesis runs with a fixed seed (derandomize) and no example database, so CI sees the
same examples every time and nothing is written to the working tree; no deadline,
because this machine is shared and a slow example is not a wrong one."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "valuepulse",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=60,
    print_blob=False,
    # Database examples share the test's transaction; each one cleans up after itself.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("valuepulse")
