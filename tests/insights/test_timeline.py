"""The customer's whole story: what the timeline holds, its order, its pages, its cost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import DeliveryEvent
from customers.models import OptOutReason
from insights.alerts import services
from insights.models import AlertNote, AtRiskClosure, NoteKind
from insights.timeline import queries as timeline
from tests.factories import (
    AlertFactory,
    ContactFactory,
    CustomerFactory,
    DeliveryFactory,
    StaffFactory,
    UserFactory,
    answer_at,
)

pytestmark = pytest.mark.django_db


def _event(email, when, event_type="bounced", **fields):
    return DeliveryEvent.objects.create(
        esp="Postmark", event_id=f"{event_type}-{email}-{when.timestamp()}", digest="x" * 64,
        event_type=event_type, recipient=email.lower(), occurred_at=when, **fields,
    )


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def story(now):
    """One customer's story of each kind, an hour apart, oldest first."""
    customer = CustomerFactory(tier=1)
    contact = ContactFactory(customer=customer, email="Ada@Example.com", name="Ada")
    hour = timedelta(hours=1)
    delivery = DeliveryFactory(customer=customer, contact=contact, delivered_at=now - 8 * hour, reference="ORD-1")
    answer = answer_at(customer, 3, now - 7 * hour, comment="Late again", invitation__delivery=delivery)
    alert = AlertFactory(customer=customer, response=answer, created_at=now - 6 * hour)
    AlertNote.objects.create(alert=alert, kind=NoteKind.NOTE, text="Called them", created_at=now - 5 * hour)
    _event("ada@example.com", now - 4 * hour)
    _event("ada@example.com", now - 3 * hour, event_type="delivered")  # not told
    AtRiskClosure.objects.create(customer=customer, response=answer, closed_by=StaffFactory(), reason="Agreed a plan",
                                 closed_at=now - 2 * hour)
    ContactFactory(customer=customer, email="bo@example.com", opted_out=True, opted_out_at=now - hour,
                   opt_out_reason=OptOutReason.UNSUBSCRIBED)
    ContactFactory(customer=customer, opted_out=True, opted_out_at=now - hour, opt_out_reason=OptOutReason.COMPLAINED)
    # Another customer's story is not this one's.
    AlertFactory(customer=CustomerFactory())
    _event("someone@elsewhere.example", now)
    return customer


class TestTimelineAssembly:
    def test_it_holds_every_kind_newest_first(self, story):
        page = timeline.timeline_page(customer=story, number=1)
        assert [entry.kind for entry in page.entries] == [
            "opt_out", "closure", "email_event", "alert", "answer", "delivery",
        ]
        assert not page.has_next and not page.has_previous

    def test_an_answer_names_its_contact_and_comment(self, story):
        answer = next(e for e in timeline.timeline_page(customer=story, number=1).entries if e.kind == "answer")
        assert answer.item.invitation.contact.name == "Ada"
        assert answer.item.comment == "Late again"

    def test_an_alert_carries_its_notes(self, story):
        alert = next(e for e in timeline.timeline_page(customer=story, number=1).entries if e.kind == "alert")
        assert [note.text for note in alert.item.notes.all()] == ["Called them"]

    def test_an_email_event_is_matched_to_its_contact_whatever_the_case(self, story):
        event = next(e for e in timeline.timeline_page(customer=story, number=1).entries if e.kind == "email_event")
        assert event.contact.name == "Ada"

    def test_entries_at_one_moment_keep_one_order(self, now):
        customer = CustomerFactory()
        first, second = answer_at(customer, 9, now), answer_at(customer, 8, now)
        page = timeline.timeline_page(customer=customer, number=1)
        assert [entry.item.pk for entry in page.entries if entry.kind == "answer"] == [second.pk, first.pk]

    def test_an_empty_story_has_one_empty_page(self):
        page = timeline.timeline_page(customer=CustomerFactory(), number=1)
        assert page.entries == [] and not page.has_next


class TestTimelinePages:
    def test_pages_split_the_story_without_overlap(self, now):
        customer = CustomerFactory()
        for minutes in range(25):
            answer_at(customer, 9, now - timedelta(minutes=minutes))
        first = timeline.timeline_page(customer=customer, number=1, per_page=10)
        last = timeline.timeline_page(customer=customer, number=5, per_page=10)
        # Each answer comes with its delivery: 50 entries, 10 on the last page.
        assert first.has_next and not first.has_previous
        assert not last.has_next and last.has_previous and len(last.entries) == 10
        seen = [
            (entry.kind, entry.item.pk)
            for number in range(1, 6)
            for entry in timeline.timeline_page(customer=customer, number=number, per_page=10).entries
        ]
        assert len(seen) == len(set(seen)) == 50

    def test_a_page_costs_the_same_queries_however_long_the_story(self, story, now, django_assert_num_queries):
        for minutes in range(30):
            when = now - timedelta(minutes=minutes)
            alert = AlertFactory(
                customer=story, created_at=when, response__submitted_at=when,
                response__invitation__delivery__delivered_at=when,
            )
            AlertNote.objects.create(alert=alert, author=UserFactory(), text="noted")
        # The UNION; then per kind on the page: alerts and their notes (2), answers, deliveries.
        with django_assert_num_queries(5):
            page = timeline.timeline_page(customer=story, number=1)
            for entry in page.entries:
                if entry.kind == "alert":
                    [note.author for note in entry.item.notes.all()]
        assert len(page.entries) == timeline.ENTRIES_PER_PAGE
