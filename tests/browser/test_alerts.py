"""An account manager working an alert in real Chromium: in place with htmx, and the
same with JavaScript off."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from insights.models import AlertStatus, NoteKind
from tests.factories import AlertFactory, CustomerFactory, UserFactory
from tests.support.browser import log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alert():
    ana = UserFactory(username="ana", first_name="Ana", last_name="Manager")
    customer = CustomerFactory(name="Acme Kitchens", account_manager=ana, tier=1, revenue_12m=Decimal("480000"))
    return AlertFactory(customer=customer, score=2, response__comment="The fitter never came.")


def test_an_account_manager_acknowledges_and_resolves_an_alert_in_place(page, live_server, alert):
    log_in(page, live_server, "ana")
    page.get_by_role("link", name=re.compile(r"^Alerts\s*1 open")).click()
    expect(page.get_by_role("heading", name="Alerts")).to_be_visible()
    page.get_by_role("link", name="Acme Kitchens").click()
    expect(page.get_by_role("heading", name="At risk alert: Acme Kitchens")).to_be_visible()
    expect(page.get_by_text("The fitter never came.")).to_be_visible()
    panel = page.locator("#alert-panel")
    page.evaluate("window.__marker = 1")

    panel.get_by_role("button", name="Acknowledge").click()
    expect(panel.get_by_role("status")).to_have_text("Alert acknowledged.")
    expect(panel.locator(".badge-status-acknowledged")).to_have_text("Acknowledged")
    expect(panel.get_by_role("button", name="Acknowledge")).to_have_count(0)
    # The navigation's count went with it, out of band.
    expect(page.locator("#open-alert-count")).to_be_hidden()

    panel.get_by_role("button", name="Resolve").click()
    expect(panel.get_by_role("alert")).to_contain_text("Resolution note is required")
    expect(panel.get_by_label("Resolution note")).to_have_attribute("aria-invalid", "true")

    panel.get_by_label("Resolution note").fill("Rebooked the fitter and refunded the call-out.")
    panel.get_by_role("button", name="Resolve").click()
    expect(panel.locator(".badge-status-resolved")).to_have_text("Resolved")
    expect(panel.get_by_text("Rebooked the fitter and refunded the call-out.")).to_be_visible()
    expect(panel.get_by_role("button", name="Resolve")).to_have_count(0)

    assert page.evaluate("window.__marker") == 1, "the page was reloaded: the actions should swap in place"
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert list(alert.notes.values_list("kind", flat=True)) == [NoteKind.ACKNOWLEDGED, NoteKind.RESOLVED]


def test_the_same_works_without_javascript(browser, live_server, alert):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_server, "ana")
        page.goto(f"{live_server.url}/alerts/{alert.pk}/")
        page.get_by_role("button", name="Acknowledge").click()
        expect(page.get_by_text("Alert acknowledged.")).to_be_visible()
        page.get_by_role("button", name="Resolve").click()
        expect(page.get_by_text("Resolution note is required")).to_be_visible()
        page.get_by_label("Resolution note").fill("Called and apologised.")
        page.get_by_role("button", name="Resolve").click()
        expect(page.get_by_text("Alert resolved.")).to_be_visible()
        assert page.url == f"{live_server.url}/alerts/{alert.pk}/"
    finally:
        context.close()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
