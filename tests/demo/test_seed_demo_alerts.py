"""seed_demo's alerts: the ones the demo's answers would have raised, worked as a team
works them, as they stand on the demo's Monday morning (demo.alerts)."""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, F, Q, Sum
from django.test import override_settings

from core.models import OutgoingMessage
from customers.models import HIGH_VALUE_TIERS, Band, Customer
from demo.customers import STAFF_LOGIN
from insights.alerts import rules, services
from insights.dashboard import counts
from insights.models import Alert, AlertKind, AlertNote, AlertStatus, AnswerCount, NoteKind
from surveys.models import Response
from tests.support.demo import remove_demo

TODAY = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)  # --today puts the demo's clock at noon (UTC)
SEED = 5
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
RULE_FIELDS = ("response_id", "kind", "priority", "high_value", "assignee_id", "tier", "score", "previous_score")


def seed_demo(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **{"today": TODAY, "customers": 300, "seed": SEED, **options})
    return out.getvalue()


@pytest.fixture(scope="module")
def alert_demo(django_db_setup, django_db_blocker):
    """One 300-customer demo shared by every class of tests below that reads it (seeding
    it for each class took seconds a class); what a test changes is rolled back. The
    tests that seed their own come first, while the database is empty."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        output = seed_demo()
    yield output
    with django_db_blocker.unblock():
        remove_demo()


def statuses() -> Counter:
    return Counter(Alert.objects.values_list("status", flat=True))


def open_overdue():
    return Alert.objects.filter(status=AlertStatus.OPEN, due_at__lte=NOW)


@pytest.mark.django_db
class TestDeterminism:
    def test_the_same_seed_gives_the_same_alerts_and_notes(self):
        def fingerprint():
            return (
                list(
                    Alert.objects.order_by("response__invitation__delivery__reference", "kind").values_list(
                        "response__invitation__delivery__reference",
                        "kind",
                        "status",
                        "assignee__username",
                        "created_at",
                        "acknowledged_at",
                        "resolved_at",
                        "escalated_at",
                    )
                ),
                sorted(
                    AlertNote.objects.values_list("alert__response__invitation__delivery__reference", "kind", "text")
                ),
            )

        output = seed_demo(customers=120, seed=3)
        first = fingerprint()
        remove_demo()

        assert seed_demo(customers=120, seed=3) == output
        assert fingerprint() == first
        assert re.search(r"Raised \d+ alerts", output)


@pytest.mark.django_db
@pytest.mark.usefixtures("alert_demo")
class TestWhichAlerts:
    def test_every_at_risk_answer_not_suspect_raised_exactly_one_at_risk_alert(self):
        at_risk = Response.objects.filter(band=Band.AT_RISK, is_suspect=False)
        raised = Alert.objects.filter(kind=AlertKind.AT_RISK)

        assert at_risk.count() > 30
        assert sorted(raised.values_list("response_id", flat=True)) == sorted(at_risk.values_list("pk", flat=True))

    def test_no_alert_for_suspect_answers(self):
        assert Response.objects.filter(is_suspect=True).exists()
        assert not Alert.objects.filter(response__is_suspect=True).exists()

    def test_alerts_only_for_at_risk_answers_or_high_value_declines(self):
        for alert in Alert.objects.select_related("response"):
            if alert.kind == AlertKind.AT_RISK:
                assert alert.response.band == Band.AT_RISK
            else:
                assert alert.kind == AlertKind.DECLINE
                assert alert.response.band != Band.AT_RISK
                assert alert.tier in HIGH_VALUE_TIERS
                assert alert.previous_score - alert.score >= rules.DECLINE_DROP

    def test_they_are_the_alerts_evaluating_each_answer_would_raise(self):
        seeded = set(Alert.objects.values_list(*RULE_FIELDS))
        Alert.objects.all().delete()
        Response.objects.update(needs_evaluation=True)

        services.evaluate_pending()

        assert set(Alert.objects.values_list(*RULE_FIELDS)) == seeded

    def test_ranked_and_assigned_from_the_customer(self):
        for alert in Alert.objects.select_related("customer"):
            customer = alert.customer
            assert alert.tier == customer.tier
            assert alert.priority == rules.priority_for(tier=customer.tier, kind=alert.kind)
            assert alert.high_value == (customer.tier in (1, 2))
            assert (alert.revenue_12m, alert.on_time_rate) == (customer.revenue_12m, customer.on_time_rate)
            assert alert.assignee_id == customer.account_manager_id
            assert alert.due_at - alert.created_at == rules.acknowledgement_window(customer.tier)

    def test_priorities_span_the_tiers(self):
        priorities = Counter(Alert.objects.values_list("priority", flat=True))
        assert {1, 4} <= set(priorities)
        assert priorities[4] > priorities[1]


@pytest.mark.django_db
@pytest.mark.usefixtures("alert_demo")
class TestMondayMorning:
    def test_every_status_is_there_and_most_alerts_are_resolved(self):
        counts = statuses()
        assert set(counts) == set(AlertStatus.values)
        assert counts[AlertStatus.RESOLVED] > counts.total() / 2

    def test_old_alerts_are_resolved_and_open_ones_recent(self):
        old = Alert.objects.filter(created_at__lt=NOW - timedelta(days=60))
        assert old.count() > 20
        assert old.filter(status=AlertStatus.RESOLVED).count() >= 0.9 * old.count()
        assert Alert.objects.filter(status=AlertStatus.OPEN, due_at__gt=NOW).exists()
        assert not Alert.objects.filter(status=AlertStatus.OPEN, created_at__lt=NOW - timedelta(days=60)).exists()
        # Past three weeks, only the one kept open for an account manager who would have none.
        for alert in Alert.objects.filter(status=AlertStatus.OPEN, created_at__lt=NOW - timedelta(days=21)):
            assert Alert.objects.filter(assignee=alert.assignee, status=AlertStatus.OPEN).count() == 1
            assert not Alert.objects.filter(assignee=alert.assignee, created_at__gt=alert.created_at).exists()

    def test_a_few_open_alerts_are_overdue_and_were_escalated_and_emailed(self):
        overdue = open_overdue()
        assert 1 <= overdue.count() <= statuses()[AlertStatus.OPEN]
        assert not overdue.filter(Q(escalated_at__isnull=True) | Q(escalation_notified_at__isnull=True)).exists()
        assert services.escalate_overdue(now=NOW) == 0

    def test_the_printed_account_manager_login_opens_on_open_alerts(self):
        assert Alert.objects.filter(status=AlertStatus.OPEN, assignee__username="ana.garcia").exists()

    def test_an_account_manager_with_an_alert_in_the_last_weeks_has_one_open(self):
        recent = set(
            Alert.objects.filter(created_at__gte=NOW - timedelta(days=59), customer__is_active=True)
            .exclude(assignee=None)
            .values_list("assignee", flat=True)
        )
        with_open = set(Alert.objects.filter(status=AlertStatus.OPEN).values_list("assignee", flat=True))
        assert len(recent) >= 3
        assert recent <= with_open

    def test_no_answer_is_left_needing_evaluation(self):
        assert not Response.objects.filter(needs_evaluation=True).exists()
        assert services.evaluate_pending() == 0

    def test_every_alert_and_escalation_was_emailed_and_none_waits_for_the_webhook(self, settings):
        settings.ALERT_WEBHOOK_URL = "http://127.0.0.1:9/never-called"
        assert not Alert.objects.filter(notified_at__isnull=True).exists()
        assert not Alert.objects.filter(escalated_at__isnull=False, escalation_notified_at__isnull=True).exists()
        assert not Alert.objects.filter(webhook_next_attempt_at__isnull=False).exists()
        assert not OutgoingMessage.objects.filter(kind=services.WEBHOOK_MESSAGE).exists()
        assert not OutgoingMessage.objects.filter(status__in=["queued", "sending"]).exists()

    def test_nothing_happens_after_now(self):
        for field in ("created_at", "acknowledged_at", "resolved_at", "escalated_at", "notified_at"):
            assert not Alert.objects.filter(**{f"{field}__gt": NOW}).exists(), field
        assert not AlertNote.objects.filter(created_at__gt=NOW).exists()

    def test_it_reports_the_alerts(self, alert_demo):
        counts = statuses()
        assert (
            f"Raised {counts.total():,} alerts: {counts['open']} open ({open_overdue().count()} overdue), "
            f"{counts['acknowledged']} acknowledged, {counts['resolved']:,} resolved." in alert_demo
        )


@pytest.mark.django_db
@pytest.mark.usefixtures("alert_demo")
class TestInsightsCounts:
    def test_the_demo_leaves_the_settled_days_counted_for_the_insights(self):
        state = counts.state()
        assert state is not None
        settled = Response.objects.filter(is_suspect=False, submitted_at__lt=counts.midnight(state.settled_before))
        assert settled.count() > 100
        assert AnswerCount.objects.aggregate(answers=Sum("answers"))["answers"] == settled.count()
        assert counts.refresh() is False


@pytest.mark.django_db
@pytest.mark.usefixtures("alert_demo")
class TestHistory:
    def test_resolved_alerts_carry_one_resolution_note_by_whoever_works_them(self):
        cx_lead = get_user_model().objects.get(username=STAFF_LOGIN[0])
        resolved = Alert.objects.filter(status=AlertStatus.RESOLVED).prefetch_related("notes")
        for alert in resolved:
            (note,) = [note for note in alert.notes.all() if note.kind == NoteKind.RESOLVED]
            assert note.text
            assert note.author_id == (alert.assignee_id or cx_lead.pk)
            assert note.created_at == alert.resolved_at
            assert alert.created_at < alert.acknowledged_at <= alert.resolved_at <= NOW

    def test_acknowledged_alerts_say_what_is_being_done(self):
        acknowledged = Alert.objects.filter(status=AlertStatus.ACKNOWLEDGED).prefetch_related("notes")
        for alert in acknowledged:
            (note,) = [note for note in alert.notes.all() if note.kind == NoteKind.ACKNOWLEDGED]
            assert note.text
            assert note.created_at == alert.acknowledged_at
            assert alert.resolved_at is None

    def test_open_alerts_have_no_acknowledgement(self):
        opened = Alert.objects.filter(status=AlertStatus.OPEN)
        assert not opened.filter(Q(acknowledged_at__isnull=False) | Q(resolved_at__isnull=False)).exists()
        assert not AlertNote.objects.filter(alert__status=AlertStatus.OPEN).exclude(kind=NoteKind.ESCALATED).exists()

    def test_late_acknowledgements_were_escalated_first_with_a_note(self):
        escalated = Alert.objects.filter(escalated_at__isnull=False)
        assert escalated.exclude(status=AlertStatus.OPEN).exists()
        assert not escalated.filter(escalated_at__lt=F("due_at")).exists()
        notes = Counter(
            AlertNote.objects.filter(kind=NoteKind.ESCALATED).values_list("alert_id", flat=True)
        )
        assert set(notes) == set(escalated.values_list("pk", flat=True))
        assert set(notes.values()) == {1}
        assert not Alert.objects.filter(escalated_at__isnull=True, acknowledged_at__gt=F("due_at")).exists()

    def test_notes_come_in_order(self):
        for alert in Alert.objects.annotate(n=Count("notes")).filter(n__gt=1).prefetch_related("notes")[:50]:
            times = [note.created_at for note in alert.notes.all()]
            assert times == sorted(times)


@pytest.mark.django_db
@pytest.mark.usefixtures("alert_demo")
class TestCustomersStories:
    def test_a_tier_1_customers_timeline_tells_answers_alerts_with_notes_and_deliveries(self):
        from insights.timeline import queries as timeline

        customer = Customer.objects.filter(tier=1, alerts__notes__isnull=False).order_by("-revenue_12m").first()
        entries = [
            entry
            for number in range(1, 4)
            for entry in timeline.timeline_page(customer=customer, number=number).entries
        ]
        kinds = {entry.kind for entry in entries}
        assert {"answer", "alert", "delivery"} <= kinds
        assert any(entry.item.notes.all() for entry in entries if entry.kind == "alert")
        assert [entry.at for entry in entries] == sorted((entry.at for entry in entries), reverse=True)

    def test_staff_once_closed_a_customer_at_risk_with_a_reason_and_its_timeline_tells_it(self):
        from insights.alerts import queries
        from insights.models import AtRiskClosure
        from insights.timeline import queries as timeline

        (closure,) = AtRiskClosure.objects.all()
        assert closure.closed_by.username == STAFF_LOGIN[0] and closure.reason
        assert closure.response.band == Band.AT_RISK and closure.customer.tier == 1
        # A later answer followed it: whoever is at risk today is still listed.
        assert Response.objects.filter(customer=closure.customer, submitted_at__gt=closure.closed_at).exists()
        assert list(queries.customers_at_risk())
        keys = list(timeline.entry_keys(closure.customer))
        assert ("closure", closure.pk, closure.closed_at) in keys


@pytest.mark.django_db
@pytest.mark.usefixtures("alert_demo")
class TestPossibleScanners:
    def test_each_account_manager_has_a_scanners_burst_to_confirm_or_dismiss(self):
        from insights.alerts import queries
        from surveys.services import answer_versions
        from surveys.suspicion import scores_seen

        ana = get_user_model().objects.get(username="ana.garcia")
        (answer,) = [row for row in queries.possible_scanners(ana) if row.revisions == 4]
        assert scores_seen(answer_versions(answer)) == [7, 2, 9, 4, 3]
        assert answer.band == "at_risk" and not answer.alerts.exists()
        assert answer.submitted_at - answer.invitation.sent_at < timedelta(seconds=30)
