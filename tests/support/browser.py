"""Steps the browser tests share."""

from __future__ import annotations

from contextlib import contextmanager

from playwright.sync_api import expect

# What tests.factories.UserFactory sets every user's password to.
PASSWORD = "correct horse battery staple"


def log_in(page, live_server, username: str) -> None:
    """Logs `username` in through the login page, as a person would."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


@contextmanager
def signed_in_page(browser, live_server, username: str, *, width: int):
    """A page `width` px wide (a phone's, touch and all, below 600) with `username`
    logged in; its browser context is closed afterwards."""
    context = browser.new_context(viewport={"width": width, "height": 900}, is_mobile=width < 600)
    page = context.new_page()
    try:
        log_in(page, live_server, username)
        yield page
    finally:
        context.close()
