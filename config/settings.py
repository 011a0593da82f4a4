"""ValuePulse settings.

Every value comes from the environment and has a default that runs on a bare
machine: SQLite under var/, an embedded (filesystem) Celery broker, and mail
written to a local mailbox a developer can open in the browser.
"""

from __future__ import annotations

import ipaddress
import json
import os
import pkgutil
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from zoneinfo import available_timezones

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# anymail's modules in anymail/backends/ that are no email provider.
_NOT_EMAIL_PROVIDERS = {"base", "base_requests", "console", "test"}


def anymail_backend(provider: str) -> str:
    """django-anymail's backend for an ESP name (`postmark`, `amazon_ses`, `mailgun`, …)."""
    import anymail.backends

    known = sorted(
        module.name for module in pkgutil.iter_modules(anymail.backends.__path__)
        if module.name not in _NOT_EMAIL_PROVIDERS
    )
    name = provider.strip().lower().replace("-", "_")
    if name not in known:
        raise ImproperlyConfigured(
            f"EMAIL_PROVIDER={provider!r} is not an email provider django-anymail knows. "
            f"Use one of: {', '.join(known)}."
        )
    return f"anymail.backends.{name}.EmailBackend"


def anymail_settings(environ: Mapping[str, str]) -> dict[str, object]:
    """Every ANYMAIL_<SETTING> variable as anymail's <SETTING>: ANYMAIL_POSTMARK_SERVER_TOKEN
    becomes ANYMAIL["POSTMARK_SERVER_TOKEN"]. A value written in JSON as a list or an
    object (two webhook secrets while rotating them, boto3's client parameters) or as
    true/false is read as such; anything else is a string."""
    gathered: dict[str, object] = {}
    for variable, value in environ.items():
        setting = variable.removeprefix("ANYMAIL_")
        if setting == variable or not setting:
            continue
        if value.lstrip().startswith(("[", "{")):
            try:
                gathered[setting] = json.loads(value)
            except ValueError as error:
                raise ImproperlyConfigured(f"{variable} starts like JSON but is not valid JSON: {error}") from None
        elif value.strip().lower() in {"true", "false"}:
            gathered[setting] = value.strip().lower() == "true"
        else:
            gathered[setting] = value
    return gathered


# mozilla-django-oidc reads these; each is found through discovery when left empty.
OIDC_ENDPOINT_SETTINGS = (
    "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT",
    # Not an endpoint: the issuer every ID token must name (its "iss").
    "OIDC_OP_ISSUER",
)


def oidc_settings(environ: Mapping[str, str]) -> dict[str, object]:
    """Single sign-on (OpenID Connect, mozilla-django-oidc) from the environment: off,
    with nothing of it on any page, unless OIDC_RP_CLIENT_ID is set. A function so that
    tests can switch it on for a live server with override_settings(**oidc_settings(env))."""
    def value(name: str, default: str = "") -> str:
        return environ.get(name, "").strip() or default

    def flag(name: str, default: bool) -> bool:
        return value(name, "true" if default else "false").lower() in {"1", "true", "yes", "on"}

    client_id = value("OIDC_RP_CLIENT_ID")
    discovery_url = value("OIDC_OP_DISCOVERY_URL")
    endpoints = {name: value(name) for name in OIDC_ENDPOINT_SETTINGS}
    missing = [name for name, url in endpoints.items() if not url]
    if client_id and missing and not discovery_url:
        raise ImproperlyConfigured(
            f"OIDC_RP_CLIENT_ID is set: set OIDC_OP_DISCOVERY_URL (the provider's "
            f"/.well-known/openid-configuration) or {', '.join(missing)}."
        )
    if client_id and not value("OIDC_RP_CLIENT_SECRET"):
        raise ImproperlyConfigured("OIDC_RP_CLIENT_ID is set without OIDC_RP_CLIENT_SECRET.")
    # Axes first: it refuses a locked-out username + address pair before any other
    # backend (password, then single sign-on) is asked.
    backends = ["axes.backends.AxesStandaloneBackend", "accounts.backends.PasswordBackend"]
    return {
        "SSO_ENABLED": bool(client_id),
        "AUTHENTICATION_BACKENDS": backends + (["accounts.sso.SSOBackend"] if client_id else []),
        "OIDC_PROVIDER_NAME": value("OIDC_PROVIDER_NAME", "single sign-on"),
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_RP_CLIENT_SECRET": value("OIDC_RP_CLIENT_SECRET"),
        "OIDC_RP_SIGN_ALGO": value("OIDC_RP_SIGN_ALGO", "RS256"),
        "OIDC_RP_SCOPES": value("OIDC_RP_SCOPES", "openid email profile"),
        "OIDC_OP_DISCOVERY_URL": discovery_url,
        **endpoints,
        # PKCE: a stolen authorization code is worth nothing without the verifier.
        "OIDC_USE_PKCE": flag("OIDC_USE_PKCE", True),
        "OIDC_TIMEOUT": 10,
        "OIDC_CREATE_USERS": flag("OIDC_CREATE_USERS", False),
        "OIDC_NEW_USER_GROUP": value("OIDC_NEW_USER_GROUP"),
    }


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VALUEPULSE_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG")
# Sessions, CSRF and every survey link are signed with this key. Only a development
# server (DEBUG on, as `make run` starts it) may fall back to the fixed key below, which
# `check --deploy` flags; without DEBUG a missing key stops start-up rather than signing
# with a key everyone can read here.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY to a long random value (for instance "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`), or DEBUG=true "
            "on a development machine to use the development key."
        )
    # Only with DEBUG on (above); production refuses to start without SECRET_KEY.
    SECRET_KEY = "django-insecure-valuepulse-development-key"  # nosec B105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", SITE_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "anymail",
    "csp",
    "axes",
    "auditlog",
    "core",
    "accounts",
    "customers",
    "surveys",
    "insights",
    "imports",
    "demo",
]

MIDDLEWARE = [
    # First: counts every request and its time for /metrics (core.metrics).
    "core.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    # django-csp's, the site's policy built once per process (core/csp.py).
    "core.csp.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who made each change the audit trail records (after the session's user is known).
    "core.audit.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # The providers' webhooks under /anymail/: basic auth required, and clear 4xx answers.
    "core.webhooks.WebhookMiddleware",
    # Last: turns a sign-in refused for too many failures into our lockout page.
    "axes.middleware.AxesMiddleware",
]

# The respondent's pages under /s/ (the survey link's page, its answer, the thanks page)
# are the hot public path (issue 15), and config/wsgi.py serves them through this shorter
# chain: the same security headers, CSP, permissions policy, htmx and metrics, without
# what only the rest of the site uses. No static file is under /s/, no one signs in
# there, nothing there reads the session, the user or messages, nothing it saves is in
# the audit trail, and its pages need no CSRF token (surveys.views.public_page).
SURVEY_PAGES_PATH = "/s/"
NOT_ON_SURVEY_PAGES = {
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.audit.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.webhooks.WebhookMiddleware",
    "axes.middleware.AxesMiddleware",
}
SURVEY_PAGES_MIDDLEWARE = [middleware for middleware in MIDDLEWARE if middleware not in NOT_ON_SURVEY_PAGES]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
                "insights.context_processors.open_alerts",
            ],
        },
    },
]

