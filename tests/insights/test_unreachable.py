"""Value first when a big customer becomes unreachable: a bounce or a complaint that
leaves a tier 1–2 customer with no contact to survey raises an unreachable alert, in
the same ranked queue, through the real delivery-event service (and once through
anymail's real webhook view), customers' signal, insights' task and the sweep."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core.models import OutgoingMessage
from customers import deliverability
from customers import services as customer_services
from customers.models import CX_LEADS_GROUP, Customer
from insights.alerts import rules, services, webhooks
from insights.dashboard import figures
from insights.models import Alert, AlertKind, AlertNote, AlertStatus, NoteKind
from tests.factories import (
    AlertFactory,
    ContactFactory,
    CustomerFactory,
    ResponseFactory,
    StaffFactory,
    SurveyFactory,
    UserFactory,
)
from tests.support.concurrency import run_at_once
from tests.support.processes import PROJECT_DIR, child_environment
from tests.support.providers import ANYMAIL_SETTINGS, Postmark

pytestmark = pytest.mark.django_db

ADDRESS = "jane@acme.example"
BOUNCED_AT = datetime(2026, 6, 3, 9, 30, tzinfo=UTC)
SUMMARY = f"We can no longer reach Acme: {ADDRESS} bounced on 3 Jun 2026 and no other contact can be surveyed."


@pytest.fixture
def ana():
    return UserFactory(username="ana", email="ana@example.com", first_name="Ana")


def big_customer(*, tier: int | None = 1, manager=None, name: str = "Acme", email: str | None = ADDRESS) -> Customer:
    customer = CustomerFactory(
        name=name, tier=tier, revenue_12m=Decimal("1250000.00"), on_time_rate=0.9, account_manager=manager
    )
    if email:
        ContactFactory(customer=customer, email=email)
    return customer


@pytest.fixture
def events(django_capture_on_commit_callbacks):
    """Records a provider's event with the real service, as the Celery task does, and
    runs what was asked for once it committed (customers' signal, insights' task, the
    outbox), as a worker would."""

    def record(event_type: str = "bounced", *, bounce: str = "", to: str = ADDRESS, at=BOUNCED_AT, **fields):
        if event_type == "bounced" and not bounce:
            bounce = "hard"
        with django_capture_on_commit_callbacks(execute=True):
            return deliverability.record_delivery_event(
                esp="Postmark", event_type=event_type, bounce=bounce, recipient=to, occurred_at=at, **fields
            )

    return record


def unreachable_alerts() -> list[Alert]:
    return list(Alert.objects.filter(kind=AlertKind.UNREACHABLE).order_by("pk"))


class TestRaising:
    def test_a_hard_bounce_of_the_only_contact_of_a_tier_1_customer_raises_one_critical_alert(self, events, ana):
        customer = big_customer(manager=ana)

        events("bounced")

        (alert,) = Alert.objects.all()
        assert (alert.kind, alert.priority, alert.high_value, alert.status) == (
            "unreachable", 1, True, AlertStatus.OPEN
        )
        assert (alert.customer, alert.assignee, alert.tier, alert.revenue_12m) == (
            customer, ana, 1, Decimal("1250000.00")
        )
        assert (alert.response, alert.score, alert.previous_score) == (None, None, None)
        assert (alert.lost_contact_email, alert.lost_contact_reason, alert.lost_contact_at) == (
            ADDRESS, "bounced", BOUNCED_AT
        )
        assert alert.due_at - alert.created_at == timedelta(hours=4)

    def test_it_says_why_in_words(self, events):
        big_customer()
        events("bounced")
        (alert,) = Alert.objects.all()
        assert rules.unreachable_summary(alert) == SUMMARY
        assert rules.rank_reason(alert) == (
            "Critical priority: tier 1; €1,250,000 revenue in 12 months; "
            f"unreachable: {ADDRESS} bounced on 3 Jun 2026 and no other contact can be surveyed; "
            "pays 90% of invoices on time."
        )

    def test_a_tier_2_customer_raises_a_high_priority_alert_due_in_a_day(self, events):
        big_customer(tier=2)
        events("bounced")
        (alert,) = Alert.objects.all()
        assert (alert.priority, alert.high_value, alert.due_at - alert.created_at) == (2, True, timedelta(hours=24))

    def test_a_spam_complaint_raises_one_too(self, events):
        big_customer()
        events("complained")
        (alert,) = Alert.objects.all()
        assert (alert.kind, alert.priority, alert.lost_contact_reason) == ("unreachable", 1, "complained")
        assert f"{ADDRESS} marked a survey as spam on " in rules.rank_reason(alert)

    def test_soft_bounces_raise_one_when_they_reach_the_limit(self, events):
        big_customer()
        now = timezone.now()
        for number, days_ago in enumerate((20, 10)):
            events("deferred", bounce="soft", at=now - timedelta(days=days_ago), message_id=f"message-{number}")
        assert unreachable_alerts() == []

        events("deferred", bounce="soft", at=now, message_id="message-2")

        (alert,) = unreachable_alerts()
        assert alert.lost_contact_reason == "soft_bounces"
        assert f"{ADDRESS} kept soft-bouncing until " in rules.unreachable_summary(alert)

    @pytest.mark.parametrize("tier", [3, 4, None])
    def test_a_smaller_or_inactive_customer_raises_none(self, events, tier):
        big_customer(tier=tier)
        events("bounced")
        assert not Alert.objects.exists()

    def test_a_customer_with_another_reachable_contact_raises_none(self, events):
        customer = big_customer()
        ContactFactory(customer=customer, email="john@acme.example")
        events("bounced")
        assert not Alert.objects.exists()

    def test_the_same_event_twice_raises_one(self, events):
        big_customer()
        events("bounced", event_id="postmark-1")
        events("bounced", event_id="postmark-1")
        events("bounced", event_id="postmark-2", at=BOUNCED_AT + timedelta(hours=1))
        assert len(unreachable_alerts()) == 1

    def test_an_address_two_customers_share_raises_one_for_each(self, events):
        first, second = big_customer(name="Acme"), big_customer(name="Acme Iberia", email="JANE@acme.example")
        events("bounced")
        assert sorted(alert.customer_id for alert in unreachable_alerts()) == [first.pk, second.pk]

    def test_the_last_reachable_contact_opting_out_after_another_bounced_raises_one(
        self, events, django_capture_on_commit_callbacks
    ):
        customer = big_customer()
        john = ContactFactory(customer=customer, email="john@acme.example")
        events("bounced")
        assert unreachable_alerts() == []

        with django_capture_on_commit_callbacks(execute=True):
            customer_services.opt_out_contact(contact=john)  # the unsubscribe link

        (alert,) = unreachable_alerts()
        assert alert.lost_contact_email == ADDRESS  # the bounce is what failed: John chose

    def test_contacts_who_all_opted_out_of_their_own_accord_raise_none(self, django_capture_on_commit_callbacks):
        customer = big_customer()
        with django_capture_on_commit_callbacks(execute=True):
            for contact in customer.contacts.all():
                customer_services.opt_out_contact(contact=contact)
        assert not Alert.objects.exists()
        assert services.sweep_unreachable() == 0

    def test_a_customer_without_an_account_manager_goes_to_the_cx_leads(self, events):
        big_customer(manager=None)
        events("bounced")
        assert Alert.objects.get().assignee is None


class TestTheDatabaseHoldsIt:
    def test_a_second_unreachable_alert_being_worked_for_one_customer_is_refused(self, events):
        big_customer()
        events("bounced")
        alert = Alert.objects.get()
        alert.pk = None
        with pytest.raises(IntegrityError), transaction.atomic():
            alert.save()

    def test_a_resolved_one_does_not_count(self, events):
        big_customer()
        events("bounced")
        alert = Alert.objects.get()
        Alert.objects.filter(pk=alert.pk).update(status=AlertStatus.RESOLVED)
        alert.pk = None
        alert.save()
        assert len(unreachable_alerts()) == 2

    def test_an_unreachable_alert_cannot_carry_a_score_nor_an_answers_alert_lack_one(self, events):
        big_customer()
        events("bounced")
        with pytest.raises(IntegrityError), transaction.atomic():
            Alert.objects.filter(kind=AlertKind.UNREACHABLE).update(score=3)
        answered = AlertFactory(customer=CustomerFactory(tier=3))
        with pytest.raises(IntegrityError), transaction.atomic():
            Alert.objects.filter(pk=answered.pk).update(response=None, score=None)

    def test_an_answers_alert_must_carry_its_answers_survey_and_an_unreachable_one_none(self, events):
        # The insights count alerts by their survey (alert_unresolved_survey_idx): an
        # answer's alert written without it would be missing from every survey's figures.
        big_customer()
        events("bounced")
        answered = AlertFactory(customer=CustomerFactory(tier=3))
        with pytest.raises(IntegrityError), transaction.atomic():
            Alert.objects.filter(pk=answered.pk).update(survey=None)
        with pytest.raises(IntegrityError), transaction.atomic():
            Alert.objects.filter(kind=AlertKind.UNREACHABLE).update(survey=answered.survey)


class TestThroughTheProvidersWebhook:
    def test_a_postmark_hard_bounce_posted_to_anymail_raises_the_alert(
        self, client, settings, django_capture_on_commit_callbacks, ana
    ):
        settings.ANYMAIL = ANYMAIL_SETTINGS
        big_customer(manager=ana)
        postmark = Postmark()
        payload = postmark.hard_bounce(to=ADDRESS, message_id="unknown-to-the-outbox", at=BOUNCED_AT)

        with django_capture_on_commit_callbacks(execute=True):
            answer = postmark.post(client, payload)

        assert answer.status_code == 200, answer.content
        (alert,) = Alert.objects.all()
        assert (alert.kind, alert.priority, alert.assignee) == ("unreachable", 1, ana)
        assert rules.unreachable_summary(alert) == SUMMARY
        assert OutgoingMessage.objects.filter(kind=services.NOTIFICATION_MESSAGE, object_id=alert.pk).exists()


class TestSweep:
    def test_it_raises_what_a_lost_message_missed(self):
        big_customer()
        # Recorded, but the after-commit hand-off never ran (a worker died, the broker lost it).
        deliverability.record_delivery_event(
            esp="Postmark", event_type="bounced", bounce="hard", recipient=ADDRESS, occurred_at=BOUNCED_AT
        )
        assert not Alert.objects.exists()

        assert services.sweep_unreachable() == 1
        assert services.sweep_unreachable() == 0

        (alert,) = unreachable_alerts()
        assert rules.unreachable_summary(alert) == SUMMARY

    def test_it_leaves_customers_the_rule_is_not_about(self):
        big_customer(tier=3, name="Small")
        big_customer(tier=1, name="Without contacts", email=None)
        reachable = big_customer(tier=1, name="Reachable")
        ContactFactory(customer=reachable, email="john@reachable.example")
        deliverability.record_delivery_event(
            esp="Postmark", event_type="bounced", bounce="hard", recipient=ADDRESS, occurred_at=BOUNCED_AT
        )
        assert services.sweep_unreachable() == 0

    def test_a_resolved_alert_is_not_raised_again_while_the_customer_stays_unreachable(self, events):
        big_customer()
        events("bounced")
        services.resolve(alert=Alert.objects.get(), user=StaffFactory(), note="Called them; new contact coming.")
        events("bounced", event_id="another-bounce", at=BOUNCED_AT + timedelta(days=1))
        assert services.sweep_unreachable() == 0
        assert len(unreachable_alerts()) == 1

    def test_once_reachable_again_and_lost_again_a_new_alert_is_raised(self, events):
        big_customer()
        events("bounced")
        staff = StaffFactory()
        services.resolve(alert=Alert.objects.get(), user=staff, note="Mailbox fixed.")
        deliverability.reenable_address(email=ADDRESS, by=staff)

        events("bounced", event_id="bounced-again", at=timezone.now())

        assert [alert.status for alert in unreachable_alerts()] == [AlertStatus.RESOLVED, AlertStatus.OPEN]

    def test_running_it_again_raises_nothing_more(self):
        customer = big_customer()
        deliverability.record_delivery_event(
            esp="Postmark", event_type="bounced", bounce="hard", recipient=ADDRESS, occurred_at=BOUNCED_AT
        )
        assert services.raise_unreachable_alert(customer_id=customer.pk) is not None
        assert services.raise_unreachable_alert(customer_id=customer.pk) is None
        assert services.sweep_unreachable() == 0
        assert len(unreachable_alerts()) == 1

    def test_beat_runs_it_every_few_minutes(self, settings):
        from config.celery import app

        (entry,) = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == "insights.tasks.sweep_unreachable"]
        assert entry["schedule"] <= 300
        assert "insights.tasks.sweep_unreachable" in app.tasks


@pytest.mark.django_db(transaction=True)
def test_the_task_and_the_sweep_racing_raise_one_alert():
    customer = big_customer(email=None)
    # Undeliverable as a lost message would leave it: nobody told insights.
    ContactFactory(customer=customer, email=ADDRESS, undeliverable_at=BOUNCED_AT, undeliverable_reason="bounced")
    outcomes = run_at_once(
        lambda: services.raise_unreachable_alert(customer_id=customer.pk),
        lambda: services.sweep_unreachable(),
        lambda: services.raise_unreachable_alert(customer_id=customer.pk),
    )
    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert len(unreachable_alerts()) == 1


RECORD_WITH_THE_BROKER_DOWN = """
import django; django.setup()
from django.utils.dateparse import parse_datetime
from customers.deliverability import record_delivery_event
record_delivery_event(esp="Postmark", event_type="bounced", bounce="hard", recipient="{address}",
                      occurred_at=parse_datetime("{at}"))
