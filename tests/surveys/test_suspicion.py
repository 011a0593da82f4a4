from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from surveys import services
from surveys.models import SuspectReview
from surveys.suspicion import Version, current_burst, looks_automated, quiet_period, scores_seen
from tests.factories import UserFactory, sent_invitation

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def respond(invitation, score, *, after, comment=""):
    return services.record_response(
        invitation=invitation, score=score, comment=comment, now=invitation.sent_at + after
    )


def versions(start, *given):
    """Versions from (seconds after start, score) pairs."""
    return [Version(score, start + timedelta(seconds=seconds)) for seconds, score in given]


class TestTheRule:
    def test_the_quiet_period_is_the_setting(self, settings):
        settings.ANSWER_QUIET_MINUTES = 2.5
        assert quiet_period() == timedelta(minutes=2, seconds=30)

    def test_an_answer_seconds_after_the_email_left_is_suspect(self):
        sent = timezone.now()
        assert looks_automated(versions=versions(sent, (3, 7)), emailed_at=[sent, None])
        assert not looks_automated(versions=versions(sent, (15, 7)), emailed_at=[sent, None])

    def test_an_answer_seconds_after_the_reminder_left_is_suspect(self):
        sent = timezone.now() - timedelta(days=3)
        reminded = sent + timedelta(days=3)
        assert looks_automated(versions=versions(reminded, (4, 2)), emailed_at=[sent, reminded])

    def test_a_person_correcting_one_score_is_not_a_machine(self):
        start = timezone.now() - timedelta(hours=1)
        assert not looks_automated(versions=versions(start, (0, 8), (14, 2)), emailed_at=[start - timedelta(hours=1)])

    def test_three_different_scores_within_the_quiet_period_are_a_machine(self):
        start = timezone.now() - timedelta(hours=1)
        assert looks_automated(
            versions=versions(start, (0, 1), (1, 2), (2, 3)), emailed_at=[start - timedelta(hours=1)], quiet=MINUTE
        )
        # The same score again is no third score.
        assert not looks_automated(
            versions=versions(start, (0, 1), (1, 2), (2, 1)), emailed_at=[start - timedelta(hours=1)], quiet=MINUTE
        )

    def test_three_scores_each_under_a_minute_apart_but_spread_over_more_are_a_person(self):
        start = timezone.now() - timedelta(hours=1)
        assert not looks_automated(
            versions=versions(start, (0, 8), (50, 5), (100, 3)), emailed_at=[start - timedelta(hours=1)], quiet=MINUTE
        )

    def test_only_the_current_burst_is_judged(self):
        sent = timezone.now() - timedelta(hours=2)
        scanner = [Version(score, sent + timedelta(seconds=2 + score)) for score in range(1, 11)]
        person = Version(3, sent + timedelta(hours=1))
        assert looks_automated(versions=scanner, emailed_at=[sent])
        assert current_burst([*scanner, person], quiet=MINUTE) == [person]
        assert not looks_automated(versions=[*scanner, person], emailed_at=[sent], quiet=MINUTE)

    def test_the_scores_seen_are_the_bursts_each_once_in_order(self):
        start = timezone.now()
        given = versions(start, (0, 9), (600, 4), (601, 1), (602, 4), (603, 7))
        assert scores_seen(given, quiet=MINUTE) == [4, 1, 7]

    def test_with_no_quiet_period_only_the_email_rule_holds(self):
        start = timezone.now() - timedelta(hours=1)
        burst = versions(start, (0, 1), (1, 2), (2, 3))
        assert not looks_automated(versions=burst, emailed_at=[start - timedelta(hours=1)], quiet=timedelta(0))


