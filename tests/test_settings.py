"""Settings come from the environment, with defaults that run on a bare machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.processes import PROJECT_DIR

SETTINGS_AS_JSON = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "engine": s.DATABASES["default"]["ENGINE"],
    "database": str(s.DATABASES["default"]["NAME"]),
    "conn_max_age": s.DATABASES["default"]["CONN_MAX_AGE"],
    "broker": s.CELERY_BROKER_URL,
    "cache": s.CACHES["default"]["BACKEND"],
    "email_backend": s.EMAIL_BACKEND,
    "anymail": s.ANYMAIL,
    "debug": s.DEBUG,
    "tier_thresholds": list(s.VALUEPULSE_TIER_THRESHOLDS),
}))
"""

UNSET = (
    "DATABASE_URL", "REDIS_URL", "EMAIL_HOST", "EMAIL_PROVIDER", "DEBUG", "SECRET_KEY", "TIER_THRESHOLDS", "SITE_URL"
)


def run_with(tmp_path, args: list[str], **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value for key, value in os.environ.items() if key not in UNSET and not key.startswith("ANYMAIL_")
    }
    environment.update(VALUEPULSE_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings", **env)
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT_DIR, env=environment, capture_output=True, text=True, timeout=60
    )


# A key as production sets one, for the tests about other settings (with DEBUG off the
# settings refuse to start without one: TestSecretKey).
PRODUCTION_KEY = "p" * 20 + "-production-secret-with-enough-variety-0123456789"


