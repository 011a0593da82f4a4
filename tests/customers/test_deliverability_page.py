"""The staff's deliverability page: what was sent and what became of it, day by day, the
addresses no survey goes to, and re-enabling one."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from auditlog.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from core.models import DeliveryEvent, OutgoingMessage
from customers.models import Contact
from customers.queries import DeliveryDay
from tests.factories import ContactFactory, CustomerFactory, SentMessageFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("customers:deliverability")
REENABLE_URL = reverse("customers:reenable")


@pytest.fixture
def staff(client):
    user = StaffFactory(username="cx.lead")
    client.force_login(user)
    return user


def at(day_offset: int, hour: int = 12) -> datetime:
    """A time `day_offset` days from today (negative: before), in TIME_ZONE."""
    day = timezone.localdate() + timedelta(days=day_offset)
    return datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())


def delivery_event(event_type: str, when: datetime, *, bounce: str = "", recipient: str = "jane@example.com"):
    return DeliveryEvent.objects.create(
        esp="Postmark", event_type=event_type, bounce=bounce, recipient=recipient, occurred_at=when,
        digest=f"{event_type}{when.isoformat()}{recipient}",
    )


def bounced(contact: Contact, when=None, reason="bounced") -> Contact:
    Contact.objects.filter(pk=contact.pk).update(undeliverable_at=when or timezone.now(), undeliverable_reason=reason)
    return Contact.objects.get(pk=contact.pk)


def complained(contact: Contact, when=None) -> Contact:
    Contact.objects.filter(pk=contact.pk).update(
        opted_out=True, opted_out_at=when or timezone.now(), opt_out_reason="complained"
    )
    return Contact.objects.get(pk=contact.pk)


class TestAccess:
    def test_it_sends_anonymous_visitors_to_log_in(self, client):
        response = client.get(URL)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_account_managers_get_the_not_for_your_account_page(self, client):
        client.force_login(UserFactory())
        response = client.get(URL)
        assert response.status_code == 403
        assert "This page is not for your account" in response.content.decode()
        assert "The deliverability page is for staff." in response.content.decode()

    def test_staff_see_it_and_find_it_in_the_navigation(self, client, staff):
        response = client.get(URL)
        assert response.status_code == 200
        assert f'<a href="{URL}" aria-current="page">Deliverability</a>' in response.content.decode()

    def test_account_managers_find_no_link_to_it(self, client):
        client.force_login(UserFactory())
        assert URL not in client.get(reverse("customers:list")).content.decode()

    def test_it_needs_nothing_from_elsewhere_and_no_script(self, client, staff):
        html = client.get(URL).content.decode()
        assert "https://" not in html and "http://" not in html
        assert "hx-post" not in html and "onclick" not in html


class TestDayByDay:
    def test_it_counts_each_of_the_last_30_days_from_the_outbox_and_the_providers_events(self, client, staff):
        SentMessageFactory.create_batch(2, sent_at=at(0, hour=9))
        SentMessageFactory(sent_at=at(-1))
        SentMessageFactory(sent_at=at(-30))  # a day too old
        SentMessageFactory(status=OutgoingMessage.Status.FAILED, sent_at=None)  # failed today
        SentMessageFactory(status=OutgoingMessage.Status.QUEUED, sent_at=None)
        delivery_event("delivered", at(-1))
        delivery_event("delivered", at(-1), recipient="joe@example.com")
        delivery_event("bounced", at(-1), bounce="hard")
        delivery_event("bounced", at(-1), bounce="soft", recipient="joe@example.com")  # not a bounce of the address
        delivery_event("complained", at(0))
        days = client.get(URL).context["days"]
        assert len(days) == 30
        assert days[0] == DeliveryDay(day=timezone.localdate(), sent=2, complained=1, failed=1)
        assert days[1] == DeliveryDay(day=timezone.localdate() - timedelta(days=1), sent=1, delivered=2, bounced=1)
        assert all(day == DeliveryDay(day=day.day) for day in days[2:])

    def test_the_totals_add_up_the_days(self, client, staff):
        SentMessageFactory.create_batch(3, sent_at=at(-2))
        delivery_event("bounced", at(-5), bounce="hard")
        totals = client.get(URL).context["totals"]
        assert totals == {"sent": 3, "delivered": 0, "bounced": 1, "complained": 0, "failed": 0}

    def test_days_are_the_days_of_the_sites_time_zone(self, client, staff, settings):
        settings.TIME_ZONE = "America/New_York"
        today = timezone.localdate()
        # 02:00 UTC today is still yesterday evening in New York.
        early = datetime.combine(datetime.now(tz=timezone.get_fixed_timezone(0)).date(), time(2),
                                 tzinfo=timezone.get_fixed_timezone(0))
        SentMessageFactory(sent_at=early)
        days = {day.day: day for day in client.get(URL).context["days"]}
        assert days[timezone.localtime(early).date()].sent == 1
        assert today in days

    def test_it_shows_the_table(self, client, staff):
        SentMessageFactory(sent_at=at(0))
        html = client.get(URL).content.decode()
        assert 'id="delivery-days"' in html
        assert '<td class="num">1</td>' in html

    @pytest.mark.parametrize("count", [2, 30])
    def test_it_makes_the_same_number_of_queries_whatever_the_volume(
        self, client, staff, django_assert_num_queries, count
    ):
        for index in range(count):
            SentMessageFactory(sent_at=at(-(index % 20)))
            delivery_event("delivered", at(-(index % 20)), recipient=f"person{index}@example.com")
            bounced(ContactFactory())
        # session, user, open alerts in the navigation, a sending pause, three figures, the
        # list's count and page
        with django_assert_num_queries(9):
            client.get(URL)


class TestSuppressionList:
    def test_it_lists_undeliverable_and_complained_contacts_with_why_and_since(self, client, staff):
        acme = CustomerFactory(name="Acme")
        bounced(ContactFactory(customer=acme, email="gone@acme.test"), when=at(-3))
        bounced(ContactFactory(customer=acme, email="full@acme.test"), when=at(-2), reason="soft_bounces")
        complained(ContactFactory(customer=acme, email="angry@acme.test"), when=at(-1))
        ContactFactory(customer=acme, email="fine@acme.test")
        Contact.objects.filter(pk=ContactFactory(customer=acme, email="left@acme.test").pk).update(
            opted_out=True, opted_out_at=timezone.now(), opt_out_reason="unsubscribed"
        )
        response = client.get(URL)
        assert [contact.email for contact in response.context["page"]] == [
            "angry@acme.test", "full@acme.test", "gone@acme.test"
        ]
        html = response.content.decode()
        for text in ("Hard bounce", "Repeated soft bounces", "Complained", "Acme", at(-3).strftime("%-d %b %Y")):
            assert text in html, text

    def test_bounced_addresses_can_be_re_enabled_complained_ones_only_from_the_admin(self, client, staff):
        gone = bounced(ContactFactory(email="gone@acme.test"))
        angry = complained(ContactFactory(email="angry@acme.test"))
        html = client.get(URL).content.decode()
        assert '<input type="hidden" name="email" value="gone@acme.test">' in html
        assert '<input type="hidden" name="email" value="angry@acme.test">' not in html
        assert reverse("admin:customers_contact_change", args=[angry.pk]) in html
        assert gone.pk

    def test_it_shows_fifty_a_page(self, client, staff):
        for index in range(51):
            bounced(ContactFactory(email=f"gone{index}@example.com"), when=timezone.now() - timedelta(minutes=index))
        first = client.get(URL)
        assert len(first.context["page"].object_list) == 50
        second = client.get(URL, {"page": 2})
        assert [contact.email for contact in second.context["page"]] == ["gone50@example.com"]

    def test_search_finds_an_address_or_a_customer(self, client, staff):
        bounced(ContactFactory(email="gone@acme.test", customer=CustomerFactory(name="Acme")))
        bounced(ContactFactory(email="lost@globex.test", customer=CustomerFactory(name="Globex")))
        assert [c.email for c in client.get(URL, {"q": "GONE@"}).context["page"]] == ["gone@acme.test"]
        assert [c.email for c in client.get(URL, {"q": "globex"}).context["page"]] == ["lost@globex.test"]

    def test_an_empty_list_says_every_email_can_go(self, client, staff):
        assert "No address is suppressed" in client.get(URL).content.decode()


class TestReenabling:
    def test_staff_re_enable_an_address_for_every_contact_with_it(self, client, staff):
        contacts = [bounced(ContactFactory(email="Gone@Acme.test")), bounced(ContactFactory(email="gone@acme.test"))]
        response = client.post(REENABLE_URL, {"email": "gone@acme.test"})
        assert (response.status_code, response["Location"]) == (303, URL)
        for contact in contacts:
            contact.refresh_from_db()
            assert (contact.unreachable_reason, contact.reenabled_at is not None) == ("", True)
        assert LogEntry.objects.filter(actor=staff).count() == 2
        assert "gone@acme.test is deliverable again for 2 contacts." in client.get(URL).content.decode()

    def test_it_goes_back_to_where_the_list_stood(self, client, staff):
        bounced(ContactFactory(email="gone@acme.test"))
        response = client.post(REENABLE_URL, {"email": "gone@acme.test", "q": "acme", "page": "2"})
        assert response["Location"] == f"{URL}?q=acme&page=2"

    def test_an_address_that_was_not_undeliverable_changes_nothing(self, client, staff):
        contact = complained(ContactFactory(email="angry@acme.test"))
        client.post(REENABLE_URL, {"email": "angry@acme.test"})
        contact.refresh_from_db()
        assert contact.unreachable_reason == "complained"
        assert "angry@acme.test was not marked undeliverable." in client.get(URL).content.decode()

    def test_a_malformed_address_is_refused_with_a_message(self, client, staff):
        response = client.post(REENABLE_URL, {"email": "not an address"}, follow=True)
        assert "That is not an address that can be re-enabled." in response.content.decode()

    def test_it_is_a_post(self, client, staff):
        assert client.get(REENABLE_URL, {"email": "gone@acme.test"}).status_code == 405

    def test_account_managers_cannot_re_enable(self, client):
        contact = bounced(ContactFactory(email="gone@acme.test"))
        client.force_login(UserFactory())
        assert client.post(REENABLE_URL, {"email": "gone@acme.test"}).status_code == 403
        contact.refresh_from_db()
        assert contact.unreachable_reason == "bounced"

    def test_anonymous_visitors_cannot_re_enable(self, client):
        contact = bounced(ContactFactory(email="gone@acme.test"))
        assert client.post(REENABLE_URL, {"email": "gone@acme.test"}).status_code == 302
        contact.refresh_from_db()
        assert contact.unreachable_reason == "bounced"