# --- Database: SQLite under var/ unless DATABASE_URL names another (PostgreSQL in production).
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{VAR_DIR / 'valuepulse.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters bound by PostgreSQL, and a statement run again and again on a persistent
    # connection prepared by psycopg (from its 5th run) so that PostgreSQL plans it once,
    # not on every request: planning the survey pages' token lookup took five times as
    # long as running it, and prepared statements cut PostgreSQL's time for an answer by
    # about two fifths (issue 15).
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: wait for a lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    # A file (not memory) so a Celery worker started by a test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-valuepulse.sqlite3")}
    # SQLite holds one lock per file; long-lived connections only add contention.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Covering indexes (Index.include) speed up PostgreSQL; SQLite builds them without
    # the extra columns, which is all a development database needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Celery: Redis when REDIS_URL is set, otherwise kombu's filesystem transport,
# an embedded broker that needs no server, so worker and beat still really run.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # kombu's Redis transport, with one Redis client per channel instead of one per message.
    CELERY_BROKER_TRANSPORT = "core.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Every retry delay stays well below this, so no task is redelivered while it waits.
        "visibility_timeout": 3600,
        # A broker that stops answering (paused, overloaded) must not hold a web request:
        # Redis answers in a millisecond when well, so half a second means it is not.
        # The worker's blocking wait for tasks is not cut short by it (kombu reads only
        # once the socket is readable).
        "socket_timeout": 0.5,
        "socket_connect_timeout": 0.5,
    }
