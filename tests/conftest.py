from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_service(available: bool, what: str, how_to_enable: str) -> None:
    """Skips a test whose real service is missing, except under CI, where it fails:
    CI must never go green by silently leaving out the real parts."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but is unavailable. {how_to_enable}")
    pytest.skip(f"{what} unavailable. {how_to_enable}")


@pytest.fixture(autouse=True, scope="session")
def tasks_run_in_process():
    """In-process tests run published tasks inline; tests/test_celery_worker.py and
    friends start real workers for the broker path."""
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


def _restore_default_survey(sender, **kwargs) -> None:
    if sender.name != "surveys":
        return
    from demo.surveys import ensure_default_survey

    ensure_default_survey()


@pytest.fixture(autouse=True, scope="session")
def default_survey_after_each_flush():
    """A transactional test ends with a flush, which also empties the default survey that
    migration 0002 made. Django then sends post_migrate (that is how content types come
    back); this puts the survey back too, so every test starts as a migrated database does."""
    from django.db.models.signals import post_migrate

    post_migrate.connect(_restore_default_survey, dispatch_uid="tests-default-survey")
    yield
    post_migrate.disconnect(dispatch_uid="tests-default-survey")


@pytest.fixture(autouse=True)
def survey_pages_read_afresh():
    """Each test starts with nothing of a survey's set-up kept in this process
    (surveys/page_setup.py): a test's rollback sends no signal that would drop it."""
    from surveys import page_setup

    page_setup.forget()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The real hasher costs ~0.25 s a user by design; tests do not need that strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1 that Django's SMTP backend sends to."""
    from tests.support.smtp import smtp_sink

    with smtp_sink() as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = sink.host
        settings.EMAIL_PORT = sink.port
        settings.EMAIL_USE_TLS = False
        yield sink
