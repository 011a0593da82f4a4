"""Issue 14, items 6 and 7: the customer's timeline page, the customers at risk,
reassigning with a reason, reopening, searching the queue and acknowledging in bulk."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core import outbox
from insights.alerts import queries, services
from insights.models import AlertNote, AlertStatus, AtRiskClosure, NoteKind
from tests.factories import (
    AlertFactory,
    ContactFactory,
    CustomerFactory,
    StaffFactory,
    UserFactory,
    answer_at,
)

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def ana():
    return UserFactory(username="ana", first_name="Ana", last_name="Manager")


@pytest.fixture
def ben():
    user = UserFactory(username="ben", first_name="Ben", last_name="Other")
    CustomerFactory(account_manager=user)  # an account manager, to whom alerts may go
    return user


@pytest.fixture
def lead():
    return StaffFactory(username="cx", first_name="Cleo", last_name="Lead")


@pytest.fixture
def big(ana):
    """Ana's tier 1 customer."""
    return CustomerFactory(name="Bigco", account_manager=ana, tier=1, revenue_12m=Decimal("900000"))


def ago(hours: float):
    return timezone.now() - timedelta(hours=hours)


def at_risk() -> list[str]:
    return [customer.name for customer in queries.customers_at_risk()]


class TestCustomersAtRiskRule:
    def test_a_tier_1_customer_whose_latest_answer_is_at_risk_is_listed(self, big):
        answer = answer_at(big, 3, ago(2))
        (listed,) = queries.customers_at_risk()
        assert (listed.name, listed.at_risk_answer, listed.at_risk_score) == ("Bigco", answer.pk, 3)

    def test_it_stays_listed_when_its_alerts_are_resolved(self, big, ana):
        alert = AlertFactory(customer=big, response=answer_at(big, 3, ago(2)))
        services.resolve(alert=alert, user=ana, note="Called them.")
        assert at_risk() == ["Bigco"]

    def test_a_better_answer_takes_it_off(self, big):
        answer_at(big, 3, ago(2))
        answer_at(big, 7, ago(1))
        assert at_risk() == []

    def test_a_suspect_answer_neither_lists_it_nor_takes_it_off(self, big):
        answer_at(big, 3, ago(3))
        answer_at(big, 10, ago(2), is_suspect=True)  # a scanner's click
        assert at_risk() == ["Bigco"]
        other = CustomerFactory(tier=1)
        answer_at(other, 8, ago(3))
        answer_at(other, 1, ago(2), is_suspect=True)
        assert at_risk() == ["Bigco"]

    def test_only_tier_1_and_active_customers_are_listed(self):
        answer_at(CustomerFactory(tier=2), 2, ago(1))
        answer_at(CustomerFactory(tier=1, is_active=False), 2, ago(1))
        answer_at(CustomerFactory(tier=None), 2, ago(1))
        assert at_risk() == []

    def test_staff_closing_it_with_a_reason_takes_it_off_until_the_next_at_risk_answer(self, big, lead):
        answer = answer_at(big, 3, ago(3))
        closure = services.close_at_risk(customer=big, user=lead, reason="New contract signed.")
        assert (closure.response, closure.closed_by, closure.reason) == (answer, lead, "New contract signed.")
        assert at_risk() == []
        answer_at(big, 2, ago(1))
        assert at_risk() == ["Bigco"]

    def test_closing_needs_a_reason_and_a_customer_at_risk(self, big, lead):
        with pytest.raises(services.AlertChangeError, match="reason is required"):
            services.close_at_risk(customer=big, user=lead, reason=" ")
        with pytest.raises(services.AlertChangeError, match="not among the customers at risk"):
            services.close_at_risk(customer=big, user=lead, reason="Fine now.")
        assert not AtRiskClosure.objects.exists()

    def test_an_account_manager_sees_only_their_own(self, big, ana, ben):
        answer_at(big, 3, ago(1))
        answer_at(CustomerFactory(name="Bens", tier=1, account_manager=ben), 3, ago(1))
        assert [c.name for c in queries.customers_at_risk_for(ana)] == ["Bigco"]
        assert [c.name for c in queries.customers_at_risk_for(ben)] == ["Bens"]


