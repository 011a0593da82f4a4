"""Issue 14, items 6–8 in real Chromium at 1280 and 390 px: the customer's timeline and
its pages, the customers at risk, reassigning with a reason, reopening, searching the
queue and acknowledging in bulk (a plain form under the strict CSP), and the layouts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from insights.models import AlertNote, AlertStatus, AtRiskClosure, NoteKind
from tests.factories import AlertFactory, ContactFactory, CustomerFactory, StaffFactory, UserFactory, answer_at
from tests.support.browser import log_in

pytestmark = pytest.mark.django_db(transaction=True)
WIDTHS = [1280, 390]


@pytest.fixture
def viewport(browser, request):
    """A page `request.param` px wide, failing the test on any CSP violation."""
    width = request.param
    context = browser.new_context(viewport={"width": width, "height": 900}, is_mobile=width < 600)
    page = context.new_page()
    violations = []
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    yield page, width
    context.close()
    assert violations == []


@pytest.fixture
def ana():
    return UserFactory(username="ana", first_name="Ana", last_name="Manager")


@pytest.fixture
def ben():
    ben = UserFactory(username="ben", first_name="Ben", last_name="Other")
    CustomerFactory(account_manager=ben, name="Ben's own")
    return ben


@pytest.fixture
def story(ana):
    """Ana's tier 1 customer with 30 answers, an alert with a note, and a bounce."""
    customer = CustomerFactory(name="Acme Kitchens", account_manager=ana, tier=1, revenue_12m=Decimal("480000"))
    contact = ContactFactory(customer=customer, name="Dora Diaz", email="dora@acme.test")
    now = timezone.now()
    answers = [
        answer_at(customer, 9 if hours else 2, now - timedelta(hours=hours), invitation__delivery__contact=contact,
                  comment="The fitter never came." if not hours else "")
        for hours in range(30)
    ]
    alert = AlertFactory(customer=customer, response=answers[0], created_at=now)
    AlertNote.objects.create(alert=alert, author=ana, text="Called Dora, a new fitter on Friday.")
    return customer


def no_sideways_scroll(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"


@pytest.mark.parametrize("viewport", WIDTHS, indirect=True)
def test_the_customer_page_tells_the_whole_story_page_by_page(viewport, live_server, story):
    page, width = viewport
    log_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/customers/{story.pk}/")
    timeline = page.locator("#customer-timeline")
    expect(timeline.locator(".score-chart")).to_be_visible()
    entries = timeline.locator(".story > li")
    expect(entries).to_have_count(20)
    expect(entries.first).to_contain_text("At risk alert")
    expect(timeline.get_by_text("Called Dora, a new fitter on Friday.")).to_be_visible()
    expect(timeline.get_by_text("The fitter never came.")).to_be_visible()
    expect(timeline.get_by_text("dora@acme.test").first).to_be_visible()
    no_sideways_scroll(page, width)
    page.screenshot(path=f"var/screenshots/customer-timeline-{width}.png", full_page=True)
    page.evaluate("window.__marker = 1")

    timeline.get_by_role("link", name="Older").click()
    expect(timeline).to_contain_text("page 2")
    expect(timeline.locator(".score-chart")).to_have_count(0)
    expect(timeline.get_by_role("link", name="Newer")).to_be_visible()
    assert page.evaluate("window.__marker") == 1, "the timeline should page in place"
    no_sideways_scroll(page, width)


def test_the_timeline_pages_without_javascript(browser, live_server, story):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_server, "ana")
        page.goto(f"{live_server.url}/customers/{story.pk}/")
        page.get_by_role("link", name="Open Acme Kitchens's timeline").click()
        expect(page.get_by_role("heading", name="Acme Kitchens: the whole story")).to_be_visible()
        page.get_by_role("link", name="Older").click()
        assert page.url.endswith("?page=2")
        expect(page.locator(".story > li").first).to_be_visible()
    finally:
        context.close()


