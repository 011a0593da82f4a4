"""What a respondent sees of who is asking and of the two steps, in real Chromium on a
phone (390 px) and a desktop (1280 px): the chosen-score hint where the eye is, the
company's name and logo on every page, no way into the staff side, the saved-comment
confirmation, and a favicon instead of a 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from surveys.models import Invitation, Response, hash_token
from tests.factories import SenderFactory, sent_invitation

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "browser-sender-token-0123456789abcdef"
CLOSED_TOKEN = "browser-closed-token-0123456789abcdef"
UNSUBSCRIBE_TOKEN = "browser-unsubscribe-token-0123456789ab"

VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}


@pytest.fixture(params=list(VIEWPORTS))
def screen(request, browser):
    """A page at the width of a phone or a desktop, which records every answer it gets."""
    context = browser.new_context(**VIEWPORTS[request.param])
    page = context.new_page()
    page.answers = []
    page.on("response", lambda answer: page.answers.append((answer.status, answer.url)))
    yield page
    context.close()


@pytest.fixture
def site(live_server):
    from tests.support.services import clear_cache

    clear_cache()  # the public pages' rate limit starts at zero
    sender = SenderFactory(
        name="Acme Boilers", is_default=True, footer="Acme Boilers Ltd · 1 High Street, Leeds", logo=True
    )
    sent_invitation(token=TOKEN, delivery__description="the boiler service")
    Invitation.objects.filter(token_hash=hash_token(TOKEN)).update(unsubscribe_token_hash=hash_token(UNSUBSCRIBE_TOKEN))
    sent_invitation(token=CLOSED_TOKEN, expires_at=timezone.now() - timedelta(minutes=1))
    return live_server.url, sender


def screenshot(page, name: str) -> None:
    """Full-page screenshots for a person to look at: var/screenshots/<name>-<width>.png."""
    from django.conf import settings

    folder = settings.VAR_DIR / "screenshots"
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / f"{name}-{page.viewport_size['width']}.png"), full_page=True)


def in_view(page, locator) -> bool:
    """The whole element is on the screen as it first shows, without scrolling."""
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] and box["x"] + box["width"] <= size["width"]


def assert_who_is_asking(page) -> None:
    """The company's name and logo head the page and its footer closes it; nothing links
    to the staff side, and nothing scrolls sideways."""
    expect(page.locator(".sender-name")).to_have_text("Acme Boilers")
    logo = page.locator("img.sender-logo")
    expect(logo).to_be_visible()
    assert page.evaluate("document.querySelector('img.sender-logo').naturalWidth") > 0  # it loaded
    expect(page.locator(".sender-footer")).to_have_text("Acme Boilers Ltd · 1 High Street, Leeds")
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(link => link.getAttribute('href'))")
    assert not [href for href in hrefs if href == "/" or "/login/" in href or "/admin/" in href], hrefs
    assert "ValuePulse" not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_the_chosen_score_says_press_send_where_the_eye_is(screen, site):
    url, _ = site
    screen.goto(f"{url}/s/{TOKEN}/?score=3")
    hint = screen.locator(".chosen-hint")
    expect(hint).to_have_text("You chose 3 — press Send to record it.")
    assert in_view(screen, hint)
    expect(screen.get_by_role("radio", name="3", exact=True)).to_be_checked()
    assert_who_is_asking(screen)
    assert Response.objects.count() == 0  # opening the link recorded nothing
    screenshot(screen, "survey-chosen-score")

    screen.get_by_role("radio", name="7", exact=True).check()
    expect(hint).to_be_hidden()  # no longer true: the general reminder stands in for it
    expect(screen.locator(".changed-hint")).to_have_text("Press Send to record your new choice.")

    screen.get_by_role("button", name="Send").click()
    expect(screen.get_by_role("status")).to_contain_text("We received your answer: 7")
    assert Response.objects.get().score == 7
    assert_who_is_asking(screen)


def test_a_saved_comment_is_confirmed(screen, site):
    url, _ = site
    screen.goto(f"{url}/s/{TOKEN}/?score=4")
    screen.get_by_role("button", name="Send").click()
    expect(screen.get_by_role("status")).to_contain_text("We received your answer: 4")
    expect(screen.locator(".saved")).to_have_count(0)

    screen.get_by_label("Would you like to tell us more?").fill("The engineer was late.")
    screen.get_by_role("button", name="Add comment").click()
    confirmation = screen.locator(".saved")
    expect(confirmation).to_have_text("Your comment is saved.")
    assert in_view(screen, confirmation)
    screenshot(screen, "survey-comment-saved")
    assert Response.objects.get().comment == "The engineer was late."


def test_a_saved_comment_is_confirmed_without_javascript(browser, site):
    url, _ = site
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(f"{url}/s/{TOKEN}/?score=4")
        expect(page.locator(".chosen-hint")).to_have_text("You chose 4 — press Send to record it.")
        page.get_by_role("button", name="Send").click()
        page.get_by_label("Would you like to tell us more?").fill("Tidy work.")
        page.get_by_role("button", name="Add comment").click()
        expect(page.locator(".saved")).to_have_text("Your comment is saved.")
    finally:
        context.close()


def test_closed_bad_link_and_unsubscribe_pages_name_the_company_and_no_staff_page(screen, site):
    url, _ = site
    screen.goto(f"{url}/s/{CLOSED_TOKEN}/")
    expect(screen.get_by_role("heading", name="This survey has closed")).to_be_visible()
    assert_who_is_asking(screen)

    for bad in ("/s/no-such-token-0123456789/", "/s/no-such-token-0123456789/thanks/", "/u/no-such-token/"):
        answer = screen.goto(f"{url}{bad}")
        assert answer.status == 404
        expect(screen.get_by_role("heading", name="This link does not work")).to_be_visible()
        assert_who_is_asking(screen)
    screenshot(screen, "survey-bad-link")

    screen.goto(f"{url}/u/{UNSUBSCRIBE_TOKEN}/")
    assert_who_is_asking(screen)
    screen.get_by_role("button", name="Unsubscribe").click()
    expect(screen.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    assert_who_is_asking(screen)


def test_the_favicon_answers_and_no_page_logs_a_404_for_it(screen, site):
    url, _ = site
    assert screen.request.get(f"{url}/favicon.ico").status == 200
    screen.goto(f"{url}/s/{TOKEN}/")
    icon = screen.get_attribute('link[rel="icon"]', "href")
    assert screen.request.get(f"{url}{icon}").status == 200
    screen.goto(f"{url}/login/")
    assert screen.get_attribute('link[rel="icon"]', "href") == icon
    screen.wait_for_load_state("networkidle")
    assert [answer for answer in screen.answers if answer[0] == 404] == []