else:
    BROKER_DIR = VAR_DIR / "broker"
    for folder in ("queue", "processed"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(BROKER_DIR / "control"),
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A web request never hangs because the broker is down or paused: one quick retry (a
# pooled connection the broker dropped on a restart), then give up; the work waits in
# PostgreSQL for a sweep. Stopped or paused, a publish costs at most about a second
# (tests/faults/test_broker_down.py).
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Sweeps: a sweep that waited longer than its period is dropped, the next one does its work.
# SWEEP_SECONDS (60 by default) shortens the period, for tests that wait for the sweeps.
try:
    SWEEP_SECONDS = float(os.environ.get("SWEEP_SECONDS", "60"))
except ValueError:
    SWEEP_SECONDS = 0.0
if not 1 <= SWEEP_SECONDS <= 3600:
    raise ImproperlyConfigured("SWEEP_SECONDS must be a number of seconds from 1 to 3600, e.g. 60.")
_EVERY_MINUTE = {"schedule": SWEEP_SECONDS, "options": {"expires": max(SWEEP_SECONDS - 5, SWEEP_SECONDS / 2)}}
CELERY_BEAT_SCHEDULE = {
    # Incremental: the customers the calendar moved since the last night, then every tier;
    # every customer on the first night and when the last full recompute is a week old.
    "recompute-value-metrics-nightly": {
        "task": "customers.tasks.recompute_value_metrics_nightly",
        "schedule": crontab(hour=2, minute=30),
    },
    "sweep-outbox": {"task": "core.tasks.sweep_outbox", **_EVERY_MINUTE},
    "send-due-invitations": {"task": "surveys.tasks.send_due_invitations", **_EVERY_MINUTE},
    "send-due-reminders": {"task": "surveys.tasks.send_due_reminders", **_EVERY_MINUTE},
    "expire-invitations": {"task": "surveys.tasks.expire_invitations", **_EVERY_MINUTE},
    "evaluate-pending-answers": {"task": "insights.tasks.evaluate_pending", **_EVERY_MINUTE},
    "notify-pending-alerts": {"task": "insights.tasks.notify_pending", **_EVERY_MINUTE},
    # Delivery events the webhook stored while the broker could not take their task.
    "apply-delivery-events": {"task": "customers.tasks.apply_unapplied_delivery_events", **_EVERY_MINUTE},
    "escalate-overdue-alerts": {"task": "insights.tasks.escalate_overdue", **_EVERY_MINUTE},
    # High-value customers no contact of whom can be surveyed, that a lost message missed;
    # and unreachable alerts whose customer can be surveyed again.
    "sweep-unreachable-customers": {"task": "insights.tasks.sweep_unreachable", "schedule": 300.0,
                                    "options": {"expires": 290}},
    # Insights' counts of settled days: rebuilt when a day settles or customers change.
    "refresh-answer-counts": {"task": "insights.tasks.refresh_answer_counts", "schedule": 300.0,
                              "options": {"expires": 290}},
    # Insights' latest answer per customer, kept on write: set right should anything
    # have written answers around the model (a bulk load, raw SQL).
    "verify-latest-answers": {"task": "insights.tasks.verify_latest_answers", "schedule": crontab(hour=3, minute=15)},
}

# The outbox (core.outbox): a message a worker has held "sending" this long (seconds)
# belongs to a dead worker and goes again. Longer than any one send can take.
OUTBOX_SENDING_TIMEOUT = int(os.environ.get("OUTBOX_SENDING_TIMEOUT", "600"))
# true: the outbox's claims and outcomes wait for PostgreSQL's disk flush (about 2 ms a
# message on a plain disk). Off by default: only a crash of the database server could
# then send the messages of its last 0.6 s again (core.outbox._outcomes_not_waiting_for_disk).
OUTBOX_SYNCHRONOUS_COMMIT = env_bool("OUTBOX_SYNCHRONOUS_COMMIT")
# Survey sending pauses when spam complaints pass this share of the last 1,000 emails
# sent (Gmail's limit for bulk senders is 0.3%).
COMPLAINT_RATE_LIMIT = float(os.environ.get("COMPLAINT_RATE_LIMIT", "0.003"))

# --- Health and metrics (README "Running in production"). A worker writes its heartbeat
# every HEARTBEAT_SECONDS; /health/ready fails when the newest is older than
# HEALTH_WORKER_MAX_AGE, beat's last periodic task older than HEALTH_BEAT_MAX_AGE, or the
# oldest due outbox message older than HEALTH_OUTBOX_MAX_AGE (all in seconds).
HEARTBEAT_SECONDS = int(os.environ.get("HEARTBEAT_SECONDS", "30"))
HEALTH_WORKER_MAX_AGE = int(os.environ.get("HEALTH_WORKER_MAX_AGE", "180"))
HEALTH_BEAT_MAX_AGE = int(os.environ.get("HEALTH_BEAT_MAX_AGE", "180"))
HEALTH_OUTBOX_MAX_AGE = int(os.environ.get("HEALTH_OUTBOX_MAX_AGE", "900"))
# /metrics and the health checks' details answer requests from these addresses or
# networks (comma-separated), or bearing "Authorization: Bearer <METRICS_TOKEN>".
METRICS_ALLOWED_ADDRESSES = env_list("METRICS_ALLOWED_ADDRESSES", "127.0.0.1,::1")
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
try:
    for _network in METRICS_ALLOWED_ADDRESSES:
        ipaddress.ip_network(_network, strict=False)
except ValueError:
    raise ImproperlyConfigured(
        f"METRICS_ALLOWED_ADDRESSES: {_network!r} is not an IP address or network, e.g. 10.0.0.0/8."
    ) from None
# Errors reported to Sentry when SENTRY_DSN is set; nothing is sent otherwise.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=os.environ.get("SENTRY_ENVIRONMENT", "production"),
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
        send_default_pii=False,
    )

# --- Cache: Redis when REDIS_URL is set (shared across processes), memory otherwise.
# The rate limits and API throttles count here: in memory each web process counts on its
# own, so several web processes (gunicorn workers included) need REDIS_URL for a limit
# to mean what it says.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # An unanswering cache costs a request a quarter of a second at most: the rate
            # limits then fail open (core/ratelimit.py).
            "OPTIONS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
        }
    }
else:
    # Room for every counter of a busy minute: at the default 300 entries, culling would
    # forget counters (and a client spraying addresses could wipe them on purpose).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# --- Email: through a provider's API when EMAIL_PROVIDER names one django-anymail
