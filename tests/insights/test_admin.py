from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from insights.models import Alert, AlertNote, NoteKind
from tests.factories import AlertFactory, CustomerFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="lead", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def alert():
    manager = UserFactory(username="ana")
    customer = CustomerFactory(
        name="Acme", external_id="CRM-ACME", tier=1, revenue_12m=Decimal("90000.00"), account_manager=manager
    )
    alert = AlertFactory(customer=customer, notified_at=timezone.now())
    AlertNote.objects.create(alert=alert, author=manager, kind=NoteKind.ACKNOWLEDGED, text="Calling them at noon.")
    return alert


def changelist(model: str = "alert") -> str:
    return reverse(f"admin:insights_{model}_changelist")


def listed(response) -> list[Alert]:
    return list(response.context["cl"].result_list)


class TestAdminPages:
    @pytest.mark.parametrize("model", ["alert", "alertnote"])
    def test_the_changelist_loads(self, admin_client, alert, model):
        assert admin_client.get(changelist(model)).status_code == 200

    def test_the_alert_page_shows_the_alert_its_notes_and_why_it_ranks_so(self, admin_client, alert):
        response = admin_client.get(reverse("admin:insights_alert_change", args=[alert.pk]))

        assert response.status_code == 200
        html = response.content.decode()
        assert "Calling them at noon." in html
        assert "Critical priority: tier 1" in html
        assert reverse("insights:alert", args=[alert.pk]) in html

    def test_the_note_page_loads(self, admin_client, alert):
        note = alert.notes.get()
        assert admin_client.get(reverse("admin:insights_alertnote_change", args=[note.pk])).status_code == 200

    def test_alerts_are_read_only_and_never_added_here(self, admin_client, alert):
        response = admin_client.get(reverse("admin:insights_alert_change", args=[alert.pk]))
        assert not response.context["adminform"].form.fields
        assert not response.context["has_change_permission"]
        assert admin_client.get(reverse("admin:insights_alert_add")).status_code == 403

    def test_account_managers_cannot_open_it(self, client, alert):
        client.force_login(alert.assignee)
        assert client.get(changelist()).status_code == 302

    def test_search_by_customer_external_id(self, admin_client, alert):
        AlertFactory(customer=CustomerFactory(name="Globex"))
        assert listed(admin_client.get(changelist(), {"q": "crm-acme"})) == [alert]

    @pytest.mark.parametrize("count", [3, 30])
    def test_the_changelist_makes_a_constant_number_of_queries(
        self, admin_client, django_assert_num_queries, count
    ):
        for _ in range(count):
            AlertFactory(customer=CustomerFactory(account_manager=UserFactory()))
        # session, user, two counts, the page with customers and assignees joined, two for the date hierarchy
        with django_assert_num_queries(7):
            admin_client.get(changelist())


class TestWhereTellingPeopleFailed:
    @pytest.fixture
    def alerts(self):
        now = timezone.now()
        return {
            "sent": AlertFactory(webhook_sent_at=now, webhook_attempts=2, webhook_error="… HTTP 500 …"),
            "retrying": AlertFactory(
                webhook_attempts=1, webhook_error="… HTTP 503 …", webhook_next_attempt_at=now + timedelta(minutes=1)
            ),
            "gave_up": AlertFactory(webhook_attempts=5, webhook_error="… timed out; gave up."),
            "waiting": AlertFactory(webhook_next_attempt_at=now),
            "no_webhook": AlertFactory(notified_at=now),
        }

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("failed", {"retrying", "gave_up"}),
            ("gave_up", {"gave_up"}),
            ("waiting", {"retrying", "waiting"}),
            ("sent", {"sent"}),
        ],
    )
    def test_the_webhook_filter(self, admin_client, alerts, value, expected):
        response = admin_client.get(changelist(), {"webhook": value})
        assert set(listed(response)) == {alerts[name] for name in expected}

    def test_the_webhook_column_says_what_became_of_it(self, admin_client, alerts):
        html = admin_client.get(changelist()).content.decode()
        shown = ["Sent (2 attempts)", "Failing, retrying (1 attempt)", "Gave up (5 attempts)", "Waiting to be sent"]
        for text in shown:
            assert text in html, text

    def test_the_notification_filter_lists_alerts_whose_assignee_was_not_emailed(self, admin_client, alerts):
        response = admin_client.get(changelist(), {"notification": "unsent"})
        assert alerts["no_webhook"] not in listed(response)
        assert len(listed(response)) == 4

    def test_the_escalated_filter(self, admin_client, alerts):
        escalated = AlertFactory(escalated_at=timezone.now())
        assert listed(admin_client.get(changelist(), {"escalated": "yes"})) == [escalated]
        assert escalated not in listed(admin_client.get(changelist(), {"escalated": "no"}))

    def test_the_retry_action_sends_a_given_up_webhook_again_with_the_next_sweep(self, admin_client, alerts, settings):
        settings.ALERT_WEBHOOK_URL = "http://127.0.0.1:9/hook"
        selected = [alerts["gave_up"].pk, alerts["sent"].pk]

        response = admin_client.post(
            changelist(), {"action": "retry_webhook", "_selected_action": selected}, follow=True
        )

        assert "1 webhook(s) will be sent by the next sweep." in response.content.decode()
        gave_up = Alert.objects.get(pk=alerts["gave_up"].pk)
        assert gave_up.webhook_attempts == 0
        assert gave_up.webhook_next_attempt_at <= timezone.now()
        assert Alert.objects.get(pk=alerts["sent"].pk).webhook_next_attempt_at is None

    def test_the_retry_action_says_when_no_webhook_is_configured(self, admin_client, alerts, settings):
        settings.ALERT_WEBHOOK_URL = ""
        response = admin_client.post(
            changelist(), {"action": "retry_webhook", "_selected_action": [alerts["gave_up"].pk]}, follow=True
        )
        assert "No webhook is configured" in response.content.decode()
        assert Alert.objects.get(pk=alerts["gave_up"].pk).webhook_attempts == 5


