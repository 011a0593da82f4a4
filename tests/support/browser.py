"""Steps the browser tests share."""

from __future__ import annotations

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
