from __future__ import annotations

import re

import pytest

from surveys import emails
from tests.factories import ContactFactory, DeliveryFactory, InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db

TOKEN = "tok_0123456789abcdefghijklmnopqrstuvwxyz"
UNSUBSCRIBE_TOKEN = "uns_0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "https://survey.example.com"


def invitation_for(**delivery_fields):
    delivery = DeliveryFactory(
        contact=ContactFactory(name="Jo Bloggs", email="jo@example.com"),
        description="the boiler service",
        **delivery_fields,
    )
    return InvitationFactory(delivery=delivery)


def html_of(message) -> str:
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return html


class TestSurveyInvitation:
    def test_it_has_a_plain_text_part_and_an_html_part(self):
        message = emails.survey_invitation(invitation_for(), token=TOKEN, unsubscribe_token=UNSUBSCRIBE_TOKEN)
        assert message.body.strip()
        assert "<table" in html_of(message)

    def test_it_names_the_contact_the_delivery_and_asks_the_question(self):
        message = emails.survey_invitation(invitation_for(), token=TOKEN, unsubscribe_token=UNSUBSCRIBE_TOKEN)
        for part in (message.body, html_of(message)):
            assert "Jo Bloggs" in part
            assert "How satisfied are you with the boiler service?" in part
        assert message.to == ["Jo Bloggs <jo@example.com>"]

    def test_ten_score_links_in_both_parts(self):
        message = emails.survey_invitation(invitation_for(), token=TOKEN, unsubscribe_token=UNSUBSCRIBE_TOKEN)
        expected = [f"https://survey.example.com/s/{TOKEN}/?score={score}" for score in range(1, 11)]
        assert re.findall(r"https://\S+\?score=\d+", message.body) == expected
        assert re.findall(r'href="(https://[^"]+\?score=\d+)"', html_of(message)) == expected

    def test_it_carries_one_click_unsubscribe_headers_and_link(self):
        message = emails.survey_invitation(invitation_for(), token=TOKEN, unsubscribe_token=UNSUBSCRIBE_TOKEN)
        unsubscribe = f"https://survey.example.com/u/{UNSUBSCRIBE_TOKEN}/"
        assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe}>"
        assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert unsubscribe in message.body
        assert f'href="{unsubscribe}"' in html_of(message)

    def test_the_survey_token_never_travels_in_a_header(self):
        message = emails.survey_invitation(invitation_for(), token=TOKEN, unsubscribe_token=UNSUBSCRIBE_TOKEN)
        assert not any(TOKEN in value for value in message.extra_headers.values())

    def test_the_html_loads_nothing_remote(self):
        html = html_of(emails.survey_invitation(invitation_for(), token=TOKEN, unsubscribe_token=UNSUBSCRIBE_TOKEN))
        assert "<img" not in html and "<link" not in html and "<script" not in html
        assert "<style" not in html  # inline styles only

    def test_an_nps_survey_offers_eleven_scores_from_zero(self):
        survey = SurveyFactory(scale_min=0, satisfied_min=7)
        message = emails.survey_invitation(invitation_for(survey=survey), token=TOKEN, unsubscribe_token=UNSUBSCRIBE_TOKEN)
        assert [int(n) for n in re.findall(r"\?score=(\d+)", message.body)] == list(range(0, 11))

    def test_subject_and_texts_come_from_the_survey(self):
        survey = SurveyFactory(
            email_subject="{customer}: rate {delivery}",
            email_intro="Dear {contact_name}, quick one.",
            question="Would you book {delivery} again?",
        )
        invitation = invitation_for(survey=survey)
        message = emails.survey_invitation(invitation, token=TOKEN, unsubscribe_token=UNSUBSCRIBE_TOKEN)
        assert message.subject == f"{invitation.delivery.customer.name}: rate the boiler service"
        assert "Dear Jo Bloggs, quick one." in message.body
        assert "Would you book the boiler service again?" in html_of(message)

    def test_a_reminder_says_so(self):
        message = emails.survey_invitation(invitation_for(), token=TOKEN, unsubscribe_token=UNSUBSCRIBE_TOKEN, reminder=True)
        assert message.subject == "Reminder: how did we do with the boiler service?"
        assert "reminder" in message.body.lower()

    def test_names_are_escaped_in_the_html(self):
        invitation = invitation_for()
        invitation.contact.name = "<b>Jo</b>"
        html = html_of(emails.survey_invitation(invitation, token=TOKEN, unsubscribe_token=UNSUBSCRIBE_TOKEN))
        assert "<b>Jo</b>" not in html and "&lt;b&gt;Jo&lt;/b&gt;" in html
