"""Alert and escalation emails, over SMTP to a real local server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from customers.models import CX_LEADS_GROUP
from insights.alerts import services
from insights.models import NoteKind
from tests.factories import StaffFactory, UserFactory
from tests.insights.test_evaluation import answer, customer, evaluate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "https://valuepulse.example.com"


@pytest.fixture
def cx_leads():
    group, _ = Group.objects.get_or_create(name=CX_LEADS_GROUP)
    leads = [StaffFactory(email="lead.one@example.com"), StaffFactory(email="lead.two@example.com")]
    for lead in leads:
        lead.groups.add(group)
    return leads


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


class TestAlertNotification:
    def test_the_account_manager_gets_the_alert_with_what_they_need(self, smtp_server):
        manager = UserFactory(email="ana@example.com")
        (alert,) = evaluate(answer(customer(tier=1, manager=manager, revenue="1250000.00"), 3, comment="Late twice"))

        assert services.notify_assignee(alert_id=alert.pk)

        (message,) = smtp_server.received()
        assert message["To"] == "ana@example.com"
        assert message["Subject"] == f"[Critical, high value] {alert.customer.name} scored 3"
        text = text_of(message)
        for expected in (
            alert.customer.name,
            "Tier: 1",
            "1,250,000",
            '"Late twice"',
            "Why it ranks here: Critical priority: tier 1; 1,250,000 revenue in 12 months; scored 3, first answer",
            f"https://valuepulse.example.com/alerts/{alert.pk}/",
        ):
            assert expected in text
        html = message.get_body(preferencelist=("html",)).get_content()
        assert f'href="https://valuepulse.example.com/alerts/{alert.pk}/"' in html

    def test_it_is_sent_once(self, smtp_server):
        (alert,) = evaluate(answer(customer(manager=UserFactory()), 2))
        services.notify_assignee(alert_id=alert.pk)
        assert not services.notify_assignee(alert_id=alert.pk)
        assert services.notify_pending() == 0
        assert len(smtp_server.received()) == 1

    def test_without_an_account_manager_the_cx_leads_are_told(self, smtp_server, cx_leads):
        (alert,) = evaluate(answer(customer(manager=None), 2))
        services.notify_assignee(alert_id=alert.pk)
        (message,) = smtp_server.received()
        assert message["To"] == "lead.one@example.com, lead.two@example.com"

    def test_a_refused_delivery_leaves_the_alert_for_the_sweep(self, smtp_server):
        (alert,) = evaluate(answer(customer(manager=UserFactory(email="someone@refuse.test")), 2))
        with pytest.raises(Exception):
            services.notify_assignee(alert_id=alert.pk)
        alert.refresh_from_db()
        assert alert.notified_at is None


class TestEscalation:
    def test_an_alert_not_acknowledged_in_time_is_escalated_once_to_the_cx_leads(self, smtp_server, cx_leads):
        (alert,) = evaluate(answer(customer(tier=1, manager=UserFactory()), 2))
        late = alert.due_at + timedelta(minutes=1)

        assert services.escalate_overdue(now=alert.due_at - timedelta(seconds=1)) == 0
        assert services.escalate_overdue(now=late) == 1
        assert services.escalate_overdue(now=late + timedelta(hours=1)) == 0

        alert.refresh_from_db()
        assert alert.escalated_at == late and alert.is_overdue(late)
        assert alert.notes.filter(kind=NoteKind.ESCALATED).count() == 1
        assert services.notify_pending() == 2  # the assignee's alert and the escalation
        escalation = [m for m in smtp_server.received() if m["Subject"].startswith("Overdue")]
        (message,) = escalation
        assert message["To"] == "lead.one@example.com, lead.two@example.com"
        assert f"/alerts/{alert.pk}/" in text_of(message)

    def test_an_acknowledged_alert_is_never_escalated(self, cx_leads):
        (alert,) = evaluate(answer(customer(manager=UserFactory()), 2))
        services.acknowledge(alert=alert, user=alert.assignee)
        assert services.escalate_overdue(now=timezone.now() + timedelta(days=30)) == 0