def settings_with(tmp_path, **env: str) -> dict:
    env.setdefault("SECRET_KEY", PRODUCTION_KEY)
    result = run_with(tmp_path, ["-c", SETTINGS_AS_JSON], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


class TestDefaults:
    def test_nothing_set_means_sqlite_under_var_and_an_embedded_broker(self, tmp_path):
        settings = settings_with(tmp_path)
        assert settings["engine"] == "django.db.backends.sqlite3"
        assert settings["database"] == str(tmp_path / "valuepulse.sqlite3")
        assert settings["broker"].startswith("filesystem://")
        assert settings["cache"].endswith("LocMemCache")
        assert settings["email_backend"] == "core.mailbox.MailboxBackend"
        assert settings["anymail"] == {}
        assert settings["debug"] is False
        assert settings["tier_thresholds"] == [70, 90, 97]

    def test_the_embedded_broker_keeps_its_queue_under_var(self, tmp_path):
        settings_with(tmp_path)
        assert (tmp_path / "broker" / "queue").is_dir()


class TestFromTheEnvironment:
    def test_database_url_switches_to_postgresql_with_persistent_connections(self, tmp_path):
        settings = settings_with(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/valuepulse")
        assert settings["engine"] == "django.db.backends.postgresql"
        assert settings["database"] == "valuepulse"
        assert settings["conn_max_age"] > 0

    def test_redis_url_switches_broker_and_cache_to_redis(self, tmp_path):
        settings = settings_with(tmp_path, REDIS_URL="redis://127.0.0.1:6379/3")
        assert settings["broker"] == "redis://127.0.0.1:6379/3"
        assert settings["cache"] == "django.core.cache.backends.redis.RedisCache"

    def test_email_host_switches_to_smtp(self, tmp_path):
        settings = settings_with(tmp_path, EMAIL_HOST="smtp.example.com")
        assert settings["email_backend"] == "django.core.mail.backends.smtp.EmailBackend"

    def test_email_provider_switches_to_its_anymail_backend(self, tmp_path):
        settings = settings_with(tmp_path, EMAIL_PROVIDER="postmark", ANYMAIL_POSTMARK_SERVER_TOKEN="server-token")
        assert settings["email_backend"] == "anymail.backends.postmark.EmailBackend"
        assert settings["anymail"] == {"POSTMARK_SERVER_TOKEN": "server-token"}

    def test_a_provider_is_named_in_any_case_and_wins_over_smtp(self, tmp_path):
        settings = settings_with(tmp_path, EMAIL_PROVIDER="Amazon-SES", EMAIL_HOST="smtp.example.com")
        assert settings["email_backend"] == "anymail.backends.amazon_ses.EmailBackend"

    def test_anymail_variables_are_gathered_into_the_anymail_settings(self, tmp_path):
        settings = settings_with(
            tmp_path,
            EMAIL_PROVIDER="mailgun",
            ANYMAIL_MAILGUN_API_KEY="key-123",
            ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY="signing-456",
            ANYMAIL_WEBHOOK_SECRET="valuepulse:s3cret",
        )
        assert settings["email_backend"] == "anymail.backends.mailgun.EmailBackend"
        assert settings["anymail"] == {
            "MAILGUN_API_KEY": "key-123",
            "MAILGUN_WEBHOOK_SIGNING_KEY": "signing-456",
            "WEBHOOK_SECRET": "valuepulse:s3cret",
        }

    def test_anymail_values_written_as_json_are_read_as_json(self, tmp_path):
        settings = settings_with(
            tmp_path,
            ANYMAIL_WEBHOOK_SECRET='["old:secret", "new:secret"]',
            ANYMAIL_AMAZON_SES_CLIENT_PARAMS='{"region_name": "eu-west-1"}',
            ANYMAIL_IGNORE_UNSUPPORTED_FEATURES="true",
        )
        assert settings["anymail"] == {
            "WEBHOOK_SECRET": ["old:secret", "new:secret"],
            "AMAZON_SES_CLIENT_PARAMS": {"region_name": "eu-west-1"},
            "IGNORE_UNSUPPORTED_FEATURES": True,
        }

    def test_an_unknown_provider_stops_start_up_naming_it(self, tmp_path):
        result = run_with(tmp_path, ["-c", SETTINGS_AS_JSON], EMAIL_PROVIDER="carrier-pigeon", SECRET_KEY=PRODUCTION_KEY)
        assert result.returncode != 0
        assert "ImproperlyConfigured: EMAIL_PROVIDER='carrier-pigeon' is not an email provider" in result.stderr
        assert "postmark" in result.stderr

    def test_the_check_names_a_providers_missing_credential(self, tmp_path):
        result = run_with(tmp_path, ["manage.py", "check"], EMAIL_PROVIDER="postmark", SECRET_KEY=PRODUCTION_KEY)
        assert result.returncode != 0
        assert "core.E001" in result.stderr
        assert "ANYMAIL_POSTMARK_SERVER_TOKEN" in result.stderr

    def test_a_provider_with_its_credentials_passes_the_check(self, tmp_path):
        result = run_with(
            tmp_path,
            ["manage.py", "check"],
            EMAIL_PROVIDER="postmark",
            ANYMAIL_POSTMARK_SERVER_TOKEN="server-token",
            SECRET_KEY=PRODUCTION_KEY,
        )
        assert result.returncode == 0, result.stderr

    def test_tier_thresholds_can_be_changed(self, tmp_path):
        assert settings_with(tmp_path, TIER_THRESHOLDS="60,85,95")["tier_thresholds"] == [60, 85, 95]

    def test_bad_tier_thresholds_stop_start_up_with_a_clear_message(self, tmp_path):
        result = run_with(tmp_path, ["-c", SETTINGS_AS_JSON], TIER_THRESHOLDS="90,70,97", SECRET_KEY=PRODUCTION_KEY)
        assert result.returncode != 0
        assert "TIER_THRESHOLDS must be three increasing percentages" in result.stderr

    @pytest.mark.parametrize("value", ["soon", "-1", "61"])
    def test_a_bad_quiet_period_stops_start_up_with_a_clear_message(self, tmp_path, value):
        result = run_with(tmp_path, ["-c", SETTINGS_AS_JSON], ANSWER_QUIET_MINUTES=value, SECRET_KEY=PRODUCTION_KEY)
        assert result.returncode != 0
        assert "ANSWER_QUIET_MINUTES must be a number of minutes from 0 to 60" in result.stderr

    @pytest.mark.parametrize("value", ["often", "0.5", "3601"])
    def test_a_bad_sweep_period_stops_start_up_with_a_clear_message(self, tmp_path, value):
        result = run_with(tmp_path, ["-c", SETTINGS_AS_JSON], SWEEP_SECONDS=value, SECRET_KEY=PRODUCTION_KEY)
        assert result.returncode != 0
        assert "SWEEP_SECONDS must be a number of seconds from 1 to 3600" in result.stderr

    def test_the_sweeps_run_every_sweep_seconds_and_expire_before_the_next(self, tmp_path):
        code = "import django; django.setup(); from django.conf import settings as s;" \
               "print(s.CELERY_BEAT_SCHEDULE['sweep-outbox'])"
        default = run_with(tmp_path, ["-c", code], SECRET_KEY=PRODUCTION_KEY)
        assert "'schedule': 60.0, 'options': {'expires': 55.0}" in default.stdout, default.stderr
        short = run_with(tmp_path, ["-c", code], SWEEP_SECONDS="2", SECRET_KEY=PRODUCTION_KEY)
        assert "'schedule': 2.0, 'options': {'expires': 1.0}" in short.stdout, short.stderr


class TestDeployCheck:
    def test_production_values_pass_the_deploy_check(self, tmp_path):
        result = run_with(
            tmp_path,
            ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            SECRET_KEY=PRODUCTION_KEY,
            DEBUG="false",
            SITE_URL="https://valuepulse.example.com",
            ALLOWED_HOSTS="valuepulse.example.com",
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "no issues" in result.stdout

    def test_the_development_key_is_flagged_by_the_deploy_check(self, tmp_path):
        result = run_with(tmp_path, ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], DEBUG="true")
        assert result.returncode != 0
        assert "security.W009" in result.stdout + result.stderr  # the key
        assert "security.W018" in result.stdout + result.stderr  # DEBUG


class TestSecretKey:
    def test_without_debug_a_missing_key_stops_start_up_naming_it(self, tmp_path):
        result = run_with(tmp_path, ["-c", "import django; django.setup()"])
        assert result.returncode != 0
        assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr

    def test_manage_py_refuses_to_start_without_a_key_too(self, tmp_path):
        result = run_with(tmp_path, ["manage.py", "check"], DEBUG="false")
        assert result.returncode != 0
        assert "SECRET_KEY is not set" in result.stderr

    def test_with_a_key_it_starts(self, tmp_path):
        result = run_with(tmp_path, ["manage.py", "check"], SECRET_KEY=PRODUCTION_KEY)
        assert result.returncode == 0, result.stderr

    def test_with_debug_on_the_development_key_is_allowed(self, tmp_path):
        assert settings_with(tmp_path, DEBUG="true", SECRET_KEY="")["debug"] is True
