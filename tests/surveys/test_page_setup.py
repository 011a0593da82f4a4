"""Who is asking and the survey's texts in the contact's language, as the survey pages
show them: kept a few seconds in each web process (surveys/page_setup.py)."""

from __future__ import annotations

import pytest

from customers.models import Language
from surveys import page_setup
from surveys.models import Invitation, Sender, SurveyText
from tests.factories import SenderFactory, sent_invitation

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limit")]

TOKEN = "a-test-token-of-enough-length"


@pytest.fixture
def clock(monkeypatch):
    """The clock page_setup reads, moved on by hand."""

    class Clock:
        now = 1_000.0

        def monotonic(self) -> float:
            return self.now

    clock = Clock()
    monkeypatch.setattr(page_setup, "time", clock)
    return clock


def page(client) -> str:
    answer = client.get(f"/s/{TOKEN}/")
    assert answer.status_code == 200
    return answer.content.decode()


class TestWhoIsAsking:
    def test_a_sender_renamed_here_shows_on_the_next_page(self, client, clock):
        sender = SenderFactory(name="Acme Boilers", is_default=True)
        sent_invitation(token=TOKEN)
        assert "Acme Boilers" in page(client)
        sender.name = "Acme Heating"
        sender.save()
        assert "Acme Heating" in page(client)

    def test_a_change_made_by_another_process_shows_once_what_was_kept_is_old(self, client, clock):
        SenderFactory(name="Acme Boilers", is_default=True)
        sent_invitation(token=TOKEN)
        assert "Acme Boilers" in page(client)
        Sender.objects.filter(is_default=True).update(name="Acme Heating")  # no signal reaches this process
        assert "Acme Boilers" in page(client)
        clock.now += page_setup.KEEP_SECONDS
        assert "Acme Heating" in page(client)

    def test_an_unknown_link_names_the_default_sender(self, client, clock):
        SenderFactory(name="Acme Boilers", is_default=True)
        assert "Acme Boilers" in client.get("/s/no-such-token-of-normal-length/").content.decode()


class TestTexts:
    def test_a_translation_added_here_shows_on_the_next_page(self, client, clock):
        invitation = sent_invitation(token=TOKEN, delivery__contact__language=Language.SPANISH)
        survey = invitation.delivery.survey
        SurveyText.objects.filter(survey=survey).delete()
        assert survey.question.format(delivery="your delivery") in page(client)
        SurveyText.objects.create(
            survey=survey, language=Language.SPANISH, question="¿Qué tal {delivery}?", email_subject="s",
            reminder_subject="r", email_intro="i", email_signature="f",
        )
        assert "¿Qué tal your delivery?" in page(client)

    def test_the_surveys_own_question_is_read_fresh_with_the_invitation(self, client, clock):
        invitation = sent_invitation(token=TOKEN)
        survey = invitation.delivery.survey
        assert "How satisfied" in page(client)
        type(survey).objects.filter(pk=survey.pk).update(question="How was {delivery}?")
        assert "How was your delivery?" in page(client)


class TestWhatThePagesRenderOnce:
    """The score buttons and the parts marked {% kept %} are rendered once per process
    and kept: each page must still show its own survey, language, choice and settings."""

    def test_each_contact_reads_the_scale_in_their_own_language(self, client, clock):
        sent_invitation(token=TOKEN)
        survey = Invitation.objects.get().delivery.survey
        sent_invitation(token=f"{TOKEN}-es", delivery__survey=survey, delivery__contact__language=Language.SPANISH)
        assert "1 = not at all satisfied" in page(client)
        assert "1 = nada satisfecho" in client.get(f"/s/{TOKEN}-es/").content.decode()

    def test_a_survey_moved_to_another_scale_shows_it_at_once(self, client, clock):
        invitation = sent_invitation(token=TOKEN)
        assert page(client).count('type="radio" name="score"') == 10
        type(invitation.delivery.survey).objects.update(scale_min=0)  # no signal reaches this process
        shown = page(client)
        assert shown.count('type="radio" name="score"') == 11
        assert "0 = not at all satisfied" in shown

    def test_the_buttons_check_the_score_of_each_page(self, client, clock):
        sent_invitation(token=TOKEN)
        assert 'value="3" checked data-chosen' in client.get(f"/s/{TOKEN}/?score=3").content.decode()
        shown = client.get(f"/s/{TOKEN}/?score=8").content.decode()
        assert 'value="8" checked data-chosen' in shown and 'value="3" checked' not in shown
        assert " checked" not in page(client)

    def test_a_score_sent_that_is_no_score_checks_no_button(self, client, clock):
        sent_invitation(token=TOKEN)
        for sent in ("ten", "11", "3.5"):
            answer = client.post(f"/s/{TOKEN}/", {"score": sent})
            assert answer.status_code == 400
            assert " checked" not in answer.content.decode()

    def test_a_setting_changed_shows_on_the_next_page(self, client, clock, settings):
        sent_invitation(token=TOKEN)
        assert "django-htmx" not in page(client)
        settings.DEBUG = True  # django-htmx adds its debugging script
        assert "django-htmx" in page(client)