print("bounce recorded")
"""


@pytest.mark.django_db(transaction=True)
def test_a_bounce_recorded_with_redis_unreachable_still_alerts_after_the_sweep(tmp_path):
    big_customer()
    # Port 1 on loopback: nothing listens there, so handing the customer to a task fails.
    env = child_environment(var_dir=tmp_path, redis_url="redis://127.0.0.1:1/0")
    worker = subprocess.run(
        [sys.executable, "-c", RECORD_WITH_THE_BROKER_DOWN.format(address=ADDRESS, at=BOUNCED_AT.isoformat())],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120,
    )
    assert "bounce recorded" in worker.stdout, worker.stderr
    assert "Could not enqueue insights.tasks.raise_unreachable_alert" in worker.stderr
    assert not Alert.objects.exists()

    assert services.sweep_unreachable() == 1  # the broker is back; beat runs the sweep

    assert Alert.objects.get().kind == AlertKind.UNREACHABLE


class TestReachableAgain:
    def test_re_enabling_the_address_is_noted_and_the_alert_stays_open(self, events):
        big_customer()
        events("bounced")
        deliverability.reenable_address(email=ADDRESS, by=StaffFactory())

        services.sweep_unreachable()
        services.sweep_unreachable()

        alert = Alert.objects.get()
        assert alert.status == AlertStatus.OPEN
        (note,) = alert.notes.filter(kind=NoteKind.REACHABLE)
        assert note.text.startswith(f"{ADDRESS} (re-enabled on ")
        assert note.text.endswith("can be surveyed again. The alert stays until it is resolved.")

    def test_a_new_contact_arriving_through_the_api_is_noted(self, events, api):
        customer = big_customer()
        events("bounced")

        answer = api.post(
            "/api/v1/contacts/", {"customer": customer.external_id, "email": "john@acme.example"}, format="json"
        )
        assert answer.status_code == 201, answer.content
        services.sweep_unreachable()

        (note,) = Alert.objects.get().notes.all()
        assert note.kind == NoteKind.REACHABLE
        assert note.text.startswith("john@acme.example (added on ")

    def test_losing_it_again_while_the_alert_is_open_is_noted_on_it(self, events):
        big_customer()
        events("bounced")
        deliverability.reenable_address(email=ADDRESS, by=StaffFactory())
        services.sweep_unreachable()

        events("complained", at=timezone.now())
        services.sweep_unreachable()

        (alert,) = unreachable_alerts()
        assert [note.kind for note in alert.notes.all()] == [NoteKind.REACHABLE, NoteKind.UNREACHABLE]
        assert alert.notes.last().text.startswith(f"Unreachable again: {ADDRESS} marked a survey as spam on ")

    def test_resolved_alerts_are_left_alone(self, events):
        big_customer()
        events("bounced")
        staff = StaffFactory()
        services.resolve(alert=Alert.objects.get(), user=staff, note="Found another person.")
        deliverability.reenable_address(email=ADDRESS, by=staff)
        services.sweep_unreachable()
        assert not AlertNote.objects.filter(kind=NoteKind.REACHABLE).exists()


@pytest.fixture
def api(client_for):
    return client_for(StaffFactory(username="integrator"))


@pytest.fixture
def client_for():
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    def make(user):
        _, token = AuthToken.objects.create(user=user)
        api_client = APIClient()
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return api_client

    return make


class TestInTheQueue:
    @pytest.fixture
    def unreachable(self, events, ana) -> Alert:
        big_customer(manager=ana)
        events("bounced")
        return Alert.objects.get()

    def test_it_ranks_above_a_smaller_customers_at_risk_answer_in_the_managers_queue(self, client, ana, unreachable):
        AlertFactory(customer=CustomerFactory(name="Small", tier=3, account_manager=ana))
        client.force_login(ana)

        response = client.get(reverse("insights:alerts"))

        assert [alert.customer.name for alert in response.context["page"]] == ["Acme", "Small"]
        html = response.content.decode()
        assert '<span class="badge badge-danger">Unreachable</span>' in html
        assert f"unreachable: {ADDRESS} bounced on 3 Jun 2026 and no other contact can be surveyed" in html

    def test_staff_can_filter_the_queue_by_the_kind(self, client, unreachable):
        AlertFactory(customer=CustomerFactory(name="Small", tier=3))
        client.force_login(StaffFactory())
        response = client.get(reverse("insights:alerts"), {"kind": "unreachable"})
        assert [alert.customer.name for alert in response.context["page"]] == ["Acme"]

    def test_the_api_lists_it_for_the_manager_with_no_score(self, client_for, ana, unreachable):
        rows = client_for(ana).get("/api/v1/alerts/", {"kind": "unreachable"}).json()["results"]
        (row,) = rows
        assert {key: row[key] for key in ("id", "kind", "priority", "high_value", "score", "comment")} == {
            "id": unreachable.pk, "kind": "unreachable", "priority": 1, "high_value": True, "score": None,
            "comment": None,
        }
        assert (row["lost_contact_email"], row["lost_contact_reason"]) == (ADDRESS, "bounced")
        assert row["reason"] == rules.rank_reason(unreachable)

    def test_another_manager_sees_none_of_it(self, client, client_for, unreachable):
        other = UserFactory()
        assert client_for(other).get(f"/api/v1/alerts/{unreachable.pk}/").status_code == 404
        client.force_login(other)
        assert client.get(reverse("insights:alert", args=[unreachable.pk])).status_code == 404

    def test_the_api_can_resolve_it(self, client_for, ana, unreachable):
        answer = client_for(ana).patch(
            f"/api/v1/alerts/{unreachable.pk}/", {"status": "resolved", "note": "New contact added."}, format="json"
        )
        assert (answer.status_code, answer.json()["status"]) == (200, "resolved")


class TestItsPage:
    @pytest.fixture
    def unreachable(self, events, ana) -> Alert:
        customer = big_customer(manager=ana)
        ContactFactory(customer=customer, email="former@acme.example", opted_out=True, opted_out_at=BOUNCED_AT)
        events("bounced")
        return Alert.objects.get()

    def test_it_renders_without_an_answer_and_says_why(self, client, ana, unreachable):
        client.force_login(ana)
        response = client.get(reverse("insights:alert", args=[unreachable.pk]))
        assert response.status_code == 200
        html = response.content.decode()
        assert "Unreachable alert: Acme" in html
        assert SUMMARY in html
        assert "The answer" not in html
        # Each contact as it stands now.
        assert ADDRESS in html and "former@acme.example" in html
        assert "Bounced, 3 Jun 2026" in html and "Opted out, 3 Jun 2026" in html

    def test_it_shows_the_customers_earlier_answers(self, client, ana, unreachable):
        ResponseFactory(customer=unreachable.customer, score=4, survey=SurveyFactory(satisfied_min=5))
        client.force_login(ana)
        response = client.get(reverse("insights:alert", args=[unreachable.pk]))
        assert response.status_code == 200
        assert len(response.context["history"]) == 1
        assert len(response.context["other_answers"]) == 1
        assert "this alert's answer" not in response.content.decode()

    def test_it_makes_a_constant_number_of_queries(self, client, ana, unreachable, django_assert_num_queries):
        for _ in range(3):
            ResponseFactory(customer=unreachable.customer, score=7)
            ContactFactory(customer=unreachable.customer, undeliverable_at=BOUNCED_AT)
        client.force_login(ana)
        # session, user, alert, notes, assignable managers, score history, the at-risk line,
        # invoice summary, recent answers, contacts, the navigation's open count
        with django_assert_num_queries(11):
            client.get(reverse("insights:alert", args=[unreachable.pk]))

    def test_it_is_worked_like_any_alert(self, client, ana, unreachable):
        client.force_login(ana)
        client.post(reverse("insights:acknowledge", args=[unreachable.pk]))
        client.post(reverse("insights:resolve", args=[unreachable.pk]), {"note": "Added their new buyer."})
        unreachable.refresh_from_db()
        assert unreachable.status == AlertStatus.RESOLVED

    def test_the_admin_shows_it(self, client, unreachable):
        client.force_login(StaffFactory(is_superuser=True))
        response = client.get(reverse("admin:insights_alert_change", args=[unreachable.pk]))
        assert response.status_code == 200
        assert ADDRESS in response.content.decode()


class TestTellingPeople:
    @pytest.fixture(autouse=True)
    def site_url(self, settings):
        settings.SITE_URL = "https://valuepulse.example.com"

    def test_the_account_manager_is_emailed_through_the_outbox(self, events, ana, smtp_server):
        big_customer(manager=ana)

        events("bounced")  # the outbox's worker runs once the alert commits

        alert = Alert.objects.get()
        message = OutgoingMessage.objects.get(kind=services.NOTIFICATION_MESSAGE, object_id=alert.pk)
        assert message.status == OutgoingMessage.Status.SENT
        (email,) = smtp_server.received()
        assert email["To"] == "ana@example.com"
        assert email["Subject"] == "[Critical, high value] We can no longer reach Acme"
        text = email.get_body(preferencelist=("plain",)).get_content()
        assert text.splitlines()[0] == f"High-value churn risk. {SUMMARY}"
        assert "Comment:" not in text
        assert "Why it ranks here: Critical priority: tier 1; €1,250,000 revenue in 12 months; unreachable: " in text
        assert f"https://valuepulse.example.com/alerts/{alert.pk}/" in text
        assert SUMMARY in email.get_body(preferencelist=("html",)).get_content()
        alert.refresh_from_db()
        assert alert.notified_at is not None

    def test_an_overdue_one_is_escalated_to_the_cx_leads(self, events, smtp_server):
        lead = StaffFactory(email="lead@example.com")
        lead.groups.add(Group.objects.get_or_create(name=CX_LEADS_GROUP)[0])
        big_customer()
        events("bounced")
        alert = Alert.objects.get()
        smtp_server.received()

        from core import outbox

        assert services.escalate_overdue(now=alert.due_at + timedelta(minutes=1)) == 1
        outbox.send_due()

        escalation = [email for email in smtp_server.received() if email["Subject"].startswith("Overdue")]
        (email,) = escalation
        assert email["Subject"].startswith("Overdue: Acme can no longer be reached, not acknowledged by ")
        assert SUMMARY in email.get_body(preferencelist=("plain",)).get_content()

    def test_the_webhook_says_it_has_no_answer_and_names_the_contact(self, events):
        big_customer()
        events("bounced")
        body = webhooks.payload(Alert.objects.get())
        assert (body["kind"], body["score"], body["previous_score"], body["comment"]) == (
            "unreachable", None, None, None
        )
        assert body["lost_contact"] == {"email": ADDRESS, "reason": "bounced", "at": BOUNCED_AT.isoformat()}
        assert body["text"].startswith("High-value churn risk (no contact can be surveyed): Acme (CRM-")


class TestInsightsFigures:
    def test_it_counts_among_the_alerts_being_worked_but_not_under_a_survey_filter(self, events):
        big_customer()
        events("bounced")
        today = timezone.localdate()
        period = figures.InsightFilters.default(today=today)
        assert figures.alert_counts(period, now=timezone.now()).unresolved == 1
        one_survey = figures.InsightFilters(date_from=period.date_from, date_to=today, survey=SurveyFactory())
        assert figures.alert_counts(one_survey, now=timezone.now()).unresolved == 0