# supports (its credentials in ANYMAIL_* variables); else SMTP when EMAIL_HOST is set;
# otherwise every message lands in var/mailbox/, readable (links clickable) at /mailbox/ for staff.
EMAIL_PROVIDER = os.environ.get("EMAIL_PROVIDER", "").strip()
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ValuePulse <surveys@valuepulse.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Domains a survey's sender (admin: Surveys → Senders) may send from, comma-separated;
# empty: only DEFAULT_FROM_EMAIL's. List only domains your SPF/DKIM set-up covers.
SENDER_DOMAINS = env_list("SENDER_DOMAINS", "")
MAILBOX_DIR = VAR_DIR / "mailbox"
if EMAIL_PROVIDER:
    EMAIL_BACKEND = anymail_backend(EMAIL_PROVIDER)
elif EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "core.mailbox.MailboxBackend"
# The provider's credentials, and WEBHOOK_SECRET (`user:password`), the HTTP basic auth
# that the delivery-event webhooks under /anymail/ demand whichever backend sends.
ANYMAIL = anymail_settings(os.environ)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Password sign-in, and single sign-on when OIDC_RP_CLIENT_ID is set (README "Single sign-on").
globals().update(oidc_settings(os.environ))
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "insights:alerts"  # the account managers' work: their alert queue
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
# Respondents read surveys in their contact's language (customers.models.Language).
LANGUAGES = [("en", "English"), ("es", "Spanish")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
# Customers' time zone when their own is not set (surveys' sending windows).
DEFAULT_CUSTOMER_TIME_ZONE = os.environ.get("DEFAULT_CUSTOMER_TIME_ZONE", TIME_ZONE)
if DEFAULT_CUSTOMER_TIME_ZONE not in available_timezones():
    raise ImproperlyConfigured(f"DEFAULT_CUSTOMER_TIME_ZONE: {DEFAULT_CUSTOMER_TIME_ZONE!r} is not an IANA time zone name.")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"  # filled by collectstatic in production
STATIC_ROOT.mkdir(exist_ok=True)
# COLLECTSTATIC=true (production, after `collectstatic --noinput`): WhiteNoise serves the
# collected files under hashed names, compressed, cached for ever by browsers.
COLLECTSTATIC = not DEBUG and env_bool("COLLECTSTATIC")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "core.staticfiles.GzipManifestStaticFilesStorage"
            if COLLECTSTATIC
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Without collectstatic (development, tests) WhiteNoise serves straight from the finders.
WHITENOISE_USE_FINDERS = not COLLECTSTATIC
# Files served at the site's root: /favicon.ico, which browsers ask for on their own.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"

# --- Security: strict when DEBUG is off and the site is served over https.
SECURE_HTTPS = SITE_URL.startswith("https://")
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = SECURE_HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if SECURE_HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
# How many proxies of ours stand in front of the app, each appending to X-Forwarded-For:
# the client's address is the entry that many from the right (core.ratelimit.client_address).
# BEHIND_PROXY=true, the older switch, means one.
try:
    TRUSTED_PROXY_HOPS = int(os.environ.get("TRUSTED_PROXY_HOPS") or (1 if env_bool("BEHIND_PROXY") else 0))
except ValueError:
    raise ImproperlyConfigured("TRUSTED_PROXY_HOPS must be a whole number of proxies, e.g. 1.") from None
if TRUSTED_PROXY_HOPS < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_HOPS must be 0 (no proxy) or more.")
BEHIND_PROXY = TRUSTED_PROXY_HOPS > 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): every script, style, image and font comes from
# the app itself; no inline script or style, no eval, no plugin, no framing, forms post
# only here. data: images are the icons Swagger UI and the admin draw in their CSS.
# The dev mailbox shows an email's HTML part (inline styles by necessity) at its own
# address with its own sandboxed policy (core.views.mailbox_message_html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
# Permissions-Policy (django-permissions-policy): the app uses no device, sensor or
# payment feature, so none is granted to this site or anything it embeds.
# Only features browsers know: Chromium logs an error on every page for a name it does
# not (it did for "ambient-light-sensor" and "bluetooth"; tests/browser checks for it).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "browsing-topics", "camera",
        "display-capture", "encrypted-media", "fullscreen", "gamepad", "geolocation", "gyroscope", "hid",
        "idle-detection", "local-fonts", "magnetometer", "microphone", "midi", "otp-credentials", "payment",
        "picture-in-picture", "publickey-credentials-get", "screen-wake-lock", "serial", "usb",
        "window-management", "xr-spatial-tracking",
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.AuditedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON only; nested too deeply to decode is a 400, not a 500.
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    # Rates come from API_USER_RATE and API_ANON_RATE below, read on each call.
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttles.TokenRateThrottle", "core.api.throttles.AddressRateThrottle"],
    # Calls turned away for missing or wrong credentials count per address too.
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
}

