"""What an account manager sees of the answer rule: possible scanners to confirm or
dismiss, and an alert that follows the latest answer."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from insights.alerts import services
from insights.models import Alert, NoteKind
from surveys import services as survey_services
from surveys.models import Response, SuspectReview
from tests.factories import CustomerFactory, StaffFactory, UserFactory, sent_invitation

pytestmark = pytest.mark.django_db

LIST_URL = reverse("insights:possible-scanners")
TOKENS = iter(f"possible-scanner-token-{n:04d}-abcdefghijkl" for n in range(10_000))


def burst(manager, name: str, scores=(7, 2, 9, 4, 3)) -> Response:
    """A mail scanner's clicks on `manager`'s customer's survey, seconds after it left."""
    customer = CustomerFactory(name=name, account_manager=manager, tier=2, revenue_12m=Decimal("90000"))
    invitation = sent_invitation(
        token=next(TOKENS),
        sent_at=timezone.now() - timedelta(hours=2),
        delivery__customer=customer,
        delivery__contact__customer=customer,
    )
    for offset, score in enumerate(scores):
        response = survey_services.record_response(
            invitation=invitation, score=score, now=invitation.sent_at + timedelta(seconds=4 + 2 * offset)
        )
    assert response.is_suspect
    return response


def confirm_url(response: Response, action: str = "confirm") -> str:
    return reverse(f"insights:{action}-scanner", args=[response.pk])


@pytest.fixture
def ana():
    return UserFactory(username="ana", first_name="Ana", last_name="Manager")


@pytest.fixture
def as_ana(client, ana):
    client.force_login(ana)
    return client


class TestTheList:
    def test_it_lists_the_managers_possible_scanners_with_the_scores_seen(self, as_ana, ana):
        burst(ana, "Acme")
        burst(UserFactory(), "Someone Else's")
        html = as_ana.get(LIST_URL).content.decode()
        assert "Acme" in html and "Someone Else" not in html
        assert '<span class="scores-seen">7 → 2 → 9 → 4 → 3</span>' in html
        assert "began 4 s after the email" in html
        assert "Confirm: raise the alert" in html and "Dismiss: a scanner" in html

    def test_staff_see_everyones(self, client, ana):
        burst(ana, "Acme")
        burst(UserFactory(), "Bolt")
        client.force_login(StaffFactory())
        html = client.get(LIST_URL).content.decode()
        assert "Acme" in html and "Bolt" in html

    def test_decided_answers_leave_the_list(self, as_ana, ana):
        response = burst(ana, "Acme")
        services.dismiss_possible_scanner(response_id=response.pk, user=ana)
        assert "No possible scanners to check" in as_ana.get(LIST_URL).content.decode()

    def test_the_queue_links_to_them_with_their_count(self, as_ana, ana):
        burst(ana, "Acme")
        burst(ana, "Bolt")
        html = as_ana.get(reverse("insights:alerts")).content.decode()
        assert f'href="{LIST_URL}">Possible scanners to check: 2</a>' in html

    @pytest.mark.parametrize("count", [2, 20])
    def test_it_makes_a_constant_number_of_queries(self, as_ana, ana, django_assert_num_queries, count):
        for index in range(count):
            burst(ana, f"Customer {index}")
        # session, user, count, page of answers with customers/contacts/deliveries, their
        # revisions, the navigation's open count
        with django_assert_num_queries(6):
            response = as_ana.get(LIST_URL)
        assert len(response.context["rows"]) == count


