"""django-form-surveys (app `djf_surveys`) in a startproject project. Its templates need
its context processor (the master template's name), and its models import
django-tinymce's field."""

from tests.benchmarks.startproject import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tinymce", "djf_surveys"]  # noqa: F405
ROOT_URLCONF = "tests.benchmarks.peers.form_surveys.urls"
TEMPLATES[0]["OPTIONS"]["context_processors"].append("djf_surveys.context_processors.surveys_context")  # noqa: F405