class TestRecordedAnswers:
    def test_a_scanner_that_submits_every_form_is_kept_but_marked_suspect(self):
        invitation = sent_invitation()
        for score in range(1, 11):
            response = respond(invitation, score, after=timedelta(hours=1, seconds=score))
        assert response.is_suspect and response.score == 10
        assert scores_seen(services.answer_versions(response)) == list(range(1, 11))

    def test_an_answer_right_after_sending_is_kept_but_marked_suspect(self):
        response = respond(sent_invitation(), 1, after=timedelta(seconds=2))
        assert response.pk and response.is_suspect

    def test_a_correction_seconds_later_is_a_person(self):
        invitation = sent_invitation()
        respond(invitation, 8, after=timedelta(hours=1))
        response = respond(invitation, 2, after=timedelta(hours=1, seconds=14))
        assert not response.is_suspect and response.score == 2 and response.needs_evaluation

    def test_a_third_score_within_the_period_marks_the_answer(self):
        invitation = sent_invitation()
        respond(invitation, 8, after=timedelta(hours=1))
        respond(invitation, 2, after=timedelta(hours=1, seconds=5))
        response = respond(invitation, 5, after=timedelta(hours=1, seconds=9))
        assert response.is_suspect

    def test_a_person_answering_later_clears_the_mark(self):
        invitation = sent_invitation()
        respond(invitation, 1, after=timedelta(seconds=2))
        response = respond(invitation, 4, after=timedelta(hours=2))
        assert not response.is_suspect

    def test_the_same_score_confirmed_later_clears_the_mark_and_restarts_the_wait(self):
        invitation = sent_invitation()
        respond(invitation, 3, after=timedelta(seconds=2))
        response = respond(invitation, 3, after=timedelta(hours=2))
        assert not response.is_suspect and response.needs_evaluation
        assert response.submitted_at == invitation.sent_at + timedelta(hours=2)
        assert response.revisions == 0

    def test_the_same_score_again_within_the_period_changes_nothing(self):
        invitation = sent_invitation()
        respond(invitation, 3, after=timedelta(seconds=2))
        response = respond(invitation, 3, after=timedelta(seconds=30))
        assert response.is_suspect and response.submitted_at == invitation.sent_at + timedelta(seconds=2)

    def test_an_unchanged_answer_adds_no_revision(self):
        invitation = sent_invitation()
        respond(invitation, 8, after=timedelta(hours=1), comment="Fine")
        response = respond(invitation, 8, after=timedelta(hours=2), comment="Fine")
        assert response.revisions == 0 and response.history.count() == 0


class TestReview:
    def test_confirming_clears_the_mark_and_leaves_the_answer_to_be_evaluated(self):
        person = UserFactory()
        response = respond(sent_invitation(), 2, after=timedelta(seconds=2))
        services.review_suspect_answer(response_id=response.pk, user=person, confirmed=True)
        response.refresh_from_db()
        assert (response.is_suspect, response.needs_evaluation) == (False, True)
        assert (response.suspect_review, response.suspect_reviewed_by) == (SuspectReview.CONFIRMED, person)

    def test_dismissing_keeps_the_mark_and_never_evaluates(self):
        response = respond(sent_invitation(), 2, after=timedelta(seconds=2))
        services.review_suspect_answer(response_id=response.pk, user=UserFactory(), confirmed=False)
        response.refresh_from_db()
        assert (response.is_suspect, response.needs_evaluation, response.suspect_review) == (
            True,
            False,
            SuspectReview.DISMISSED,
        )

    def test_deciding_twice_is_refused(self):
        response = respond(sent_invitation(), 2, after=timedelta(seconds=2))
        services.review_suspect_answer(response_id=response.pk, user=UserFactory(), confirmed=False)
        with pytest.raises(services.AnswerAlreadyReviewed):
            services.review_suspect_answer(response_id=response.pk, user=UserFactory(), confirmed=True)

    def test_a_new_change_clears_the_decision(self):
        invitation = sent_invitation()
        response = respond(invitation, 2, after=timedelta(seconds=2))
        services.review_suspect_answer(response_id=response.pk, user=UserFactory(), confirmed=False)
        response = respond(invitation, 4, after=timedelta(hours=1))
        assert (response.is_suspect, response.suspect_review, response.suspect_reviewed_at) == (False, "", None)
