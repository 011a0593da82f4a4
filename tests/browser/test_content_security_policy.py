"""Every page, opened in Chromium by each kind of visitor, runs under the strict
Content-Security-Policy without a single violation (and with no security header Chromium
cannot read), and htmx still works under it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import log_in
from tests.support.site_map import Page, build_portfolio, page_urls

pytestmark = pytest.mark.django_db(transaction=True)

# Reports every violation the page (or a frame in it) sees to the test.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportViolation && window.reportViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


@pytest.fixture
def portfolio(settings, tmp_path):
    settings.EMAIL_BACKEND = "core.mailbox.MailboxBackend"
    settings.MAILBOX_DIR = tmp_path / "mailbox"
    return build_portfolio()


SECURITY_HEADERS = ("Content Security Policy", "Content-Security-Policy", "Permissions-Policy")


class Visitor:
    """One person's browser, noting every CSP violation with the address it happened on."""

    def __init__(self, browser, live_server):
        self.live_server = live_server
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.violations: list[str] = []
        self.context.expose_binding("reportViolation", lambda source, text: self._note(text))
        self.context.add_init_script(REPORT_VIOLATIONS)
        self.page = self.context.new_page()
        self.page.on("console", self._console)

    def _note(self, text: str) -> None:
        self.violations.append(f"{self.page.url}: {text}")

    def _console(self, message) -> None:
        # Chromium also warns of a security header it cannot read whole (a
        # Permissions-Policy feature it does not know).
        if any(header in message.text for header in SECURITY_HEADERS):
            self._note(message.text)

    def visit(self, pages: list[Page]) -> None:
        for page in pages:
            self.page.goto(self.live_server.url + page.url, wait_until="load")
        self.settle()

    def settle(self) -> None:
        # Reports are dispatched as tasks after the offending load; let the last one arrive.
        self.page.wait_for_timeout(150)

    def close(self) -> None:
        self.context.close()


# The admin's add, delete and history pages share their templates and scripts with the
# change pages; one model's stand for all, which keeps the walk under a minute.
ADMIN_SAMPLE = re.compile(r"admin:(index|app_list|password_change|\w+_changelist|\w+_change|customers_customer_\w+)$")


def pages_for(pages: list[Page], *, staff: bool) -> list[Page]:
    """Every page a browser renders: for staff the admin's every changelist and change
    page and one model's other pages; for anyone else, the admin's login only."""
    rendered = [page for page in pages if page.html]
    if staff:
        return [page for page in rendered if not page.url.startswith("/admin/") or ADMIN_SAMPLE.match(page.route)]
    return [page for page in rendered if not page.url.startswith("/admin/") or page.url == "/admin/"]


def test_no_page_breaks_the_content_security_policy_for_anyone(browser, live_server, portfolio):
    """One portfolio walked by each kind of visitor in turn (building it costs more than
    a visitor's walk)."""
    pages = page_urls(portfolio)
    violations: dict[str, list[str]] = {}
    for role in ("anonymous", "manager_a", "manager_c", "staff"):
        visitor = Visitor(browser, live_server)
        try:
            if role != "anonymous":
                log_in(visitor.page, live_server, role)
            visitor.visit(pages_for(pages, staff=role == "staff"))
            if visitor.violations:
                violations[role] = visitor.violations
        finally:
            visitor.close()
    assert violations == {}, "\n".join(f"{role}: {text}" for role, texts in violations.items() for text in texts)


def test_the_mailbox_shows_the_emails_own_styles_in_its_frame(browser, live_server, portfolio):
    visitor = Visitor(browser, live_server)
    try:
        log_in(visitor.page, live_server, "staff")
        visitor.page.goto(f"{live_server.url}/mailbox/{portfolio.mail}/")
        frame = visitor.page.frame_locator("iframe.mail-frame")
        link = frame.get_by_role("link", name="9", exact=True)
        expect(link).to_be_visible()
        # The email's inline styles applied: its score buttons are white on blue.
        assert link.evaluate("element => getComputedStyle(element).color") == "rgb(255, 255, 255)"
        visitor.settle()
        assert visitor.violations == [], "\n".join(visitor.violations)
    finally:
        visitor.close()


def test_htmx_filters_update_the_pages_in_place_under_the_policy(browser, live_server, portfolio):
    visitor = Visitor(browser, live_server)
    page = visitor.page
    try:
        log_in(page, live_server, "staff")
        page.goto(f"{live_server.url}/customers/")
        page.evaluate("window.__marker = 1")
        rows = page.locator("#customer-results tbody tr")
        expect(rows).to_have_count(3)
        page.get_by_label("Search").fill("Customer B")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Customer B")
        expect(page).to_have_url(re.compile(r"/customers/\?.*q=Customer(\+|%20)B"))
        assert page.evaluate("window.__marker") == 1, "the page was reloaded: htmx did not swap in place"

        page.goto(f"{live_server.url}/alerts/")
        page.evaluate("window.__marker = 1")
        alerts = page.locator("#alert-results tbody tr")
        expect(alerts).to_have_count(4)
        page.get_by_label("Assigned to").select_option(label="Ada")
        expect(alerts).to_have_count(1)
        expect(page).to_have_url(re.compile(r"/alerts/\?.*assignee="))

        page.goto(f"{live_server.url}/alerts/{portfolio.handed_alert.pk}/")
        page.evaluate("window.__marker = 1")
        panel = page.locator("#alert-panel")
        panel.get_by_role("button", name="Acknowledge").click()
        expect(panel.locator(".badge-status-acknowledged")).to_have_text("Acknowledged")
        assert page.evaluate("window.__marker") == 1, "the page was reloaded: htmx did not swap in place"
        visitor.settle()
        assert visitor.violations == [], "\n".join(visitor.violations)
    finally:
        visitor.close()
