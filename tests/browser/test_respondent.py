"""A respondent answering in real Chromium: the emailed link, the comment, changing
one's mind, keyboard only, a phone-sized screen, and no JavaScript at all."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from surveys.models import Response
from tests.factories import sent_invitation

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "browser-test-token-0123456789abcdef"


@pytest.fixture
def survey_url(live_server):
    sent_invitation(token=TOKEN, delivery__description="the kitchen installation")
    return f"{live_server.url}/s/{TOKEN}/"


def answer(page, *, score: int) -> None:
    page.get_by_role("radio", name=str(score), exact=True).check()


def test_an_emailed_low_score_with_a_comment_then_a_change_of_mind(page, survey_url):
    page.goto(f"{survey_url}?score=3")
    expect(page.get_by_role("heading", name="How satisfied are you with the kitchen installation?")).to_be_visible()
    expect(page.get_by_role("radio", name="3", exact=True)).to_be_checked()
    assert Response.objects.count() == 0

    page.get_by_label("Anything you would like to add?").fill("The fitter came a day late.")
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_role("status")).to_contain_text("Thank you!")
    assert page.url.endswith(f"/s/{TOKEN}/thanks/")
    response = Response.objects.get()
    assert (response.score, response.comment) == (3, "The fitter came a day late.")

    page.goto(survey_url)
    expect(page.get_by_text("Your answer so far: 3")).to_be_visible()
    answer(page, score=9)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("We received your answer: 9")
    response.refresh_from_db()
    assert (response.score, response.revisions) == (9, 1)


def test_answering_with_the_keyboard_only(page, survey_url):
    page.goto(survey_url)
    page.keyboard.press("Tab")  # the first score
    for _ in range(6):
        page.keyboard.press("ArrowRight")  # radio groups move with the arrows: 1 → 7
    focused = page.evaluate("document.activeElement.value")
    outline = page.evaluate("getComputedStyle(document.activeElement.nextElementSibling).outlineStyle")
    page.keyboard.press("Tab")  # the comment box
    page.keyboard.type("Quick and tidy.")
    page.keyboard.press("Tab")  # Send
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("We received your answer: 7")
    assert focused == "7"
    assert outline != "none"  # the focused score is visibly marked
    assert (Response.objects.get().score, Response.objects.get().comment) == (7, "Quick and tidy.")


def test_a_phone_width_needs_no_sideways_scrolling(browser, survey_url):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        for url in (f"{survey_url}?score=10", survey_url):
            page.goto(url)
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
        box = page.get_by_role("radio", name="10", exact=True).locator("xpath=..").bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44  # thumb-sized targets
    finally:
        context.close()


def test_without_javascript_the_plain_forms_work(browser, survey_url):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{survey_url}?score=6")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
        assert page.url.endswith(f"/s/{TOKEN}/thanks/")

        page.get_by_label("Would you like to tell us more?").fill("Fine overall.")
        page.get_by_role("button", name="Add comment").click()
        expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
        response = Response.objects.get()
        assert (response.score, response.comment) == (6, "Fine overall.")
    finally:
        context.close()


def test_a_page_left_open_records_nothing(page, survey_url):
    page.goto(f"{survey_url}?score=1")
    page.wait_for_timeout(10_000)
    assert Response.objects.count() == 0


def test_a_browser_that_keeps_no_cookies_can_answer_and_comment(browser, survey_url):
    """A mail app's built-in browser, or one set to refuse cookies: the survey link
    alone must do. (With a CSRF cookie, Django refused such an answer with its 403 page.)"""
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(f"{survey_url}?score=4")
        assert context.cookies() == []  # none offered; one would be dropped here:
        context.clear_cookies()
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("status")).to_contain_text("We received your answer: 4")
        context.clear_cookies()
        page.get_by_label("Would you like to tell us more?").fill("Only the delivery was late.")
        page.get_by_role("button", name="Add comment").click()
        expect(page.get_by_text("Your comment is saved.")).to_be_visible()
        assert context.cookies() == []
    finally:
        context.close()
    response = Response.objects.get()
    assert (response.score, response.comment) == (4, "Only the delivery was late.")