class TestAnswerCounts:
    def test_staff_see_which_days_are_counted_and_a_worker_rebuilds_them(
        self, admin_client, django_capture_on_commit_callbacks
    ):
        from insights.dashboard import counts
        from insights.models import AnswerCountState

        state = counts.rebuild()
        AnswerCountState.objects.update(settled_before=state.settled_before - timedelta(days=30))
        response = admin_client.get(changelist("answercountstate"))
        assert response.status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(
                changelist("answercountstate"),
                {"action": "rebuild_counts", "_selected_action": [state.pk]},
                follow=True,
            )
        assert "The answer counts are being rebuilt in the background" in response.content.decode()
        assert AnswerCountState.objects.get().settled_before == state.settled_before


class TestActionsNeedTheRightToChange:
    """A member of staff who may only view sees no action that changes data."""

    @pytest.fixture(autouse=True)
    def one_of_each(self):
        """The admin offers actions only above a list with rows in it."""
        from insights.dashboard import counts
        from tests.factories import InvitationFactory, SentMessageFactory

        AlertFactory()
        InvitationFactory()
        SentMessageFactory()
        counts.rebuild()

    @pytest.fixture
    def viewer(self, client):
        from django.contrib.auth.models import Permission

        user = StaffFactory()
        user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
        client.force_login(user)
        return client

    @pytest.mark.parametrize(
        ("model", "action"),
        [("insights/alert", "retry_webhook"), ("insights/answercountstate", "rebuild_counts"),
         ("surveys/invitation", "retry_sending"), ("customers/customer", "recompute_value_metrics"),
         ("core/outgoingmessage", "send_again")],
    )
    def test_a_viewer_is_not_offered_the_action(self, viewer, model, action):
        app, name = model.split("/")
        response = viewer.get(reverse(f"admin:{app}_{name}_changelist"))
        assert response.status_code == 200
        assert f'value="{action}"' not in response.content.decode()

    @pytest.mark.parametrize(
        ("model", "action"),
        [("insights/alert", "retry_webhook"), ("insights/answercountstate", "rebuild_counts"),
         ("surveys/invitation", "retry_sending"), ("customers/customer", "recompute_value_metrics"),
         ("core/outgoingmessage", "send_again")],
    )
    def test_a_superuser_is(self, admin_client, model, action):
        app, name = model.split("/")
        assert f'value="{action}"' in admin_client.get(reverse(f"admin:{app}_{name}_changelist")).content.decode()


class TestDeliveries:
    def test_deliveries_are_shown_but_never_added_or_changed_here(self, admin_client):
        from tests.factories import DeliveryFactory

        delivery = DeliveryFactory()
        assert admin_client.get(reverse("admin:surveys_delivery_add")).status_code == 403
        page = admin_client.get(reverse("admin:surveys_delivery_change", args=[delivery.pk]))
        assert page.status_code == 200
        assert 'name="reference"' not in page.content.decode()
