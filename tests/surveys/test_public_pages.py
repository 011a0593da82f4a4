"""The respondent's pages reached from the survey email."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Band
from surveys.models import Invitation, InvitationStatus, Response
from tests.factories import InvitationFactory, sent_invitation

pytestmark = pytest.mark.django_db

TOKEN = "a-test-token-of-enough-length"


@pytest.fixture
def invitation() -> Invitation:
    return sent_invitation(token=TOKEN)


class TestSurveyPage:
    @pytest.mark.parametrize("score", range(1, 11))
    def test_opening_a_score_link_preselects_it_and_records_nothing(self, client, invitation, score):
        page = client.get(f"/s/{TOKEN}/?score={score}")
        assert page.status_code == 200
        assert f'value="{score}" checked' in page.content.decode()
        assert Response.objects.count() == 0

    def test_the_page_asks_about_the_delivery(self, client, invitation):
        page = client.get(f"/s/{TOKEN}/").content.decode()
        assert f"How satisfied are you with {invitation.delivery.description}?" in page
        assert page.count('type="radio" name="score"') == 10

    def test_posting_a_score_records_it_and_shows_thanks(self, client, invitation):
        answer = client.post(f"/s/{TOKEN}/", {"score": "3", "comment": "Late twice."})
        assert answer.status_code == 303 and answer["Location"] == f"/s/{TOKEN}/thanks/"
        response = Response.objects.get()
        assert (response.score, response.band, response.comment) == (3, Band.AT_RISK, "Late twice.")
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.RESPONDED
        assert "Thank you" in client.get(answer["Location"]).content.decode()

    @pytest.mark.parametrize("score", ["0", "11", "5.5", "", "ten"])
    def test_a_bad_score_re_shows_the_form_with_the_error(self, client, invitation, score):
        answer = client.post(f"/s/{TOKEN}/", {"score": score})
        assert answer.status_code == 400
        assert 'role="alert"' in answer.content.decode()
        assert Response.objects.count() == 0

    def test_an_unknown_token_is_a_404(self, client, invitation):
        assert client.get("/s/not-a-real-token/").status_code == 404
        assert client.post("/s/not-a-real-token/", {"score": "5"}).status_code == 404

    def test_an_expired_invitation_shows_the_closed_page_and_takes_nothing(self, client):
        sent_invitation(token=TOKEN, expires_at=timezone.now() - timedelta(seconds=1))
        assert client.get(f"/s/{TOKEN}/").status_code == 410
        assert client.post(f"/s/{TOKEN}/", {"score": "9"}).status_code == 410
        assert Response.objects.count() == 0


class TestChangingTheAnswer:
    def test_the_last_answer_stands_and_the_earlier_one_is_kept(self, client, invitation):
        client.post(f"/s/{TOKEN}/", {"score": "3"})
        client.post(f"/s/{TOKEN}/", {"score": "9", "comment": "Sorted now."})
        response = Response.objects.get()
        assert (response.score, response.band, response.revisions) == (9, Band.PROMOTER, 1)
        assert [(revision.score, revision.band) for revision in response.history.all()] == [(3, Band.AT_RISK)]

    def test_the_customer_keeps_the_latest_answer(self, client, invitation):
        client.post(f"/s/{TOKEN}/", {"score": "4"})
        customer = invitation.delivery.customer
        customer.refresh_from_db()
        assert (customer.latest_score, customer.latest_band) == (4, Band.AT_RISK)
        client.post(f"/s/{TOKEN}/", {"score": "8"})
        customer.refresh_from_db()
        assert (customer.latest_score, customer.latest_band) == (8, Band.SATISFIED)
        assert customer.latest_answer_at == Response.objects.get().submitted_at


class TestUnsubscribe:
    def test_get_asks_for_confirmation_and_changes_nothing(self, client, invitation):
        assert client.get(f"/u/{TOKEN}/").status_code == 200
        invitation.contact.refresh_from_db()
        assert not invitation.contact.opted_out

    def test_one_click_post_opts_out_without_cookies_or_csrf(self, invitation):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        for _ in range(2):  # idempotent
            answer = client.post(f"/u/{TOKEN}/", {"List-Unsubscribe": "One-Click"})
            assert answer.status_code == 200
        invitation.contact.refresh_from_db()
        assert invitation.contact.opted_out

    def test_the_confirm_form_needs_its_csrf_token(self, invitation):
        from django.test import Client

        assert Client(enforce_csrf_checks=True).post(f"/u/{TOKEN}/").status_code == 403

    def test_later_invitations_of_an_opted_out_contact_are_suppressed(self, client, invitation):
        later = InvitationFactory(delivery__contact=invitation.contact, delivery__customer=invitation.delivery.customer)
        client.post(f"/u/{TOKEN}/", {"List-Unsubscribe": "One-Click"})
        later.refresh_from_db()
        assert (later.status, later.suppressed_reason) == (InvitationStatus.SUPPRESSED, "opted_out")
