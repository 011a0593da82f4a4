"""Real Chromium (Debian's package) driven by Playwright against a live test server."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import require_service

CHROMIUM = "/usr/bin/chromium"

@pytest.fixture(scope="package")
def browser():
    """One Chromium for the browser tests, closed when they are done.

    Playwright's sync API runs an event loop in the test's thread. The tests are still
    synchronous, so Django's database access from them is safe; the setting saying so
    is lifted again afterwards, and nothing outside this package sees the loop."""
    require_service(
        os.path.exists(CHROMIUM) or bool(shutil.which("chromium")),
        f"Chromium at {CHROMIUM}",
        "`make test` installs it (apt-get install chromium chromium-driver).",
    )
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()
