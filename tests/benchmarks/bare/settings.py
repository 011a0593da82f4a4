"""The bare Django project of the web benchmarks: startproject's settings and one app."""

from tests.benchmarks.startproject import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.benchmarks.bare"]  # noqa: F405
ROOT_URLCONF = "tests.benchmarks.bare.urls"