class TestCustomersAtRiskPage:
    def test_it_lists_the_managers_customers_at_risk_beside_the_queue(self, client, big, ana):
        answer_at(big, 3, ago(1))
        client.force_login(ana)
        assert reverse("insights:at-risk") in client.get(reverse("insights:alerts")).content.decode()
        html = client.get(reverse("insights:at-risk")).content.decode()
        assert "Bigco" in html and "close-at-risk" not in html  # closing is for staff

    def test_staff_close_one_with_a_reason(self, client, big, lead):
        answer_at(big, 3, ago(1))
        client.force_login(lead)
        url = reverse("insights:close-at-risk", args=[big.pk])
        response = client.post(url, {"reason": ""}, follow=True)
        assert "Reason is required" in response.content.decode() and at_risk() == ["Bigco"]
        response = client.post(url, {"reason": "Renewed for three years."}, follow=True)
        assert "Bigco is no longer listed as at risk." in response.content.decode()
        assert at_risk() == []

    def test_an_account_manager_may_not_close_one(self, client, big, ana):
        answer_at(big, 3, ago(1))
        client.force_login(ana)
        assert client.post(reverse("insights:close-at-risk", args=[big.pk]), {"reason": "x"}).status_code == 403
        assert at_risk() == ["Bigco"]

    def test_it_makes_a_constant_number_of_queries(self, client, ana, django_assert_num_queries):
        for index in range(5):
            answer_at(CustomerFactory(tier=1, account_manager=ana), 3, ago(index + 1))
        client.force_login(ana)
        # session, user, the count, the page (with account managers), open alerts in the navigation
        with django_assert_num_queries(5):
            client.get(reverse("insights:at-risk"))


class TestTimelinePage:
    def test_the_customer_page_loads_the_timeline_into_itself(self, client, big, ana):
        client.force_login(ana)
        html = client.get(reverse("customers:detail", args=[big.pk])).content.decode()
        assert f'hx-get="{reverse("insights:timeline", args=[big.pk])}" hx-trigger="load"' in html

    def test_it_shows_answers_with_their_contact_and_the_score_chart(self, client, big, ana):
        contact = ContactFactory(customer=big, name="Dora Diaz", email="dora@bigco.test")
        answer_at(big, 3, ago(1), comment="Nobody came.", invitation__delivery__contact=contact)
        client.force_login(ana)
        response = client.get(reverse("insights:timeline", args=[big.pk]), headers=HTMX)
        html = response.content.decode()
        assert "<!doctype" not in html.lower()  # the fragment only
        assert "Dora Diaz" in html and "dora@bigco.test" in html and "Nobody came." in html
        assert "score-chart" in html

    def test_it_is_paginated(self, client, big, ana):
        for minutes in range(15):
            answer_at(big, 9, ago(minutes / 60 + 0.1))
        client.force_login(ana)
        url = reverse("insights:timeline", args=[big.pk])
        first = client.get(url).content.decode()
        assert f'href="{url}?page=2"' in first and "score-chart" in first
        second = client.get(url, {"page": 2}).content.decode()
        assert f'href="{url}?page=1"' in second and "score-chart" not in second
        assert client.get(url, {"page": "x"}).status_code == 200

    def test_another_managers_customer_is_a_404(self, client, big, ben):
        client.force_login(ben)
        assert client.get(reverse("insights:timeline", args=[big.pk])).status_code == 404

    def test_it_makes_a_constant_number_of_queries(self, client, big, ana, django_assert_num_queries):
        for hours in range(30):
            alert = AlertFactory(customer=big, response=answer_at(big, 3, ago(hours + 1)), created_at=ago(hours + 1))
            AlertNote.objects.create(alert=alert, author=ana, text="Called.")
        client.force_login(ana)
        # session, user, the customer, the chart's answers and band; the UNION; answers,
        # alerts and their notes, deliveries; open alerts in the navigation
        with django_assert_num_queries(11):
            client.get(reverse("insights:timeline", args=[big.pk]))


