"""The settings `django-admin startproject` writes (Django 5.2), shared by the baseline
projects of the web benchmarks: the bare project (bare/) and the peer survey apps
(peers/). Production-like where it matters for speed, as ValuePulse runs: DEBUG off,
persistent database connections with health checks, on the PostgreSQL database that
DATABASE_URL names, in the schema BENCH_SCHEMA names (each project has its own)."""

import os

import dj_database_url

DEBUG = False
SECRET_KEY = os.environ.get("BENCH_SECRET_KEY", "bench-only-key-for-a-throwaway-server-on-127.0.0.1")  # nosec B105
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "tests.benchmarks.startproject_wsgi.application"
DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60, conn_health_checks=True)}
if os.environ.get("BENCH_SCHEMA"):
    DATABASES["default"]["OPTIONS"] = {"options": f"-c search_path={os.environ['BENCH_SCHEMA']}"}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
