from __future__ import annotations

import email
import email.policy
import re

import pytest

from surveys import emails
from surveys.models import SurveyText
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    DeliveryFactory,
    InvitationFactory,
    SenderFactory,
    SurveyFactory,
)

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


# --- Filled in from a draft rendered once a batch (core.emails.EmailDraft): the email
# survey_invitation builds one by one, and bytes of its own that say what Django's
# message() says.


def invitation(*, name: str, language: str = "en", customer: str = "Acme", description: str = "the boiler service"):
    delivery = DeliveryFactory(
        customer=CustomerFactory(name=customer),
        contact=ContactFactory(name=name, email="jo@example.com", language=language),
        description=description,
    )
    return InvitationFactory(delivery=delivery)


def both_ways(invitation, *, reminder: bool = False):
    built = emails.survey_invitation(invitation, token=TOKEN, unsubscribe_token=UNSUBSCRIBE_TOKEN, reminder=reminder)
    draft = emails.survey_draft(
        survey=invitation.survey, language=invitation.contact.language, sender=invitation.sender, reminder=reminder
    )
    filled = emails.fill_survey_draft(draft, invitation, token=TOKEN, unsubscribe_token=UNSUBSCRIBE_TOKEN)
    return built, filled


def same_email(built, filled) -> None:
    assert (filled.subject, filled.body, filled.alternatives) == (built.subject, built.body, built.alternatives)
    assert (filled.from_email, filled.to, filled.reply_to) == (built.from_email, built.to, built.reply_to)
    assert filled.extra_headers == built.extra_headers


def parsed(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


class TestFilledFromADraft:
    def test_it_is_the_email_built_for_the_invitation(self):
        same_email(*both_ways(invitation(name="Jo Bloggs")))

    def test_names_that_are_markup_are_escaped_in_the_html_as_when_built(self):
        built, filled = both_ways(invitation(name="<b>Jo</b> & \"Co\"", customer="Smith & Sons <Ltd>",
                                             description="a <script>alert(1)</script> delivery"))
        same_email(built, filled)
        assert "<script>" not in filled.alternatives[0][0]

    def test_a_reminder_in_another_language_from_the_surveys_sender_is_the_one_built(self):
        sent = invitation(name="José Núñez", language="es")
        sent.survey.sender = SenderFactory(name="Atención Ñandú", reply_to="ayuda@example.com")
        sent.survey.save()
        SurveyText.objects.update_or_create(survey=sent.survey, language="es", defaults={
            "question": "¿Qué tal {delivery}?", "email_subject": "Hola {contact_name}",
            "reminder_subject": "Recordatorio para {customer}", "email_intro": "Hola {contact_name},\n\nde {company}.",
            "email_signature": "Gracias,\n{company}",
        })
        sent = type(sent).objects.get(pk=sent.pk)
        same_email(*both_ways(sent, reminder=True))

    def test_the_closing_day_is_written_in_each_contacts_language(self):
        english, spanish = invitation(name="Jo"), invitation(name="José", language="es")
        spanish.expires_at = english.expires_at = english.expires_at.replace(year=2031, month=3, day=9)

        for sent, day in ((english, "March 9, 2031"), (spanish, "9 de marzo de 2031"), (english, "March 9, 2031")):
            built, filled = both_ways(sent)
            same_email(built, filled)
            assert day in filled.body

    def test_a_value_with_a_line_break_is_left_to_the_one_by_one_build(self):
        sent = invitation(name="Jo", description="first line\nsecond line")
        draft = emails.survey_draft(survey=sent.survey, language="en", sender=sent.sender, reminder=False)
        assert emails.fill_survey_draft(draft, sent, token=TOKEN, unsubscribe_token=UNSUBSCRIBE_TOKEN) is None


class TestItsOwnBytes:
    def test_they_say_what_djangos_message_says(self):
        _, filled = both_ways(invitation(name="José Núñez, Jr.", customer="Ünïcode GmbH"))
        filled.extra_headers["Message-ID"] = "<fixed@example.com>"
        ours, django = parsed(filled.wire_bytes()), parsed(filled.message().as_bytes(linesep="\r\n"))
        for header in ("Subject", "From", "To", "Reply-To", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post",
                       "MIME-Version"):
            # Django folds a long header onto a second line, which reads back with a space.
            assert str(ours[header] or "").strip() == str(django[header] or "").strip(), header
        assert ours.get_content_type() == django.get_content_type() == "multipart/alternative"
        for subtype in ("plain", "html"):
            assert (ours.get_body(preferencelist=(subtype,)).get_content()
                    == django.get_body(preferencelist=(subtype,)).get_content())

    def test_lines_end_in_crlf_and_none_is_too_long(self):
        _, filled = both_ways(invitation(name="Jo"))
        raw = filled.wire_bytes()
        assert b"\n" not in raw.replace(b"\r\n", b"")
        assert max(len(line) for line in raw.split(b"\r\n")) <= 998

    def test_a_part_with_a_line_too_long_to_go_8bit_leaves_it_to_django(self):
        sent = invitation(name="Jo")
        sent.survey.email_intro = "word " * 250
        sent.survey.save()
        _, filled = both_ways(sent)
        assert filled.wire_bytes() is None
        assert "quoted-printable" in filled.message().as_string()
