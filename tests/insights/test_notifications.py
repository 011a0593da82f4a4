"""Alert and escalation emails, over SMTP to a real local server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from customers.models import CX_LEADS_GROUP
from core import outbox
from core.models import OutgoingMessage
from insights.alerts import services
from insights.models import Alert, NoteKind
from tests.factories import StaffFactory, UserFactory
from tests.insights.test_evaluation import answer, customer, evaluate
from tests.support.smtp import TRANSIENT_RECIPIENT

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

        assert outbox.send_due() == 1

        (message,) = smtp_server.received()
        assert message["To"] == "ana@example.com"
        assert message["Subject"] == f"[Critical, high value] {alert.customer.name} scored 3"
        text = text_of(message)
        for expected in (
            alert.customer.name,
            "Tier: 1",
            "€1,250,000",
            '"Late twice"',
            "Why it ranks here: Critical priority: tier 1; €1,250,000 revenue in 12 months; scored 3, first answer",
            f"https://valuepulse.example.com/alerts/{alert.pk}/",
        ):
            assert expected in text
        html = message.get_body(preferencelist=("html",)).get_content()
        assert f'href="https://valuepulse.example.com/alerts/{alert.pk}/"' in html

    def test_its_revenue_is_rounded_and_shown_in_the_currency_as_the_pages_show_it(self, smtp_server, settings):
        settings.CURRENCY = "GBP"
        evaluate(answer(customer(tier=1, manager=UserFactory(), revenue="215592.50"), 3))
        outbox.send_due()
        (message,) = smtp_server.received()
        html = message.get_body(preferencelist=("html",)).get_content()
        assert "Revenue, last 12 months: £215,593" in text_of(message)  # half-up, as on every page
        assert "£215,593" in html and "215,592" not in text_of(message) + html

    def test_it_is_sent_once_and_recorded_on_the_alert(self, smtp_server):
        (alert,) = evaluate(answer(customer(manager=UserFactory()), 2))
        outbox.send_due()
        assert services.notify_pending() == 0
        assert outbox.send_due() == 0
        assert len(smtp_server.received()) == 1
        alert.refresh_from_db()
        assert alert.notified_at is not None

    def test_its_email_is_built_and_sent_with_no_transaction_of_ours_open(self, smtp_server, monkeypatch):
        from django.db import connection

        (alert,) = evaluate(answer(customer(manager=UserFactory()), 2))
        open_savepoints = []
        recipients = services.notification_recipients
        monkeypatch.setattr(
            services,
            "notification_recipients",
            lambda alert: open_savepoints.append(list(connection.savepoint_ids)) or recipients(alert),
        )
        outbox.send_due()
        # Only the test's own transaction is open: no atomic block of the outbox, so no
        # row lock is held while the email goes out.
        assert open_savepoints == [[]]

    def test_a_reassigned_alert_is_told_to_the_new_assignee_only(self, smtp_server):
        (alert,) = evaluate(answer(customer(manager=UserFactory(email="ana@example.com")), 2))
        services.reassign(
            alert=alert, user=StaffFactory(), assignee=UserFactory(email="ben@example.com"), reason="On leave"
        )

        outbox.send_due()

        assert [m["To"] for m in smtp_server.received()] == ["ben@example.com"]

    def test_without_an_account_manager_the_cx_leads_are_told(self, smtp_server, cx_leads):
        (alert,) = evaluate(answer(customer(manager=None), 2))
        outbox.send_due()
        (message,) = smtp_server.received()
        assert message["To"] == "lead.one@example.com, lead.two@example.com"

    def test_a_deferred_delivery_is_tried_again_and_the_alert_waits_for_it(self, smtp_server):
        (alert,) = evaluate(answer(customer(manager=UserFactory(email=TRANSIENT_RECIPIENT)), 2))
        assert outbox.send_due() == 0
        alert.refresh_from_db()
        assert alert.notified_at is None
        (message,) = OutgoingMessage.objects.filter(kind=services.NOTIFICATION_MESSAGE)
        assert (message.status, message.attempts) == (OutgoingMessage.Status.QUEUED, 1)


class TestToldAsSoonAsTheAnswerSettles:
    def test_the_task_that_raises_the_alert_sends_its_email_itself(self, smtp_server):
        manager = UserFactory(email="ana@example.com")
        response = answer(customer(manager=manager), 2)
        survey_email = OutgoingMessage.objects.create(key="earlier:1", kind="alert-escalation", object_id=0,
                                                      next_attempt_at=timezone.now() - timedelta(minutes=1))

        (alert,) = services.evaluate_and_notify(response_id=response.pk)

        (message,) = smtp_server.received()
        assert message["To"] == "ana@example.com"
        alert.refresh_from_db()
        assert alert.notified_at is not None
        # Only the alert's own email went: whatever else waits is the outbox task's.
        survey_email.refresh_from_db()
        assert survey_email.status == OutgoingMessage.Status.QUEUED

    def test_a_task_that_comes_a_moment_early_waits_for_the_answer_to_settle(self):
        response = answer(customer(), 2, hours_ago=0)

        early = response.submitted_at + timedelta(seconds=59.9)  # of the default minute
        (alert,) = services.evaluate_and_notify(response_id=response.pk, now=early)

        assert alert.created_at == response.submitted_at + timedelta(minutes=1)

    def test_a_task_for_an_answer_whose_quiet_period_began_again_leaves_it_to_the_later_task(self):
        response = answer(customer(), 2, hours_ago=0)

        assert services.evaluate_and_notify(response_id=response.pk, now=response.submitted_at) == []
        assert Alert.objects.count() == 0


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
        assert outbox.send_due() == 2  # the assignee's alert and the escalation
        escalation = [m for m in smtp_server.received() if m["Subject"].startswith("Overdue")]
        (message,) = escalation
        assert message["To"] == "lead.one@example.com, lead.two@example.com"
        assert f"/alerts/{alert.pk}/" in text_of(message)

    def test_an_acknowledged_alert_is_never_escalated(self, cx_leads):
        (alert,) = evaluate(answer(customer(manager=UserFactory()), 2))
        services.acknowledge(alert=alert, user=alert.assignee)
        assert services.escalate_overdue(now=timezone.now() + timedelta(days=30)) == 0