@pytest.mark.parametrize("viewport", WIDTHS, indirect=True)
def test_staff_close_a_customer_at_risk_with_a_reason(viewport, live_server, story, ana):
    page, width = viewport
    alert = story.alerts.get()
    alert.status, alert.resolved_at = AlertStatus.RESOLVED, timezone.now()
    alert.save()
    StaffFactory(username="cleo", first_name="Cleo")
    log_in(page, live_server, "cleo")
    page.goto(f"{live_server.url}/alerts/")
    page.get_by_role("link", name="Customers at risk").click()
    row = page.locator(".at-risk-table tbody tr", has_text="Acme Kitchens")
    expect(row).to_contain_text("2")
    no_sideways_scroll(page, width)
    row.get_by_role("button", name="Close").click()  # the browser asks for the reason first
    expect(row).to_be_visible()
    row.get_by_label("Why Acme Kitchens is no longer at risk").fill("New fitter confirmed; they are happy.")
    row.get_by_role("button", name="Close").click()
    expect(page.get_by_text("Acme Kitchens is no longer listed as at risk.")).to_be_visible()
    expect(page.locator(".at-risk-table")).to_have_count(0)
    assert AtRiskClosure.objects.get().reason == "New fitter confirmed; they are happy."


@pytest.mark.parametrize("viewport", WIDTHS, indirect=True)
def test_reassigning_asks_for_a_reason_and_a_resolved_alert_reopens(viewport, live_server, story, ana, ben):
    page, width = viewport
    alert = story.alerts.get()
    log_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/alerts/{alert.pk}/")
    panel = page.locator("#alert-panel")
    panel.get_by_label("Reassign to").select_option(label="Ben Other")
    panel.get_by_role("button", name="Reassign").click()
    expect(panel.get_by_role("alert")).to_contain_text("Reason is required")
    panel.get_by_label("Reason").fill("Ben fitted their kitchen.")
    panel.get_by_role("button", name="Reassign").click()
    expect(panel.get_by_role("status")).to_have_text("Alert reassigned.")
    expect(panel.get_by_text("Reassigned to Ben Other: Ben fitted their kitchen.")).to_be_visible()

    panel.get_by_label("Resolution note").fill("Fitted on Friday.")
    panel.get_by_role("button", name="Resolve").click()
    expect(panel.locator(".badge-status-resolved")).to_be_visible()
    panel.get_by_label("Why reopen").fill("Dora wrote: the doors do not close.")
    panel.get_by_role("button", name="Reopen").click()
    expect(panel.get_by_role("status")).to_have_text("Alert reopened.")
    expect(panel.locator(".badge-status-acknowledged")).to_be_visible()
    no_sideways_scroll(page, width)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.assignee == ben
    assert alert.notes.filter(kind=NoteKind.REOPENED).get().author == ana


@pytest.mark.parametrize("viewport", WIDTHS, indirect=True)
def test_the_queue_is_searched_and_acknowledged_in_bulk(viewport, live_server, ana):
    page, width = viewport
    alerts = {
        name: AlertFactory(customer=CustomerFactory(name=name, account_manager=ana, tier=2))
        for name in ("Crescent Interiors", "Crescent Lighting", "Harbour Foods")
    }
    log_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/alerts/")
    page.get_by_label("Customer").fill("crescent")
    page.get_by_role("button", name="Apply").click()
    rows = page.locator(".alert-queue tbody tr")
    expect(rows).to_have_count(2)
    page.wait_for_load_state("networkidle")  # the search's one swap is done before ticking
    expect(page.locator(".alert-queue")).not_to_contain_text("Harbour Foods")
    page.get_by_label("Select the alert of Crescent Interiors").check()
    page.get_by_label("Select the alert of Crescent Lighting").check()
    no_sideways_scroll(page, width)
    page.get_by_role("button", name="Acknowledge selected").click()
    expect(page.get_by_text("Acknowledged 2 alerts.")).to_be_visible()
    assert "q=crescent" in page.url
    statuses = {name: type(alert).objects.get(pk=alert.pk).status for name, alert in alerts.items()}
    assert statuses == {"Crescent Interiors": "acknowledged", "Crescent Lighting": "acknowledged",
                        "Harbour Foods": "open"}