class TestDeciding:
    def test_confirming_raises_the_alert_on_the_last_score_and_opens_it(self, as_ana, ana):
        response = burst(ana, "Acme")
        answer = as_ana.post(confirm_url(response))
        alert = Alert.objects.get()
        assert (answer.status_code, answer.url) == (303, reverse("insights:alert", args=[alert.pk]))
        assert (alert.score, alert.assignee) == (3, ana)
        note = alert.notes.get()
        assert (note.kind, note.author) == (NoteKind.CONFIRMED, ana)
        html = as_ana.get(answer.url).content.decode()
        assert "this alert is raised on its score, 3" in html
        assert "scores seen: 7, 2, 9, 4, 3" in html

    def test_confirming_a_satisfied_answer_raises_nothing_and_says_so(self, as_ana, ana):
        response = burst(ana, "Acme", scores=(2, 5, 8))
        answer = as_ana.post(confirm_url(response), follow=True)
        assert Alert.objects.count() == 0
        assert "8 (satisfied) raises no new alert; it now counts in the insights" in answer.content.decode()

    def test_dismissing_keeps_it_as_a_scanners_and_raises_nothing(self, as_ana, ana):
        response = burst(ana, "Acme")
        answer = as_ana.post(confirm_url(response, "dismiss"), follow=True)
        assert "stays marked as a scanner" in answer.content.decode()
        response.refresh_from_db()
        assert (response.is_suspect, response.suspect_review, response.suspect_reviewed_by) == (
            True,
            SuspectReview.DISMISSED,
            ana,
        )
        assert services.evaluate_pending(now=timezone.now() + timedelta(days=1)) == 0

    def test_deciding_twice_says_it_was_decided(self, as_ana, ana):
        response = burst(ana, "Acme")
        as_ana.post(confirm_url(response, "dismiss"))
        answer = as_ana.post(confirm_url(response), follow=True)
        assert "This answer was already confirmed or dismissed." in answer.content.decode()
        assert Alert.objects.count() == 0

    @pytest.mark.parametrize("action", ["confirm", "dismiss"])
    def test_another_managers_answer_is_a_404(self, as_ana, action):
        response = burst(UserFactory(), "Bolt")
        assert as_ana.post(confirm_url(response, action)).status_code == 404
        response.refresh_from_db()
        assert response.suspect_review == ""

    def test_it_answers_only_posts(self, as_ana, ana):
        assert as_ana.get(confirm_url(burst(ana, "Acme"))).status_code == 405


class TestTheAlertFollowsTheAnswer:
    def raised(self, manager, score: int):
        customer = CustomerFactory(name="Acme", account_manager=manager, tier=2, revenue_12m=Decimal("90000"))
        invitation = sent_invitation(
            token=next(TOKENS), sent_at=timezone.now() - timedelta(days=1),
            delivery__customer=customer, delivery__contact__customer=customer,
        )
        start = timezone.now() - timedelta(hours=1)
        survey_services.record_response(invitation=invitation, score=score, now=start)
        services.evaluate_pending(now=start + timedelta(minutes=1))
        return Alert.objects.get(), invitation, start

    def change(self, invitation, score: int, *, at):
        survey_services.record_response(invitation=invitation, score=score, now=at)
        services.evaluate_pending(now=at + timedelta(minutes=1))

    def test_a_3_changed_to_4_shows_the_4_in_the_queue_the_reason_and_the_history(self, as_ana, ana):
        alert, invitation, start = self.raised(ana, 3)
        self.change(invitation, 4, at=start + timedelta(minutes=10))
        queue = as_ana.get(reverse("insights:alerts")).content.decode()
        assert "scored 4, first answer" in queue and "scored 3" not in queue
        page = as_ana.get(reverse("insights:alert", args=[alert.pk])).content.decode()
        assert "scored 4, first answer" in page
        assert "The customer changed their answer from 3 to 4 (at risk)." in page
        assert "Every version of the answer" in page

    def test_an_answer_leaving_the_at_risk_band_says_so_on_the_case(self, as_ana, ana):
        alert, invitation, start = self.raised(ana, 3)
        self.change(invitation, 8, at=start + timedelta(minutes=10))
        page = as_ana.get(reverse("insights:alert", args=[alert.pk])).content.decode()
        assert "No longer at risk:</strong> the customer changed their answer to 8 (satisfied)" in page
        assert "The alert stays open until you resolve it." in page
        assert 'action="' + reverse("insights:resolve", args=[alert.pk]) + '"' in page
        queue = as_ana.get(reverse("insights:alerts")).content.decode()
        assert "Answer changed: no longer at risk" in queue
