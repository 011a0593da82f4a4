from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from surveys import services
from surveys.suspicion import looks_automated
from tests.factories import sent_invitation

pytestmark = pytest.mark.django_db


def respond(invitation, score, *, after, comment=""):
    return services.record_response(
        invitation=invitation, score=score, comment=comment, now=invitation.sent_at + after
    )


class TestLooksAutomated:
    def test_an_answer_seconds_after_sending_is_suspect(self):
        sent = timezone.now()
        assert looks_automated(score=7, answered_at=sent + timedelta(seconds=3), sent_at=sent)
        assert not looks_automated(score=7, answered_at=sent + timedelta(seconds=15), sent_at=sent)

    def test_two_different_scores_within_a_minute_are_suspect(self):
        sent = timezone.now() - timedelta(hours=1)
        first = sent + timedelta(minutes=30)
        assert looks_automated(
            score=2, answered_at=first + timedelta(seconds=59), sent_at=sent, previous_score=9, previous_answered_at=first
        )
        assert not looks_automated(
            score=2, answered_at=first + timedelta(minutes=1), sent_at=sent, previous_score=9, previous_answered_at=first
        )
        assert not looks_automated(
            score=9, answered_at=first + timedelta(seconds=5), sent_at=sent, previous_score=9, previous_answered_at=first
        )


class TestSuspectAnswers:
    def test_an_answer_right_after_sending_is_kept_but_marked_suspect(self):
        response = respond(sent_invitation(), 1, after=timedelta(seconds=2))
        assert response.pk and response.is_suspect

    def test_a_burst_of_different_scores_is_marked_suspect(self):
        invitation = sent_invitation()
        respond(invitation, 9, after=timedelta(hours=1))
        response = respond(invitation, 1, after=timedelta(hours=1, seconds=20))
        assert response.is_suspect and response.score == 1

    def test_a_stable_answer_later_clears_the_mark(self):
        invitation = sent_invitation()
        respond(invitation, 1, after=timedelta(seconds=2))
        response = respond(invitation, 4, after=timedelta(hours=2))
        assert not response.is_suspect

    def test_the_same_score_confirmed_later_clears_the_mark(self):
        invitation = sent_invitation()
        respond(invitation, 3, after=timedelta(seconds=2))
        response = respond(invitation, 3, after=timedelta(hours=2))
        assert not response.is_suspect
        assert response.revisions == 0

    def test_an_unchanged_answer_adds_no_revision(self):
        invitation = sent_invitation()
        respond(invitation, 8, after=timedelta(hours=1), comment="Fine")
        response = respond(invitation, 8, after=timedelta(hours=2), comment="Fine")
        assert response.revisions == 0 and response.history.count() == 0