# --- Layouts, measured in Chromium


@pytest.mark.parametrize("viewport", [390], indirect=True)
def test_on_a_phone_the_alerts_actions_come_before_the_value_cards(viewport, live_server, story):
    page, _ = viewport
    log_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/alerts/{story.alerts.get().pk}/")
    actions = page.locator(".alert-actions").bounding_box()
    values = page.locator(".alert-value").bounding_box()
    answer = page.locator(".alert-answer").bounding_box()
    page.screenshot(path="var/screenshots/alert-390.png", full_page=True)
    assert answer["y"] < actions["y"] < values["y"]


@pytest.mark.parametrize("viewport", [1280], indirect=True)
def test_on_a_desktop_the_work_panel_sits_beside_the_answer(viewport, live_server, story):
    page, _ = viewport
    log_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/alerts/{story.alerts.get().pk}/")
    panel = page.locator("#alert-panel").bounding_box()
    answer = page.locator(".alert-answer").bounding_box()
    assert panel["x"] > answer["x"] + answer["width"] and abs(panel["y"] - answer["y"]) < 2


@pytest.mark.parametrize("viewport", [390], indirect=True)
def test_on_a_phone_the_customers_table_shows_tier_revenue_and_score_without_scrolling(viewport, live_server, ana):
    page, width = viewport
    for index in range(3):
        customer = CustomerFactory(
            name=f"Northern Commercial Kitchen Fitters and Partners {index}", account_manager=ana, tier=1,
            revenue_12m=Decimal("12345678"), external_id=f"CRM-LONG-EXTERNAL-ID-{index}",
        )
        answer_at(customer, 3, timezone.now())
        customer.latest_score, customer.latest_band = 3, "at_risk"
        customer.save()
    log_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/customers/")
    no_sideways_scroll(page, width)
    page.screenshot(path="var/screenshots/customers-390.png", full_page=True)
    wrap = page.locator("#customer-results .table-wrap").bounding_box()
    visible_right = min(wrap["x"] + wrap["width"], width)
    header = page.locator(".customer-table thead th")
    names = [header.nth(i).inner_text().strip().lower() for i in range(header.count())]
    for wanted in ("tier", "revenue 12 mo", "latest score"):
        column = names.index(wanted)
        for cell in [header.nth(column), *page.locator(f".customer-table tbody tr > :nth-child({column + 1})").all()]:
            box = cell.bounding_box()
            assert box["x"] >= wrap["x"] and box["x"] + box["width"] <= visible_right + 0.5, (wanted, box, wrap)


@pytest.mark.parametrize("viewport", [1280], indirect=True)
def test_the_staff_alert_table_fits_1280_pixels(viewport, live_server):
    page, width = viewport
    managers = [UserFactory(first_name="Maximiliana", last_name=f"Vandenberghe-Castellanos {i}") for i in range(3)]
    for index, manager in enumerate(managers):
        customer = CustomerFactory(
            name=f"Northern Commercial Kitchen Fitters and Partners {index}", account_manager=manager, tier=1,
            revenue_12m=Decimal("12345678"), on_time_rate=0.5,
        )
        AlertFactory(customer=customer, score=2, previous_score=9, escalated_at=timezone.now(),
                     created_at=timezone.now() - timedelta(days=40))
    StaffFactory(username="cleo")
    log_in(page, live_server, "cleo")
    page.goto(f"{live_server.url}/alerts/")
    expect(page.locator(".alert-queue tbody tr")).to_have_count(3)
    page.screenshot(path="var/screenshots/staff-alerts-1280.png", full_page=True)
    wrap = page.locator("#alert-results .table-wrap")
    assert wrap.evaluate("element => element.scrollWidth") <= wrap.evaluate("element => element.clientWidth")
    assert page.locator(".alert-queue").evaluate("element => element.scrollWidth") <= width
    no_sideways_scroll(page, width)
