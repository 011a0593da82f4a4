"""The customer pages in real Chromium at laptop and phone width: search that forgives
punctuation and case, and amounts in the configured currency."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.factories import CustomerFactory, StaffFactory
from tests.support.browser import signed_in_page

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def customers():
    StaffFactory(username="cx.lead")
    crescent = CustomerFactory(name="Crescent Interiors Co.", tier=1, revenue_12m=Decimal("215592.50"),
                               net_value=Decimal("-1200.00"))
    CustomerFactory(name="Crescent Bakery", tier=4, revenue_12m=Decimal("900"))
    return {"crescent": crescent}


@pytest.mark.parametrize("width", [1280, 390])
def test_search_with_punctuation_and_case_finds_the_customer(browser, live_server, customers, width):
    with signed_in_page(browser, live_server, "cx.lead", width=width) as page:
        page.goto(f"{live_server.url}/customers/")
        page.get_by_label("Search").fill("crescent interiors co")
        results = page.locator("#customer-results")
        expect(results.get_by_role("link", name="Crescent Interiors Co.")).to_be_visible()
        expect(results.get_by_role("link", name="Crescent Bakery")).to_have_count(0)
        expect(results).to_contain_text("€215,593")  # half-up, with the currency
        page.get_by_label("Search").fill("CRESCENT-INTERIORS, CO.")
        expect(results.get_by_role("link", name="Crescent Interiors Co.")).to_be_visible()
        expect(results.get_by_role("link", name="Crescent Bakery")).to_have_count(0)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_customer_page_shows_amounts_in_the_currency(browser, live_server, customers, width):
    with signed_in_page(browser, live_server, "cx.lead", width=width) as page:
        page.goto(f"{live_server.url}/customers/{customers['crescent'].pk}/")
        revenue = page.locator(".stat", has_text="Revenue, 12 months").locator("dd")
        expect(revenue).to_have_text("€215,593")
        expect(revenue).to_be_visible()
        expect(page.locator(".stat", has_text="Net value").locator("dd")).to_have_text("-€1,200")
