"""The insights page in real Chromium: every chart drawn and readable at laptop and
phone width with no sideways scroll, and filters that update the page in place."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from customers.models import Customer
from insights.dashboard import figures
from tests.factories import StaffFactory
from tests.insights.test_figures import portfolio  # noqa: F401  (the hand-computed data set)
from tests.support.browser import log_in, signed_in_page

pytestmark = pytest.mark.django_db(transaction=True)

JUNE = "from=2026-06-01&to=2026-06-30"
CHARTS = ["net-score", "band-mix", "tier", "manager", "survey", "value-map", "pareto"]
SMALLEST_READABLE_PX = 11
# Every chart text: its rendered font size (CSS size in SVG units × the SVG's scale on
# screen, rotation aside) and whether its box runs outside its chart's box (cut).
MEASURE_TEXT = """() => [...document.querySelectorAll('svg.insight-svg')].flatMap(svg => {
  const box = svg.getBoundingClientRect();
  return [...svg.querySelectorAll('text')].map(text => {
    const ctm = text.getScreenCTM(), r = text.getBoundingClientRect();
    return {chart: svg.dataset.chart, text: text.textContent,
            px: parseFloat(getComputedStyle(text).fontSize) * Math.hypot(ctm.a, ctm.b),
            cut: r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5};
  });
})"""


@pytest.fixture
def staff():
    return StaffFactory(username="cx.lead", first_name="Morgan", last_name="Lead")


@pytest.mark.parametrize("width", [1280, 390])
def test_every_chart_renders_without_overflow(browser, live_server, staff, portfolio, width):
    with signed_in_page(browser, live_server, "cx.lead", width=width) as page:
        page.goto(f"{live_server.url}/insights/?{JUNE}")
        expect(page.get_by_role("heading", name="Insights", exact=True)).to_be_visible()
        for chart in CHARTS:
            svg = page.locator(f'svg[data-chart="{chart}"]')
            svg.scroll_into_view_if_needed()
            box = svg.bounding_box()
            assert box and box["width"] > 200 and box["height"] > 40, f"{chart} is not drawn: {box}"
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{chart} overflows: {box}"
            marks = svg.locator("rect, circle, polyline, path").count()
            assert marks > 0, f"{chart} has nothing plotted"
        assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
        texts = page.evaluate(MEASURE_TEXT)
        assert len(texts) > 30
        small = [(t["chart"], t["text"], round(t["px"], 1)) for t in texts if t["px"] < SMALLEST_READABLE_PX]
        assert not small, f"chart text under {SMALLEST_READABLE_PX} px: {small}"
        cut = [(t["chart"], t["text"]) for t in texts if t["cut"]]
        assert not cut, f"chart text cut at the chart's edge: {cut}"
        screenshots = settings.VAR_DIR / "screenshots"
        screenshots.mkdir(exist_ok=True)
        image = page.screenshot(path=str(screenshots / f"insights-{width}.png"), full_page=True)
        assert len(image) > 10_000


def test_filters_update_the_page_in_place_and_the_address_can_be_shared(page, live_server, staff, portfolio):
    log_in(page, live_server, "cx.lead")
    page.goto(f"{live_server.url}/insights/?{JUNE}")
    expect(page.locator("#figure-responses")).to_have_text("6")
    page.evaluate("window.__marker = 1")

    page.get_by_label("Tier", exact=True).select_option("1")
    expect(page.locator("#figure-responses")).to_have_text("1")
    expect(page).to_have_url(re.compile(r"tier=1"))
    page.get_by_label("Account manager", exact=True).select_option("ana")
    expect(page).to_have_url(re.compile(r"account_manager=ana"))
    expect(page.locator("#figure-revenue-at-risk")).to_have_text("€700,000")
    assert page.evaluate("window.__marker") == 1, "the page was reloaded: filters should swap in place"

    shared = page.url
    page.goto("about:blank")
    page.goto(shared)
    expect(page.locator("#figure-responses")).to_have_text("1")
    expect(page.get_by_label("Tier", exact=True)).to_have_value("1")


def test_a_quadrants_customers_are_listed_on_demand(page, live_server, staff, portfolio):
    log_in(page, live_server, "cx.lead")
    page.goto(f"{live_server.url}/insights/?{JUNE}")
    protect = page.locator(".quadrant-protect")
    protect.get_by_role("link", name="List them").click()
    listing = page.locator("#quadrant-list")
    expect(listing.get_by_role("heading", name="Protect: 1 customer")).to_be_visible()
    expect(listing.get_by_role("link", name="Alpha")).to_be_visible()
    assert "/insights/" in page.url and "quadrants" not in page.url


@pytest.mark.parametrize("width", [1280, 390])
def test_a_shortened_name_has_the_full_one_on_hover_and_in_the_table(browser, live_server, staff, portfolio, width):
    with signed_in_page(browser, live_server, "cx.lead", width=width) as page:
        page.goto(f"{live_server.url}/insights/?{JUNE}")
        chart = page.locator('svg[data-chart="manager"]')
        label = chart.locator("text.chart-label", has_text="CX leads (no m…")
        expect(label).to_be_visible()
        assert label.locator("title").text_content() == "CX leads (no manager)"
        # What the bar's end shows: the text itself, its <title> (the hover) aside.
        values = chart.locator("text.chart-value").evaluate_all(
            "texts => texts.map(t => [...t.childNodes].filter(n => n.nodeType === 3).map(n => n.data).join(''))"
        )
        assert values and all(value.startswith("net ") or value == "no answers" for value in values), values
        card = page.locator("section", has=chart)
        card.get_by_text("Numbers as a table").click()
        expect(card.get_by_role("rowheader", name="CX leads (no manager)")).to_be_visible()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_bad_filter_is_shown_as_an_error_beside_its_field(browser, live_server, staff, portfolio, width):
    with signed_in_page(browser, live_server, "cx.lead", width=width) as page:
        page.goto(f"{live_server.url}/insights/?{JUNE}&tier=1")
        expect(page.locator("#figure-responses")).to_have_text("1")
        page.get_by_label("From", exact=True).fill("2026-07-15")  # after "to": the period cannot be used
        error = page.locator("#insight-filters #filter-to-error")
        expect(error).to_have_text(re.compile("The period ends before it starts"))
        expect(error).to_be_visible()
        to_box = page.get_by_label("To", exact=True).bounding_box()
        error_box = error.bounding_box()
        assert 0 <= error_box["y"] - (to_box["y"] + to_box["height"]) < 40, "the error is not under its field"
        assert error_box["x"] + error_box["width"] <= width
        # The results say what they show instead; the tier chosen still applies.
        expect(page.locator("#filter-errors")).to_contain_text("Showing the last 90 days.")
        expect(page.get_by_label("From", exact=True)).to_have_value("2026-07-15")
        expect(page.get_by_label("Tier", exact=True)).to_have_value("1")
        # Put right, the error goes.
        page.get_by_label("From", exact=True).fill("2026-06-01")
        expect(error).to_have_text("")
        expect(page.locator("#figure-responses")).to_have_text("1")


@pytest.mark.parametrize("width", [1280, 390])
def test_amounts_carry_the_currency(browser, live_server, staff, portfolio, width, settings):
    with signed_in_page(browser, live_server, "cx.lead", width=width) as page:
        page.goto(f"{live_server.url}/insights/?{JUNE}")
        expect(page.locator("#figure-revenue-at-risk")).to_have_text("€770,000")
        expect(page.locator("#figure-revenue-at-risk")).to_be_visible()
        expect(page.locator(".quadrant-protect .quadrant-figure")).to_contain_text("€700,000")


@pytest.mark.parametrize("width", [1280, 390])
def test_silent_risk_names_open_the_customer_and_the_full_list_is_reachable(
    browser, live_server, staff, portfolio, width, monkeypatch
):
    monkeypatch.setattr(figures, "SILENT_SHOWN", 2)
    with signed_in_page(browser, live_server, "cx.lead", width=width) as page:
        page.goto(f"{live_server.url}/insights/?{JUNE}")
        page.locator("#silent-risk-all").click()
        expect(page.get_by_role("heading", name="Silent risk: 4 customers")).to_be_visible()
        page.get_by_role("link", name="Foxtrot").click()
        expect(page.get_by_role("heading", name="Foxtrot", exact=True)).to_be_visible()
        assert page.url.endswith(f"/customers/{Customer.objects.get(name='Foxtrot').pk}/")
        page.goto(f"{live_server.url}/insights/?{JUNE}")
        page.locator("#silent-risk").get_by_role("link", name="Alpha").click()
        expect(page.get_by_role("heading", name="Alpha", exact=True)).to_be_visible()
