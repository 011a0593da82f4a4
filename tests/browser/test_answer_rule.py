"""What an account manager sees of the answer rule in real Chromium, on a phone (390 px)
and a desktop (1280 px): possible scanners to confirm or dismiss, and an alert page that
shows the latest answer and every change to it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from insights.alerts import services
from insights.models import Alert, AlertStatus
from surveys import services as survey_services
from surveys.models import SuspectReview
from tests.factories import CustomerFactory, UserFactory, sent_invitation
from tests.support.browser import log_in

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = [390, 1280]


@pytest.fixture
def ana():
    return UserFactory(username="ana", first_name="Ana", last_name="Manager")


def invitation_of(ana, name: str, token: str):
    customer = CustomerFactory(name=name, account_manager=ana, tier=1, revenue_12m=Decimal("480000"))
    return sent_invitation(
        token=token, sent_at=timezone.now() - timedelta(hours=3),
        delivery__customer=customer, delivery__contact__customer=customer,
    )


def scanner_burst(invitation, scores):
    for offset, score in enumerate(scores):
        survey_services.record_response(
            invitation=invitation, score=score, now=invitation.sent_at + timedelta(seconds=3 + 2 * offset)
        )


def screen(browser, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900}, is_mobile=width < 600)
    return context, context.new_page()


def fits(page, width: int, name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
    screenshots = settings.VAR_DIR / "screenshots"
    screenshots.mkdir(exist_ok=True)
    page.screenshot(path=str(screenshots / f"{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_manager_confirms_one_possible_scanner_and_dismisses_another(browser, live_server, ana, width):
    scanner_burst(invitation_of(ana, "Acme Kitchens", "browser-scanner-token-acme-0001"), [7, 2, 9, 4, 3])
    bolt = invitation_of(ana, "Bolt Fitters", "browser-scanner-token-bolt-0001")
    scanner_burst(bolt, [1, 5, 10])
    context, page = screen(browser, width)
    try:
        log_in(page, live_server, "ana")
        page.goto(f"{live_server.url}/alerts/")
        page.get_by_role("link", name="Possible scanners to check: 2").click()
        expect(page.get_by_role("heading", name="Possible scanners")).to_be_visible()
        acme = page.locator("tr", has_text="Acme Kitchens")
        expect(acme.locator(".scores-seen")).to_have_text("7 → 2 → 9 → 4 → 3")
        expect(acme).to_contain_text("began 3 s after the email")
        fits(page, width, "possible-scanners")

        page.get_by_role("button", name="Dismiss Bolt Fitters's answer as a scanner's").click()
        expect(page.get_by_text("Dismissed: Bolt Fitters's answer stays marked as a scanner's")).to_be_visible()
        expect(page.locator("tr", has_text="Bolt Fitters")).to_have_count(0)

        page.get_by_role("button", name="Confirm Acme Kitchens's answer as a person's").click()
        expect(page.get_by_role("heading", name="At risk alert: Acme Kitchens")).to_be_visible()
        expect(page.get_by_text("this alert is raised on its score, 3")).to_be_visible()
        expect(page.locator("#alert-panel")).to_contain_text("scores seen: 7, 2, 9, 4, 3")
        fits(page, width, "confirmed-scanner-alert")
    finally:
        context.close()
    alert = Alert.objects.get()
    assert (alert.score, alert.assignee, alert.customer.name) == (3, ana, "Acme Kitchens")
    bolt.response.refresh_from_db()
    assert bolt.response.suspect_review == SuspectReview.DISMISSED


@pytest.mark.parametrize("width", WIDTHS)
def test_the_alert_page_shows_the_latest_answer_and_every_change(browser, live_server, ana, width):
    invitation = invitation_of(ana, "Acme Kitchens", "browser-changed-answer-token-0001")
    start = timezone.now() - timedelta(hours=2)
    survey_services.record_response(invitation=invitation, score=3, now=start)
    services.evaluate_pending(now=start + timedelta(minutes=1))
    survey_services.record_response(invitation=invitation, score=4, now=start + timedelta(minutes=20))
    services.evaluate_pending(now=start + timedelta(minutes=21))
    survey_services.record_response(invitation=invitation, score=8, now=start + timedelta(minutes=40))
    services.evaluate_pending(now=start + timedelta(minutes=41))
    alert = Alert.objects.get()
    context, page = screen(browser, width)
    try:
        log_in(page, live_server, "ana")
        page.goto(f"{live_server.url}/alerts/")
        row = page.locator("tr", has_text="Acme Kitchens")
        expect(row).to_contain_text("scored 8, first answer")
        expect(row).to_contain_text("Answer changed: no longer at risk")
        row.get_by_role("link", name="Acme Kitchens").click()

        expect(page.locator(".rank-reason")).to_contain_text("scored 8, first answer")
        expect(page.locator(".rank-reason")).to_contain_text("the changed answer is no longer at risk")
        expect(page.locator(".answer-recovered")).to_contain_text(
            "No longer at risk: the customer changed their answer to 8 (satisfied)"
        )
        expect(page.locator(".answer-score strong")).to_have_text("8")
        versions = page.locator(".answer-versions li strong")
        expect(versions).to_have_text(["8", "4", "3"])
        history = page.locator("#alert-panel .timeline-text")
        expect(history).to_have_text([
            "The customer changed their answer from 3 to 4 (at risk).",
            "The customer changed their answer from 4 to 8 (satisfied): no longer at risk. "
            "The alert stays open until someone resolves it.",
        ])
        expect(page.locator("#alert-panel").get_by_role("button", name="Resolve")).to_be_visible()
        fits(page, width, "alert-answer-changed")
    finally:
        context.close()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN
