from __future__ import annotations

import pytest

from insights.alerts import services
from insights.models import AlertStatus, NoteKind
from tests.factories import UserFactory
from tests.insights.test_evaluation import answer, customer, evaluate

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert():
    (alert,) = evaluate(answer(customer(manager=UserFactory()), 2))
    return alert


def test_acknowledging_records_who_and_when(alert):
    alert = services.acknowledge(alert=alert, user=alert.assignee, note="Calling them today.")
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_at
    (note,) = alert.notes.all()
    assert (note.kind, note.author, note.text) == (NoteKind.ACKNOWLEDGED, alert.assignee, "Calling them today.")


def test_acknowledging_twice_says_why_not(alert):
    services.acknowledge(alert=alert, user=alert.assignee)
    with pytest.raises(services.AlertChangeError, match="already acknowledged"):
        services.acknowledge(alert=alert, user=alert.assignee)


def test_resolving_needs_a_note(alert):
    with pytest.raises(services.AlertChangeError, match="resolution note is required"):
        services.resolve(alert=alert, user=alert.assignee, note="  ")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_resolving_closes_the_alert_with_the_note(alert):
    alert = services.resolve(alert=alert, user=alert.assignee, note="Refunded the late fee.")
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_at and alert.acknowledged_at
    assert alert.notes.get(kind=NoteKind.RESOLVED).text == "Refunded the late fee."


def test_reassigning_notes_it_and_notifies_the_new_assignee_again(alert):
    alert.notified_at = alert.created_at
    alert.save()
    colleague = UserFactory(first_name="Ben", last_name="Okafor")
    alert = services.reassign(alert=alert, user=alert.assignee, assignee=colleague, reason="On leave")
    assert alert.assignee == colleague and alert.notified_at is None
    assert alert.notes.get(kind=NoteKind.REASSIGNED).text == "Reassigned to Ben Okafor: On leave"


def test_a_blank_note_is_refused(alert):
    with pytest.raises(services.AlertChangeError):
        services.add_note(alert=alert, user=alert.assignee, text="\n ")