# The audit trail (django-auditlog, core/audit.py): who changed what, and when. Derived
# figures (value metrics, latest answers, delivery bookkeeping) change on their own and
# are left out; writes that bypass model signals record themselves (core.audit.record).
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    {
        "model": "customers.customer",
        "include_fields": ["external_id", "name", "account_manager", "cost_to_serve", "is_active", "time_zone"],
    },
    {"model": "customers.contact", "exclude_fields": ["created_at"]},
    {
        "model": "insights.alert",
        "include_fields": ["status", "priority", "assignee", "acknowledged_at", "resolved_at", "escalated_at"],
    },
    {"model": "insights.alertnote", "exclude_fields": ["created_at"]},
    {"model": "surveys.survey", "exclude_fields": ["created_at"]},
    "surveys.surveytext",
    # The logo as its digest: a new one shows as a changed digest, its bytes stay out of the trail.
    {"model": "surveys.sender", "exclude_fields": ["logo", "logo_type", "updated_at"]},
    {
        "model": "auth.user",
        "exclude_fields": ["last_login"],
        "mask_fields": ["password"],
        "m2m_fields": ["groups", "user_permissions"],
    },
    {"model": "auth.group", "m2m_fields": ["permissions"]},
    {"model": "knox.authtoken", "include_fields": ["user", "created", "expiry"]},
    {"model": "accounts.signinpolicy", "exclude_fields": ["updated_at"], "m2m_fields": ["break_glass_users"]},
)

# API tokens: stored only as hashes, expiring, revocable (django-rest-knox).
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=int(os.environ.get("API_TOKEN_TTL_DAYS", "90"))),
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ValuePulse API",
    "DESCRIPTION": (
        "Customers, invoices and deliveries in; responses and alerts out.\n\n"
        "**Getting a token.** Ask someone who can run commands on the server to create one:\n\n"
        "    python manage.py create_api_token <username> [--days N]\n\n"
        "It prints the token once (only its hash is kept); it expires after `API_TOKEN_TTL_DAYS` "
        "(90 by default) and staff revoke it in the admin (Knox › Auth tokens). It reads and writes "
        "what that user may. Send it on every call as `Authorization: Token <token>` "
        "(the **Authorize** button below does that for the calls tried here)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs map every endpoint: signed-in people and token holders only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI served by the app itself, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every call's error answers (401, 403, 404, 400, 415, 429) written into the schema.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.document_error_answers",
    ],
    # One name per choice set used under several field names (band, latest_band), and
    # clear names for the alert's own choices (invitations have a status too).
    "ENUM_NAME_OVERRIDES": {
        "BandEnum": "customers.models.Band",
        "AlertStatusEnum": "insights.models.AlertStatus",
        "AlertKindEnum": "insights.models.AlertKind",
    },
}

# --- ValuePulse rules.
# Pareto tiers: cumulative share of trailing-12-month revenue (percent) closing tiers 1, 2 and 3.
VALUEPULSE_TIER_THRESHOLDS = tuple(
    int(part) for part in env_list("TIER_THRESHOLDS", "70,90,97")
)
if len(VALUEPULSE_TIER_THRESHOLDS) != 3 or list(VALUEPULSE_TIER_THRESHOLDS) != sorted(
    set(VALUEPULSE_TIER_THRESHOLDS)
) or not 0 < VALUEPULSE_TIER_THRESHOLDS[0] or VALUEPULSE_TIER_THRESHOLDS[-1] > 100:
    raise ImproperlyConfigured(
        "TIER_THRESHOLDS must be three increasing percentages between 1 and 100, e.g. 70,90,97."
    )
