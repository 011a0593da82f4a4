"""django-survey-and-report (app `survey`) in a startproject project. The app reads a few
settings of its own with no default in some places (CHOICES_SEPARATOR is read from
django.conf.settings directly by its Question model), so they are all set here."""

from tests.benchmarks.startproject import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "survey"]  # noqa: F405
ROOT_URLCONF = "tests.benchmarks.peers.survey_and_report.urls"
CHOICES_SEPARATOR = ","
USER_DID_NOT_ANSWER = "Left blank"
SURVEY_DEFAULT_PIE_COLOR = "red!50"
EXCEL_COMPATIBLE_CSV = False
