"""config/wsgi.py: the respondent's pages are served through their own, shorter
middleware chain, and answer exactly as the full chain would: same status, same
headers (security, CSP, permissions policy), no cookie, counted in the metrics. Requests go through the WSGI application itself, as gunicorn calls it."""

from __future__ import annotations

import re

import pytest
from django.test import RequestFactory

from config import wsgi
from core.metrics import REQUESTS
from surveys.models import Response
from tests.factories import sent_invitation
from tests.support.wsgi import call

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limit")]

TOKEN = "a-test-token-of-enough-length"


def comparable(headers: dict[str, str]) -> dict[str, str]:
    """The headers, with each CSP nonce and the CSRF cookie (new on every response)
    reduced to their names, and without Vary: the full chain varies a response on
    Cookie whenever its audit middleware has read the session's user, which these pages
    never use (and never let a cache keep)."""
    kept = dict(headers)
    kept.pop("Vary", None)
    kept["Content-Security-Policy"] = re.sub(r"'nonce-[^']*'", "'nonce'", kept.get("Content-Security-Policy", ""))
    if "Set-Cookie" in kept:
        kept["Set-Cookie"] = re.sub(r"=[^;]*;", "=…;", kept["Set-Cookie"], count=1)
    return kept


class TestSurveyPagesChain:
    def test_the_survey_pages_are_served_by_the_short_chain(self):
        answer = call(wsgi.application, RequestFactory().get("/s/no-such-token/"))
        assert answer.status == 404 and answer.handler_class is wsgi.SurveyPagesHandler

    def test_every_other_page_keeps_the_full_chain(self):
        for path in ("/login/", "/u/no-such-token/", "/static/css/app.css"):
            assert call(wsgi.application, RequestFactory().get(path)).handler_class is not wsgi.SurveyPagesHandler

    def test_the_chain_keeps_every_middleware_the_pages_rely_on(self, settings):
        for needed in (
            "core.metrics.RequestMetricsMiddleware",
            "django.middleware.security.SecurityMiddleware",
            "django_permissions_policy.PermissionsPolicyMiddleware",
            "core.csp.CSPMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
            "django_htmx.middleware.HtmxMiddleware",
        ):
            assert needed in settings.SURVEY_PAGES_MIDDLEWARE

    @pytest.mark.parametrize(
        "path", [f"/s/{TOKEN}/", f"/s/{TOKEN}/?score=3", "/s/no-such-token/", f"/s/{TOKEN}/thanks/", f"/s/{TOKEN}"]
    )
    def test_a_page_sends_what_the_full_chain_sends(self, path):
        sent_invitation(token=TOKEN)
        short = call(wsgi.application, RequestFactory().get(path))
        full = call(wsgi.site, RequestFactory().get(path))
        assert short.status == full.status
        assert comparable(short.headers) == comparable(full.headers)
        assert "Content-Security-Policy" in short.headers and "Permissions-Policy" in short.headers
        assert short.headers["X-Content-Type-Options"] == "nosniff"

    def test_an_answer_needs_no_cookie_or_csrf_token(self):
        sent_invitation(token=TOKEN)
        page = call(wsgi.application, RequestFactory().get(f"/s/{TOKEN}/"))
        assert "Set-Cookie" not in page.headers and b"csrfmiddlewaretoken" not in page.body
        answer = call(wsgi.application, RequestFactory().post(f"/s/{TOKEN}/", {"score": "3"}))
        assert answer.status == 303 and answer.headers["Location"] == f"/s/{TOKEN}/thanks/"
        assert Response.objects.get().score == 3

    def test_its_requests_are_counted_in_the_metrics(self):
        counted = REQUESTS.labels("surveys:respond", "GET", "404")
        before = counted._value.get()
        call(wsgi.application, RequestFactory().get("/s/no-such-token/"))
        assert counted._value.get() == before + 1
