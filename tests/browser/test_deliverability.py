"""The deliverability page in real Chromium: readable at laptop and phone width with no
sideways scroll, and re-enabling an address with JavaScript off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from customers.models import Contact
from tests.factories import ContactFactory, CustomerFactory, SentMessageFactory, StaffFactory
from tests.support.browser import log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def suppressed():
    StaffFactory(username="cx.lead")
    acme = CustomerFactory(name="Acme Logistics")
    for days_ago in range(5):
        SentMessageFactory.create_batch(3, sent_at=timezone.now() - timedelta(days=days_ago))
    gone = ContactFactory(customer=acme, email="gone@acme.test", name="Jo Gone",
                          undeliverable_at=timezone.now() - timedelta(days=2), undeliverable_reason="bounced")
    ContactFactory(customer=acme, email="angry@acme.test", name="Al Angry", opted_out=True,
                   opted_out_at=timezone.now() - timedelta(days=1), opt_out_reason="complained")
    return gone


@pytest.mark.parametrize("width", [1280, 390])
def test_the_page_fits_the_screen(browser, live_server, suppressed, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, is_mobile=width < 600)
    page = context.new_page()
    try:
        log_in(page, live_server, "cx.lead")
        page.goto(f"{live_server.url}/deliverability/")
        expect(page.get_by_role("heading", name="Deliverability", exact=True)).to_be_visible()
        expect(page.locator("#suppressed-contacts")).to_contain_text("gone@acme.test")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
        screenshots = settings.VAR_DIR / "screenshots"
        screenshots.mkdir(exist_ok=True)
        page.screenshot(path=str(screenshots / f"deliverability-{width}.png"), full_page=True)
    finally:
        context.close()


def test_an_address_is_re_enabled_without_javascript(browser, live_server, suppressed):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_server, "cx.lead")
        page.goto(f"{live_server.url}/deliverability/")
        page.get_by_role("button", name="Re-enable gone@acme.test").click()
        expect(page.get_by_text("gone@acme.test is deliverable again for 1 contact.")).to_be_visible()
        expect(page.locator("#suppressed-contacts")).not_to_contain_text("gone@acme.test")
        expect(page.locator("#suppressed-contacts")).to_contain_text("angry@acme.test")
        assert Contact.objects.get(pk=suppressed.pk).unreachable_reason == ""
    finally:
        context.close()
