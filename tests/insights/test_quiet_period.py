"""The answer rule: an answer is acted on once it has been quiet for its period; a
machine's burst waits for a person (possible scanner); the alert follows the latest answer."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.test import TestCase
from django.utils import timezone

from core.models import OutgoingMessage
from customers.models import Customer
from insights.alerts import rules, services
from insights.models import Alert, AlertKind, AlertNote, AlertStatus, NoteKind
from surveys import services as survey_services
from surveys.models import Invitation, Response, hash_token
from tests.factories import CustomerFactory, UserFactory, sent_invitation

pytestmark = pytest.mark.django_db

TOKENS = iter(f"quiet-period-token-{n:04d}-abcdefghijkl" for n in range(10_000))
SECOND = timedelta(seconds=1)


def customer(*, tier: int | None = 3) -> Customer:
    return CustomerFactory(tier=tier, revenue_12m=Decimal("50000.00"), on_time_rate=0.8)


def invitation_for(someone: Customer, *, sent_at: datetime | None = None) -> Invitation:
    return sent_invitation(
        token=next(TOKENS),
        sent_at=sent_at or timezone.now() - timedelta(days=1),
        delivery__customer=someone,
        delivery__contact__customer=someone,
    )


def answer(invitation: Invitation, score: int, *, at: datetime) -> Response:
    return survey_services.record_response(invitation=invitation, score=score, now=at)


def sweep(*, at: datetime) -> int:
    return services.evaluate_pending(now=at)


def notifications() -> int:
    return OutgoingMessage.objects.filter(kind=services.NOTIFICATION_MESSAGE).count()


class TestQuietPeriod:
    def test_a_person_who_answers_8_and_corrects_to_2_gets_one_alert_about_the_2_a_minute_later(self):
        invitation = invitation_for(customer())
        t0 = timezone.now() - timedelta(hours=1)
        answer(invitation, 8, at=t0)
        corrected = answer(invitation, 2, at=t0 + 14 * SECOND)

        assert sweep(at=t0 + 14 * SECOND + 59 * SECOND) == 0
        assert sweep(at=t0 + 14 * SECOND + 60 * SECOND) == 1

        alert = Alert.objects.get()
        assert (alert.response, alert.kind, alert.score, alert.previous_score) == (corrected, AlertKind.AT_RISK, 2, None)
        assert alert.created_at == t0 + 74 * SECOND
        assert rules.rank_reason(alert).endswith("scored 2, first answer; pays 80% of invoices on time.")
        assert notifications() == 1
        assert not alert.notes.exists()  # raised on the final answer: nothing to correct

    def test_an_at_risk_answer_waits_for_its_quiet_period(self):
        invitation = invitation_for(customer())
        t0 = timezone.now() - timedelta(hours=1)
        response = answer(invitation, 3, at=t0)
        assert services.evaluate_response(response_id=response.pk, now=t0 + 59 * SECOND) == []
        (alert,) = services.evaluate_response(response_id=response.pk, now=t0 + 60 * SECOND)
        assert alert.score == 3

    def test_a_correction_restarts_the_period(self):
        invitation = invitation_for(customer())
        t0 = timezone.now() - timedelta(hours=1)
        answer(invitation, 3, at=t0)
        answer(invitation, 3, at=t0)  # the same again: no change
        answer(invitation, 4, at=t0 + 50 * SECOND)
        assert sweep(at=t0 + 61 * SECOND) == 0
        assert sweep(at=t0 + 110 * SECOND) == 1
        assert Alert.objects.get().score == 4

    def test_the_period_is_a_setting(self, settings):
        settings.ANSWER_QUIET_MINUTES = 5
        invitation = invitation_for(customer())
        t0 = timezone.now() - timedelta(hours=1)
        answer(invitation, 1, at=t0)
        assert sweep(at=t0 + timedelta(minutes=4, seconds=59)) == 0
        assert sweep(at=t0 + timedelta(minutes=5)) == 1

    def test_the_recorded_answer_queues_its_evaluation_for_when_the_period_ends(self, monkeypatch):
        queued = []
        monkeypatch.setattr("insights.receivers.enqueue", lambda task, *args, **options: queued.append((args, options)))
        response = answer(invitation_for(customer()), 2, at=timezone.now())
        assert queued == []  # not before the answer is committed
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = answer(response.invitation, 3, at=timezone.now())
        assert queued == [((response.pk,), {"countdown": 60.05})]


class TestScanners:
    def test_a_scanner_that_clicks_every_link_and_submits_every_form_raises_no_alert(self, client):
        invitation = invitation_for(customer(tier=1), sent_at=timezone.now() - 3 * SECOND)
        token = "quiet-scanner-token-abcdefghijklmnop"
        Invitation.objects.filter(pk=invitation.pk).update(token_hash=hash_token(token))
        for score in range(1, 11):
            assert client.get(f"/s/{token}/?score={score}").status_code == 200
        for score in range(1, 11):
            client.post(f"/s/{token}/", {"score": score})

        response = Response.objects.get()
        assert response.is_suspect and response.revisions == 9
        assert sweep(at=timezone.now() + timedelta(minutes=1)) == 0
        assert sweep(at=timezone.now() + timedelta(days=1)) == 0
        assert Alert.objects.count() == 0 and notifications() == 0

    def test_a_burst_of_five_scores_within_seconds_never_alerts_on_its_first(self):
        invitation = invitation_for(customer())
        t0 = timezone.now() - timedelta(hours=1)
        for offset, score in enumerate([2, 7, 4, 9, 1]):
            answer(invitation, score, at=t0 + offset * SECOND)
            assert sweep(at=t0 + offset * SECOND) == 0
        assert Response.objects.get().is_suspect
        assert sweep(at=t0 + timedelta(hours=1)) == 0
        assert Alert.objects.count() == 0

    def test_confirming_a_possible_scanner_raises_the_alert_on_the_latest_score(self):
        manager = UserFactory(first_name="Ana", last_name="Garcia")
        someone = customer(tier=2)
        someone.account_manager = manager
        someone.save()
        invitation = invitation_for(someone)
        t0 = timezone.now() - timedelta(hours=1)
        for offset, score in enumerate([5, 1, 3]):
            response = answer(invitation, score, at=t0 + offset * SECOND)

        (alert,) = services.confirm_possible_scanner(response_id=response.pk, user=manager)

        assert (alert.score, alert.assignee, alert.priority) == (3, manager, 2)
        (note,) = alert.notes.all()
        assert (note.kind, note.author) == (NoteKind.CONFIRMED, manager)
        assert note.text == "Confirmed as a person's answer, not a mail scanner's clicks (scores seen: 5, 1, 3)."
        assert notifications() == 1
        assert sweep(at=timezone.now() + timedelta(hours=1)) == 0

    def test_dismissing_a_possible_scanner_raises_nothing_ever(self):
        invitation = invitation_for(customer())
        response = answer(invitation, 2, at=invitation.sent_at + 2 * SECOND)
        services.dismiss_possible_scanner(response_id=response.pk, user=UserFactory())
        assert sweep(at=timezone.now() + timedelta(days=1)) == 0
        assert Alert.objects.count() == 0

    def test_a_person_answering_after_the_scanner_is_heard(self):
        invitation = invitation_for(customer())
        for score in (1, 2, 3):
            answer(invitation, score, at=invitation.sent_at + score * SECOND)
        later = invitation.sent_at + timedelta(hours=2)
        answer(invitation, 4, at=later)
        assert sweep(at=later + timedelta(minutes=1)) == 1
        assert Alert.objects.get().score == 4


class TestTheAlertFollowsTheLatestAnswer:
    def raised(self, score: int, *, someone: Customer | None = None) -> tuple[Alert, Invitation, datetime]:
        invitation = invitation_for(someone or customer())
        t0 = timezone.now() - timedelta(hours=1)
        answer(invitation, score, at=t0)
        assert sweep(at=t0 + timedelta(minutes=1)) == 1
        return Alert.objects.get(), invitation, t0 + timedelta(minutes=1)

    def change(self, invitation: Invitation, score: int, *, at: datetime) -> None:
        answer(invitation, score, at=at)
        sweep(at=at + timedelta(minutes=1))

    def test_a_3_changed_to_4_shows_the_4_and_records_the_change(self):
        alert, invitation, now = self.raised(3)
        self.change(invitation, 4, at=now + timedelta(minutes=5))
        alert.refresh_from_db()
        assert (alert.score, alert.answer_recovered_at) == (4, None)
        assert "scored 4, first answer" in rules.rank_reason(alert)
        assert list(alert.notes.values_list("kind", "text")) == [
            (NoteKind.REVISED, "The customer changed their answer from 3 to 4 (at risk).")
        ]
        assert notifications() == 1  # the change is in the history; no second email

    def test_every_change_is_in_the_history(self):
        alert, invitation, now = self.raised(3)
        self.change(invitation, 4, at=now + timedelta(minutes=5))
        self.change(invitation, 2, at=now + timedelta(minutes=10))
        assert list(alert.notes.values_list("text", flat=True)) == [
            "The customer changed their answer from 3 to 4 (at risk).",
            "The customer changed their answer from 4 to 2 (at risk).",
        ]

    def test_an_answer_leaving_the_at_risk_band_says_so_and_the_case_stays_open(self):
        alert, invitation, now = self.raised(3)
        self.change(invitation, 8, at=now + timedelta(minutes=5))
        alert.refresh_from_db()
        assert alert.status == AlertStatus.OPEN and alert.answer_recovered_at is not None
        assert rules.rank_reason(alert).endswith("the changed answer is no longer at risk.")
        assert alert.notes.get().text == (
            "The customer changed their answer from 3 to 8 (satisfied): no longer at risk. "
            "The alert stays open until someone resolves it."
        )

        self.change(invitation, 2, at=now + timedelta(minutes=10))
        alert.refresh_from_db()
        assert alert.answer_recovered_at is None and alert.score == 2

    def test_a_resolved_alert_still_follows_and_stays_resolved(self):
        alert, invitation, now = self.raised(3)
        services.resolve(alert=alert, user=UserFactory(), note="Called them")
        self.change(invitation, 9, at=now + timedelta(minutes=5))
        alert.refresh_from_db()
        assert (alert.status, alert.score) == (AlertStatus.RESOLVED, 9)
        assert alert.notes.filter(kind=NoteKind.REVISED).get().text == (
            "The customer changed their answer from 3 to 9 (promoter): no longer at risk."
        )

    def test_a_high_value_at_risk_answer_changed_to_a_sharp_fall_becomes_a_decline_alert(self):
        big = customer(tier=1)
        earlier = invitation_for(big)
        answer(earlier, 10, at=timezone.now() - timedelta(days=1))
        sweep(at=timezone.now())
        alert, invitation, now = self.raised(3, someone=big)
        assert (alert.kind, alert.priority, alert.previous_score) == (AlertKind.AT_RISK, 1, 10)

        self.change(invitation, 7, at=now + timedelta(minutes=5))
        alert.refresh_from_db()
        assert (alert.kind, alert.priority, alert.score, Alert.objects.count()) == (AlertKind.DECLINE, 2, 7, 1)
        assert "scored 7, down from 10" in rules.rank_reason(alert)
        assert AlertNote.objects.get().text == (
            "The customer changed their answer from 3 to 7 (satisfied). It is now a decline alert, high priority."
        )

        self.change(invitation, 2, at=now + timedelta(minutes=10))
        alert.refresh_from_db()
        assert (alert.kind, alert.priority, alert.score, Alert.objects.count()) == (AlertKind.AT_RISK, 1, 2, 1)

    def test_a_comment_added_later_changes_nothing_on_the_alert(self):
        alert, invitation, now = self.raised(3)
        survey_services.record_response(invitation=invitation, score=3, comment="Late again", now=now)
        assert sweep(at=now + timedelta(minutes=1)) == 0
        assert not alert.notes.exists()