# The currency every amount is in (ISO 4217 code): pages and emails show its symbol
# (core/numbers.py), exports name it in a `currency` column.
CURRENCY = os.environ.get("CURRENCY", "EUR").strip().upper()
if not (len(CURRENCY) == 3 and CURRENCY.isascii() and CURRENCY.isalpha()):
    raise ImproperlyConfigured(f"CURRENCY: {CURRENCY!r} is not an ISO 4217 code such as EUR, USD or GBP.")
# Hours within which an alert must be acknowledged, for tiers 1, 2, 3 and 4; past that
# it is escalated once to the CX leads.
ALERT_ACK_HOURS = tuple(int(hours) for hours in env_list("ALERT_ACK_HOURS", "4,24,72,168"))
if len(ALERT_ACK_HOURS) != 4 or min(ALERT_ACK_HOURS) < 1:
    raise ImproperlyConfigured("ALERT_ACK_HOURS must be four whole numbers of hours, e.g. 4,24,72,168.")
# An answer is acted on once it has been unchanged this long (minutes, fractions allowed):
# a correction restarts the wait, and three different scores within it look like a
# machine (surveys/suspicion.py).
try:
    ANSWER_QUIET_MINUTES = float(os.environ.get("ANSWER_QUIET_MINUTES", "1"))
except ValueError:
    ANSWER_QUIET_MINUTES = -1.0
if not 0 <= ANSWER_QUIET_MINUTES <= 60:
    raise ImproperlyConfigured("ANSWER_QUIET_MINUTES must be a number of minutes from 0 to 60, e.g. 1.")
# Optional outgoing webhook for new alerts: JSON signed with HMAC-SHA256 of ALERT_WEBHOOK_SECRET.
ALERT_WEBHOOK_URL = os.environ.get("ALERT_WEBHOOK_URL", "")
ALERT_WEBHOOK_SECRET = os.environ.get("ALERT_WEBHOOK_SECRET", "")
# Requests a minute one client address may make to the public survey pages.
PUBLIC_RATE_LIMIT = int(os.environ.get("PUBLIC_RATE_LIMIT", "60"))
# The unsubscribe pages' own limit; the RFC 8058 one-click POST counts apart, below.
UNSUBSCRIBE_RATE_LIMIT = int(os.environ.get("UNSUBSCRIBE_RATE_LIMIT", "60"))
# RFC 8058 one-click unsubscribes a minute from one address: generous, since mailbox
# providers POST them in bursts from a few shared addresses.
ONE_CLICK_UNSUBSCRIBE_RATE_LIMIT = int(os.environ.get("ONE_CLICK_UNSUBSCRIBE_RATE_LIMIT", "600"))
# API calls per token (a session login counts per user), and per client address for
# calls without credentials: "<number>/<second|minute|hour|day>". Bulk calls count as one.
API_USER_RATE = os.environ.get("API_USER_RATE", "2000/hour")
API_ANON_RATE = os.environ.get("API_ANON_RATE", "100/hour")

# --- Sign-in lockout (django-axes): a username + client address pair that fails to log
# in LOGIN_FAILURE_LIMIT times is refused, right password or not, for
# LOGIN_LOCKOUT_MINUTES after its last failure, or until staff unlock it in the admin.
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "core.ratelimit.client_address"
AXES_LOCKOUT_CALLABLE = "core.signin.lockout_response"
AXES_RESET_ON_SUCCESS = True
# Password for the demo logins that seed_demo creates (development only).
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "valuepulse-demo")