class TestReassignWithAReason:
    def test_a_reason_is_required(self, client, big, ana, ben):
        alert = AlertFactory(customer=big)
        client.force_login(ana)
        response = client.post(reverse("insights:reassign", args=[alert.pk]), {"assignee": ben.pk}, headers=HTMX)
        assert response.status_code == 400
        assert "Reason is required" in response.content.decode()
        alert.refresh_from_db()
        assert alert.assignee == ana

    def test_the_new_assignee_is_told_who_handed_it_over_and_why(self, big, ana, ben, mailoutbox):
        contact = ContactFactory(customer=big, name="Dora Diaz", email="dora@bigco.test")
        alert = AlertFactory(customer=big, response=answer_at(big, 2, ago(1), invitation__delivery__contact=contact))
        services.reassign(alert=alert, user=ana, assignee=ben, reason="I am on leave until Monday.")
        outbox.send_due()
        (email,) = mailoutbox
        assert email.to == [ben.email]
        assert email.subject.startswith("Handed over: ")
        assert "Handed over to you by Ana Manager: I am on leave until Monday." in email.body
        html = email.alternatives[0][0]
        assert "Handed over to you by <strong>Ana Manager</strong>: I am on leave until Monday." in html


class TestAlertEmailNamesTheContact:
    def test_it_names_the_contact_and_their_address(self, big, mailoutbox):
        contact = ContactFactory(customer=big, name="Dora Diaz", email="dora@bigco.test")
        AlertFactory(customer=big, response=answer_at(big, 2, ago(1), invitation__delivery__contact=contact))
        from core.models import OutgoingMessage
        from insights.alerts.services import queue_notification
        from insights.models import Alert

        queue_notification(Alert.objects.get())
        outbox.send_due()
        (email,) = mailoutbox
        assert "Contact: Dora Diaz <dora@bigco.test>" in email.body
        assert 'href="mailto:dora@bigco.test"' in email.alternatives[0][0]
        assert "Handed over" not in email.body
        assert OutgoingMessage.objects.get().status == OutgoingMessage.Status.SENT


class TestReopen:
    def test_a_resolved_alert_reopens_acknowledged_with_a_note(self, big, ana):
        alert = services.resolve(alert=AlertFactory(customer=big), user=ana, note="Refunded.")
        alert = services.reopen(alert=alert, user=ana, note="They called again.")
        assert (alert.status, alert.resolved_at) == (AlertStatus.ACKNOWLEDGED, None)
        note = alert.notes.get(kind=NoteKind.REOPENED)
        assert (note.author, note.text) == (ana, "They called again.")

    def test_only_a_resolved_alert_reopens_and_only_with_a_note(self, big, ana):
        alert = AlertFactory(customer=big)
        with pytest.raises(services.AlertChangeError, match="Only a resolved alert"):
            services.reopen(alert=alert, user=ana, note="Why not.")
        services.resolve(alert=alert, user=ana, note="Done.")
        with pytest.raises(services.AlertChangeError, match="note is required"):
            services.reopen(alert=alert, user=ana, note="")

    def test_the_alert_page_reopens_it(self, client, big, ana):
        alert = services.resolve(alert=AlertFactory(customer=big), user=ana, note="Refunded.")
        client.force_login(ana)
        url = reverse("insights:reopen", args=[alert.pk])
        assert 'action="' + url + '"' in client.get(reverse("insights:alert", args=[alert.pk])).content.decode()
        response = client.post(url, {"note": ""}, headers=HTMX)
        assert response.status_code == 400 and "the note is required" in response.content.decode()
        response = client.post(url, {"note": "They called again."}, headers=HTMX)
        assert response.status_code == 200 and "Alert reopened." in response.content.decode()
        alert.refresh_from_db()
        assert alert.status == AlertStatus.ACKNOWLEDGED

    def test_another_managers_alert_cannot_be_reopened(self, client, big, ana, ben):
        alert = services.resolve(alert=AlertFactory(customer=big), user=ana, note="Refunded.")
        client.force_login(ben)
        assert client.post(reverse("insights:reopen", args=[alert.pk]), {"note": "x"}).status_code == 404


