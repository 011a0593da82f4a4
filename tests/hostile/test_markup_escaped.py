"""Markup typed into any free-text field never reaches a page, a fragment or an email
as markup: the site map's portfolio (tests/support/site_map.py) with every free text
replaced by a script payload, walked page by page, as full pages and as htmx fragments,
and each email that shows such text rendered."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Concat
from django.test import Client

from core.models import DeliveryEvent, OutgoingMessage, SendingPause
from customers.models import Contact, Customer, Invoice
from customers.outbox import _build_sending_paused
from insights.alerts.emails import alert_escalation, alert_notification
from insights.models import Alert, AlertNote, AtRiskClosure
from surveys.emails import survey_invitation
from surveys.models import Delivery, Invitation, Response, ResponseRevision, Sender, Survey, SurveyText
from tests.support.site_map import Portfolio, build_portfolio, page_urls

pytestmark = pytest.mark.django_db

PAYLOAD = """<script>alert(1)</script>"'><img src=x onerror=alert(1)>"""
# What must never be in HTML: the payload's tags as tags.
UNESCAPED = ["<script>alert(1)", "<img src=x onerror"]

# Every free text a person or a provider can write, by model (unique ones get the row's id too).
FREE_TEXT = {
    Customer: ["name"],
    Contact: ["name"],
    Invoice: [],
    Sender: ["name", "from_name", "footer"],
    Survey: ["name", "question", "email_subject", "reminder_subject", "email_intro", "email_signature"],
    SurveyText: ["question", "email_subject", "reminder_subject", "email_intro", "email_signature"],
    Delivery: ["description"],
    Invitation: ["last_error"],
    Response: ["comment"],
    ResponseRevision: ["comment"],
    Alert: ["handover_reason", "webhook_error"],
    AlertNote: ["text"],
    AtRiskClosure: ["reason"],
    OutgoingMessage: ["last_error"],
    DeliveryEvent: ["description", "mta_response"],
    SendingPause: ["reason"],
    get_user_model(): ["first_name", "last_name"],
}
UNIQUE_FREE_TEXT = {Customer: ["external_id"], Invoice: ["number"], Delivery: ["reference"]}
# Short enough for a 64-character invoice number with the row's id, still holding both tags.
SHORT_PAYLOAD = PAYLOAD[:50]


def fill_every_free_text_with_the_payload() -> None:
    for model, fields in FREE_TEXT.items():
        if fields:
            model.objects.update(**dict.fromkeys(fields, PAYLOAD))
    for model, fields in UNIQUE_FREE_TEXT.items():
        with_id = Concat(Value(SHORT_PAYLOAD), Cast(F("pk"), output_field=CharField()))
        model.objects.update(**dict.fromkeys(fields, with_id))


@pytest.fixture
def portfolio(settings, tmp_path) -> Portfolio:
    settings.EMAIL_BACKEND = "core.mailbox.MailboxBackend"
    settings.MAILBOX_DIR = tmp_path / "mailbox"
    settings.PUBLIC_RATE_LIMIT = settings.UNSUBSCRIBE_RATE_LIMIT = 1_000_000
    portfolio = build_portfolio()
    SendingPause.objects.create(reason=PAYLOAD)
    fill_every_free_text_with_the_payload()
    return portfolio


def unescaped_in(html: str) -> list[str]:
    return [markup for markup in UNESCAPED if markup in html]


def test_no_page_or_fragment_shows_a_free_text_as_markup(portfolio):
    pages = [page for page in page_urls(portfolio) if page.html]
    staff, manager = Client(), Client()
    staff.force_login(portfolio.staff)
    manager.force_login(portfolio.manager_a)
    wrong, shown = [], 0
    for visitor, who in ((staff, "staff"), (manager, "manager_a")):
        for page in pages:
            for headers, kind in (({}, "page"), ({"HTTP_HX_REQUEST": "true"}, "fragment")):
                response = visitor.get(page.url, **headers)
                if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                    continue
                html = response.content.decode()
                shown += "&lt;script&gt;alert(1)&lt;/script&gt;" in html
                wrong += [f"{who} {kind} {page.url}: {markup}" for markup in unescaped_in(html)]
    assert wrong == []
    # The walk saw the payload, escaped, on many pages: it was not just left out.
    assert shown >= 20, shown


def test_no_email_shows_a_free_text_as_markup(portfolio):
    invitation = Invitation.objects.filter(response__isnull=False).first()
    alert = Alert.objects.filter(response__isnull=False).first()
    emails = [
        survey_invitation(invitation, token="t" * 30, unsubscribe_token="u" * 30),
        survey_invitation(invitation, token="t" * 30, unsubscribe_token="u" * 30, reminder=True),
        alert_notification(alert, to=["am@example.com"]),
        alert_escalation(alert, to=["lead@example.com"]),
    ]
    portfolio.staff.email = "staff@example.com"
    portfolio.staff.save()
    emails.append(_build_sending_paused(SimpleNamespace(object_id=SendingPause.objects.get().pk)))
    for email in emails:
        (html, _), = email.alternatives
        assert unescaped_in(html) == [], email.subject
        assert "&lt;script&gt;" in html or "&lt;img" in html, email.subject
        assert "\n" not in email.subject
