"""Who is asking and the survey's texts in the contact's language, as the survey pages
show them: kept a few seconds in each web process (surveys/page_setup.py)."""

from __future__ import annotations

import pytest

from customers.models import Language
from surveys import page_setup
from surveys.models import Sender, SurveyText
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