class TestQueueSearchAndBulkAcknowledge:
    def test_an_account_manager_searches_their_queue_by_customer(self, client, ana, ben):
        for name in ("Crescent Interiors", "Harbour Foods"):
            AlertFactory(customer=CustomerFactory(name=name, account_manager=ana))
        AlertFactory(customer=CustomerFactory(name="Crescent Others", account_manager=ben))
        client.force_login(ana)
        response = client.get(reverse("insights:alerts"), {"q": "crescent"})
        assert [alert.customer.name for alert in response.context["page"]] == ["Crescent Interiors"]

    def test_ticked_open_alerts_are_acknowledged_in_one_post(self, client, ana, ben):
        mine = [AlertFactory(customer=CustomerFactory(account_manager=ana)) for _ in range(3)]
        resolved = services.resolve(alert=AlertFactory(customer=CustomerFactory(account_manager=ana)), user=ana,
                                    note="Done.")
        not_mine = AlertFactory(customer=CustomerFactory(account_manager=ben))
        client.force_login(ana)
        html = client.get(reverse("insights:alerts")).content.decode()
        assert f'action="{reverse("insights:acknowledge-many")}"' in html
        assert f'name="alert" value="{mine[0].pk}"' in html
        ticked = [mine[0].pk, mine[1].pk, resolved.pk, not_mine.pk]
        response = client.post(reverse("insights:acknowledge-many"), {"alert": ticked}, follow=True)
        assert "Acknowledged 2 alerts." in response.content.decode()
        statuses = {alert.pk: alert.status for alert in [*mine, resolved, not_mine] if not alert.refresh_from_db()}
        assert statuses == {
            mine[0].pk: AlertStatus.ACKNOWLEDGED, mine[1].pk: AlertStatus.ACKNOWLEDGED, mine[2].pk: AlertStatus.OPEN,
            resolved.pk: AlertStatus.RESOLVED, not_mine.pk: AlertStatus.OPEN,
        }
        assert mine[0].notes.get().kind == NoteKind.ACKNOWLEDGED

    def test_nothing_ticked_says_so(self, client, ana):
        client.force_login(ana)
        response = client.post(reverse("insights:acknowledge-many"), {"q": "acme"})
        assert response.status_code == 303 and response.url == reverse("insights:alerts") + "?q=acme"
        assert "none is ticked" in client.get(response.url).content.decode()


class TestClosuresInTheAdmin:
    def test_staff_delete_a_closure_made_by_mistake_and_the_customer_is_listed_again(self, admin_client, big, lead):
        answer_at(big, 3, ago(1))
        closure = services.close_at_risk(customer=big, user=lead, reason="Wrong customer.")
        assert admin_client.get(reverse("admin:insights_atriskclosure_change", args=[closure.pk])).status_code == 200
        response = admin_client.post(reverse("admin:insights_atriskclosure_delete", args=[closure.pk]), {"post": "yes"})
        assert response.status_code == 302
        assert at_risk() == ["Bigco"]


class TestEscalationEmailNamesTheContact:
    def test_the_cx_leads_read_who_answered(self, big):
        from insights.alerts import emails

        contact = ContactFactory(customer=big, name="Dora Diaz", email="dora@bigco.test")
        alert = AlertFactory(customer=big, response=answer_at(big, 2, ago(1), invitation__delivery__contact=contact))
        email = emails.alert_escalation(alert, to=["lead@example.com"])
        assert "Contact: Dora Diaz <dora@bigco.test>" in email.body
        assert 'href="mailto:dora@bigco.test"' in email.alternatives[0][0]
