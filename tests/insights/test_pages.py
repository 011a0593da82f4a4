"""The account managers' alert pages: the queue, one alert, and working it in place."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from insights.alerts.queries import Answer
from insights.dashboard import charts
from insights.models import Alert, AlertKind, AlertNote, AlertStatus, NoteKind, Priority
from tests.factories import (
    AlertFactory,
    ContactFactory,
    CustomerFactory,
    InvoiceFactory,
    ResponseFactory,
    StaffFactory,
    UserFactory,
    paid_lateness,
)

pytestmark = pytest.mark.django_db

LIST_URL = reverse("insights:alerts")
HTMX = {"HX-Request": "true"}
# Each action with a form that succeeds.
ACTIONS = {
    "acknowledge": {},
    "note": {"note": "Called them."},
    "resolve": {"note": "Refunded the delivery."},
    "reassign": {"assignee": "", "reason": "On leave this week."},
}


def url(alert: Alert, action: str = "alert") -> str:
    return reverse(f"insights:{action}", args=[alert.pk])


def queue(response) -> list[str]:
    return [alert.customer.name for alert in response.context["page"]]


def row(html: str, name: str) -> str:
    """The opening of the queue's table row of the customer called `name`."""
    (found,) = [row for row in html.split("<tr")[2:] if f">{name}</a>" in row]
    return "<tr" + found


@pytest.fixture
def ana():
    return UserFactory(username="ana", first_name="Ana", last_name="Manager")


@pytest.fixture
def ben():
    return UserFactory(username="ben", first_name="Ben", last_name="Other")


@pytest.fixture
def alert(ana):
    """Ana's customer's alert."""
    customer = CustomerFactory(
        name="Acme", account_manager=ana, tier=2, revenue_12m=Decimal("250000"), on_time_rate=0.75
    )
    return AlertFactory(customer=customer, score=3, response__comment="The fitter came late.")


@pytest.fixture
def as_ana(client, ana):
    client.force_login(ana)
    return client


@pytest.fixture
def as_staff(client):
    client.force_login(StaffFactory(username="cx", first_name="Cleo", last_name="Lead"))
    return client


def queued(
    manager, name: str, *, priority: int = Priority.MEDIUM, revenue: str = "1000", hours_ago: float = 1, **fields
) -> Alert:
    """An alert in `manager`'s queue, for a customer called `name`."""
    customer = CustomerFactory(name=name, account_manager=manager, revenue_12m=Decimal(revenue))
    return AlertFactory(
        customer=customer, priority=priority, created_at=timezone.now() - timedelta(hours=hours_ago), **fields
    )


class TestAccess:
    @pytest.mark.parametrize(
        ("method", "action"), [("get", None), ("get", "alert"), *[("post", action) for action in ACTIONS]]
    )
    def test_anonymous_users_are_sent_to_log_in(self, client, alert, method, action):
        target = LIST_URL if action is None else url(alert, action)
        response = getattr(client, method)(target, ACTIONS.get(action, {}))
        assert response.status_code == 302
        assert response.url == f"{reverse('login')}?next={target}"
        alert.refresh_from_db()
        assert alert.status == AlertStatus.OPEN and not alert.notes.exists()

    def test_an_account_manager_sees_their_own_alert(self, as_ana, alert):
        assert queue(as_ana.get(LIST_URL)) == ["Acme"]
        assert as_ana.get(url(alert)).status_code == 200

    def test_an_account_manager_does_not_see_another_managers_alert(self, client, alert, ben):
        client.force_login(ben)
        assert queue(client.get(LIST_URL)) == []
        assert "Acme" not in client.get(LIST_URL).content.decode()
        response = client.get(url(alert))
        assert response.status_code == 404
        assert "Page not found" in response.content.decode()

    @pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
    @pytest.mark.parametrize("action", ACTIONS)
    def test_another_managers_alert_cannot_be_worked(self, client, alert, ben, action, headers):
        client.force_login(ben)
        response = client.post(url(alert, action), {**ACTIONS[action], "assignee": ben.pk}, headers=headers)
        assert response.status_code == 404
        alert.refresh_from_db()
        assert (alert.status, alert.assignee.username) == (AlertStatus.OPEN, "ana")
        assert not alert.notes.exists()

    def test_a_manager_handed_one_alert_queues_that_alert_only_but_may_open_the_customers_others(
        self, client, alert, ben
    ):
        handed = AlertFactory(customer=alert.customer, assignee=ben, score=4)
        client.force_login(ben)
        page = client.get(LIST_URL)
        assert [row.pk for row in page.context["page"]] == [handed.pk]
        assert client.get(url(alert)).status_code == 200

    def test_an_unknown_alert_is_not_found(self, as_ana):
        assert as_ana.get(reverse("insights:alert", args=[999999])).status_code == 404

    def test_staff_see_every_alert(self, as_staff, alert, ben):
        queued(ben, "Bentley")
        assert sorted(queue(as_staff.get(LIST_URL))) == ["Acme", "Bentley"]
        assert as_staff.get(url(alert)).status_code == 200

    @pytest.mark.parametrize("action", ACTIONS)
    def test_staff_may_work_any_alert(self, as_staff, alert, action):
        response = as_staff.post(url(alert, action), ACTIONS[action])
        assert response.status_code == 303
        assert response.url == url(alert)

    @pytest.mark.parametrize("action", ACTIONS)
    def test_actions_reject_get(self, as_ana, alert, action):
        assert as_ana.get(url(alert, action)).status_code == 405


class TestQueue:
    def test_it_ranks_by_priority_then_revenue_at_stake_then_age(self, as_ana, ana):
        queued(ana, "Low but rich", priority=Priority.LOW, revenue="9000000")
        queued(ana, "Critical small", priority=Priority.CRITICAL, revenue="100")
        queued(ana, "Critical big, newer", priority=Priority.CRITICAL, revenue="5000", hours_ago=1)
        queued(ana, "Critical big, older", priority=Priority.CRITICAL, revenue="5000", hours_ago=5)
        queued(ana, "High", priority=Priority.HIGH, revenue="1")
        assert queue(as_ana.get(LIST_URL)) == [
            "Critical big, older",
            "Critical big, newer",
            "Critical small",
            "High",
            "Low but rich",
        ]

    def test_it_shows_open_and_acknowledged_alerts_but_not_resolved_ones(self, as_ana, ana):
        queued(ana, "Open")
        queued(ana, "Acknowledged", status=AlertStatus.ACKNOWLEDGED)
        queued(ana, "Resolved", status=AlertStatus.RESOLVED)
        assert sorted(queue(as_ana.get(LIST_URL))) == ["Acknowledged", "Open"]

    def test_overdue_and_escalated_alerts_are_highlighted(self, as_ana, ana):
        now = timezone.now()
        queued(ana, "On time", due_at=now + timedelta(hours=1))
        queued(ana, "Overdue", due_at=now - timedelta(minutes=1))
        queued(ana, "Escalated", status=AlertStatus.ACKNOWLEDGED, due_at=now - timedelta(hours=1), escalated_at=now)
        queued(ana, "Acknowledged late", status=AlertStatus.ACKNOWLEDGED, due_at=now - timedelta(hours=1))
        html = as_ana.get(LIST_URL).content.decode()
        highlighted = '<tr class="row-attention">'
        assert row(html, "Overdue").startswith(highlighted) and "Overdue</span>" in row(html, "Overdue")
        assert row(html, "Escalated").startswith(highlighted) and "Escalated</span>" in row(html, "Escalated")
        assert not row(html, "On time").startswith(highlighted)
        assert not row(html, "Acknowledged late").startswith(highlighted)

    def test_each_row_says_why_it_ranks_there(self, as_ana, alert):
        html = as_ana.get(LIST_URL).content.decode()
        assert (
            "High priority: tier 2; €250,000 revenue in 12 months; scored 3, first answer; "
            "pays 75% of invoices on time."
        ) in html
        assert f'href="{url(alert)}"' in html

    def test_it_says_when_there_is_nothing_to_work_on(self, as_ana):
        assert "Nothing to work on: no open alerts for your customers." in as_ana.get(LIST_URL).content.decode()

    def test_it_shows_fifty_alerts_a_page(self, as_ana, ana):
        customer = CustomerFactory(account_manager=ana)
        AlertFactory.create_batch(51, customer=customer)
        response = as_ana.get(LIST_URL)
        assert len(response.context["page"]) == 50
        assert "Page 1 of 2" in response.content.decode()
        assert len(as_ana.get(LIST_URL, {"page": 2}).context["page"]) == 1

    def test_htmx_gets_only_the_table(self, as_staff, alert):
        response = as_staff.get(LIST_URL, {"tier": "2"}, headers=HTMX)
        html = response.content.decode()
        assert '<div id="alert-results"' in html
        assert "<html" not in html and "alert-filters" not in html
        assert "Acme" in html
        assert "HX-Request" in response["Vary"]

    def test_the_full_page_varies_on_htmx_too(self, as_ana, alert):
        response = as_ana.get(LIST_URL)
        assert "<html" in response.content.decode()
        assert "HX-Request" in response["Vary"]


class TestStaffFilters:
    @pytest.fixture
    def alerts(self, ana, ben):
        return {
            "ana_open": queued(ana, "Ana open", priority=Priority.CRITICAL, tier=1),
            "ben_acknowledged": queued(ben, "Ben acknowledged", status=AlertStatus.ACKNOWLEDGED, tier=3),
            "ben_resolved": queued(ben, "Ben resolved", status=AlertStatus.RESOLVED, tier=3),
            "cx_decline": queued(None, "Nobody's decline", kind=AlertKind.DECLINE, priority=Priority.LOW, tier=4),
        }

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({}, ["Ana open", "Ben acknowledged", "Nobody's decline"]),
            ({"assignee": "none"}, ["Nobody's decline"]),
            ({"tier": "3"}, ["Ben acknowledged"]),
            ({"status": "resolved"}, ["Ben resolved"]),
            ({"status": "all"}, ["Ana open", "Ben acknowledged", "Ben resolved", "Nobody's decline"]),
            ({"status": "open"}, ["Ana open", "Nobody's decline"]),
            ({"priority": "1"}, ["Ana open"]),
            ({"kind": "decline"}, ["Nobody's decline"]),
            (
                {"tier": "9", "status": "bogus", "assignee": "x", "priority": "", "kind": "?"},
                ["Ana open", "Ben acknowledged", "Nobody's decline"],
            ),
        ],
    )
    def test_staff_filter_the_queue(self, as_staff, alerts, query, expected):
        assert sorted(queue(as_staff.get(LIST_URL, query))) == expected

    def test_staff_filter_by_account_manager(self, as_staff, alerts, ben):
        response = as_staff.get(LIST_URL, {"assignee": ben.pk, "status": "all"})
        assert sorted(queue(response)) == ["Ben acknowledged", "Ben resolved"]

    def test_the_filters_are_a_form_that_works_without_javascript(self, as_staff, alerts, ana):
        html = as_staff.get(LIST_URL, {"assignee": ana.pk, "tier": 1, "status": "all"}).content.decode()
        assert f'method="get" action="{LIST_URL}"' in html
        assert 'hx-target="#alert-results"' in html and 'hx-push-url="true"' in html
        assert f'<option value="{ana.pk}" selected>Ana Manager</option>' in html
        assert '<option value="1" selected>Tier 1</option>' in html
        assert '<option value="all" selected>Any status</option>' in html
        assert '<button type="submit" class="btn btn-primary">Apply</button>' in html

    def test_account_managers_get_their_queue_unfiltered(self, as_ana, alerts):
        response = as_ana.get(LIST_URL, {"status": "resolved"})
        assert queue(response) == ["Ana open"]
        html = response.content.decode()
        # Only the search by customer: the staff's filters are not theirs.
        assert 'id="filter-search"' in html and 'name="status"' not in html


class TestQueueQueries:
    @pytest.mark.parametrize("count", [3, 30])
    def test_a_managers_queue_makes_a_constant_number_of_queries(self, as_ana, ana, django_assert_num_queries, count):
        for index in range(count):
            queued(ana, f"Customer {index}", previous_score=5, escalated_at=timezone.now() if index % 2 else None)
        # session, user, count, page of alerts with customers and assignees, possible scanners to
        # check (a count), the navigation's open count
        with django_assert_num_queries(6):
            response = as_ana.get(LIST_URL)
        assert len(queue(response)) == count

    @pytest.mark.parametrize("count", [3, 30])
    def test_staffs_queue_adds_only_the_managers_for_the_filter(self, as_staff, django_assert_num_queries, count):
        managers = UserFactory.create_batch(3)
        for index in range(count):
            queued(managers[index % 3], f"Customer {index}")
        # a manager's six, and the managers for the filter
        with django_assert_num_queries(7):
            as_staff.get(LIST_URL)

    @pytest.mark.parametrize("count", [3, 30])
    def test_htmx_queue_skips_the_filter_options_and_the_navigation(self, as_staff, django_assert_num_queries, count):
        for index in range(count):
            queued(UserFactory(), f"Customer {index}")
        with django_assert_num_queries(4):
            as_staff.get(LIST_URL, {"status": "open"}, headers=HTMX)


class TestAlertPage:
    def test_it_shows_the_answer(self, as_ana, alert):
        contact = alert.response.invitation.contact
        html = as_ana.get(url(alert)).content.decode()
        assert '<span class="badge badge-at_risk">At risk</span>' in html
        assert "<strong>3</strong>" in html
        assert "The fitter came late." in html
        assert contact.name in html and f'href="mailto:{contact.email}"' in html
        assert timezone.localtime(alert.response.submitted_at).strftime("%H:%M") in html
        assert "At risk alert: Acme" in html
        assert "Why it ranks here:" in html and "€250,000 revenue in 12 months" in html

    def test_it_shows_what_the_customer_is_worth(self, as_ana, alert):
        customer = alert.customer
        customer.net_value = Decimal("-1200")
        customer.decided_invoices, customer.days_late_paid = paid_lateness(4.25)
        customer.save()
        html = as_ana.get(url(alert)).content.decode()
        for text in ("€250,000", "badge-tier-2", '<dd class="text-danger">-€1,200</dd>', "75%", "4.3"):
            assert text in html, text

    def test_it_sums_the_last_twelve_months_of_invoices(self, as_ana, alert):
        today = timezone.localdate()
        customer = alert.customer
        InvoiceFactory(customer=customer, amount=Decimal("1000"), issued_on=today - timedelta(days=30))
        InvoiceFactory(customer=customer, amount=Decimal("2500"), issued_on=today - timedelta(days=60), paid_on=None)
        InvoiceFactory(customer=customer, amount=Decimal("99999"), issued_on=today - timedelta(days=400))
        InvoiceFactory(amount=Decimal("77777"), issued_on=today - timedelta(days=30))  # someone else's
        response = as_ana.get(url(alert))
        summary = response.context["invoices"]
        assert (summary.count, summary.total, summary.overdue) == (2, Decimal("3500"), 1)
        assert '<div class="stat stat-danger"><dt>Overdue</dt><dd>1</dd></div>' in response.content.decode()

    def test_it_draws_the_score_history_with_a_text_alternative(self, as_ana, alert):
        customer = alert.customer
        ResponseFactory(customer=customer, score=9, submitted_at=timezone.now() - timedelta(days=60))
        ResponseFactory(customer=customer, score=7, submitted_at=timezone.now() - timedelta(days=30))
        response = as_ana.get(url(alert))
        html = response.content.decode()
        assert [answer.score for answer in response.context["history"]] == [9, 7, 3]
        assert '<svg class="score-chart"' in html and 'role="img"' in html
        assert ">Score</text>" in html and ">Answered</text>" in html
        assert "3 answers between" in html and "the latest 3 out of 10" in html
        assert html.count("<circle ") == 3 and "chart-point-current" in html
        assert "<summary>Scores as a table</summary>" in html
        assert '<tr aria-current="true">' in html

    def test_it_shows_other_contacts_answers_but_not_the_same_contacts(self, as_ana, alert):
        customer = alert.customer
        same_contact = alert.response.invitation.contact
        ResponseFactory(
            customer=customer, score=8, comment="Earlier, same person", invitation__delivery__contact=same_contact
        )
        colleague = ContactFactory(customer=customer, name="Col League")
        ResponseFactory(customer=customer, score=2, comment="Also unhappy", invitation__delivery__contact=colleague)
        ResponseFactory(score=1, comment="Another customer")
        response = as_ana.get(url(alert))
        assert [(other.score, other.comment) for other in response.context["other_answers"]] == [(2, "Also unhappy")]
        html = response.content.decode()
        assert "Col League" in html and "Earlier, same person" not in html and "Another customer" not in html

    def test_it_shows_the_note_history(self, as_ana, alert, ana):
        AlertNote.objects.create(alert=alert, author=ana, kind=NoteKind.NOTE, text="Left a voicemail.")
        AlertNote.objects.create(alert=alert, kind=NoteKind.ESCALATED, text="Escalated to the CX leads.")
        html = as_ana.get(url(alert)).content.decode()
        assert html.index("Left a voicemail.") < html.index("Escalated to the CX leads.")
        assert "Ana Manager" in html and "ValuePulse" in html
        assert '<span class="badge">Escalated</span>' in html

    def test_comments_notes_and_names_are_escaped(self, as_ana, ana):
        customer = CustomerFactory(name="<b>Evil</b> Ltd", account_manager=ana)
        alert = AlertFactory(customer=customer, response__comment="<script>alert('comment')</script>")
        AlertNote.objects.create(alert=alert, author=ana, text="<img src=x onerror=alert(1)>")
        for html in (as_ana.get(url(alert)).content.decode(), as_ana.get(LIST_URL).content.decode()):
            assert "<b>Evil</b>" not in html and "&lt;b&gt;Evil&lt;/b&gt; Ltd" in html
        html = as_ana.get(url(alert)).content.decode()
        assert "<script>alert(" not in html and "&lt;script&gt;" in html
        assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html

    def test_it_offers_the_actions_an_open_alert_allows(self, as_ana, alert):
        html = as_ana.get(url(alert)).content.decode()
        for action in ACTIONS:
            assert f'hx-post="{url(alert, action)}"' in html
            assert f'action="{url(alert, action)}"' in html

    def test_a_resolved_alert_only_takes_notes(self, as_ana, alert):
        alert.status = AlertStatus.RESOLVED
        alert.save()
        html = as_ana.get(url(alert)).content.decode()
        assert f'action="{url(alert, "note")}"' in html
        for action in ("acknowledge", "resolve", "reassign"):
            assert f'action="{url(alert, action)}"' not in html

    @pytest.mark.parametrize("count", [1, 12])
    def test_it_makes_a_constant_number_of_queries(self, as_ana, alert, ana, django_assert_num_queries, count):
        customer = alert.customer
        for _ in range(count):
            ResponseFactory(customer=customer, score=6, invitation__delivery__contact=ContactFactory(customer=customer))
            InvoiceFactory(customer=customer)
            AlertNote.objects.create(alert=alert, author=UserFactory(), text="A note.")
        # session, user, alert with customer/assignee/answer/contact/delivery/survey, notes with
        # authors, assignable managers, score history, invoice summary, other contacts' answers,
        # the navigation's open count
        with django_assert_num_queries(9):
            response = as_ana.get(url(alert))
        assert len(response.context["other_answers"]) == min(count, 10)


class TestWorkingAnAlert:
    def test_acknowledging_redirects_back_with_a_message(self, as_ana, alert, ana):
        response = as_ana.post(url(alert, "acknowledge"))
        assert response.status_code == 303
        assert response.url == url(alert)
        alert.refresh_from_db()
        assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_at is not None
        note = alert.notes.get()
        assert (note.kind, note.author) == (NoteKind.ACKNOWLEDGED, ana)
        html = as_ana.get(response.url).content.decode()
        assert "Alert acknowledged." in html and "badge-status-acknowledged" in html

    def test_acknowledging_with_htmx_answers_with_the_panel(self, as_ana, alert):
        response = as_ana.post(url(alert, "acknowledge"), headers=HTMX)
        assert response.status_code == 200
        html = response.content.decode()
        assert '<section id="alert-panel"' in html
        assert "<html" not in html and "Score history" not in html
        assert '<span class="badge badge-status-acknowledged">Acknowledged</span>' in html
        assert '<p class="message message-success" role="status">Alert acknowledged.</p>' in html
        assert f'action="{url(alert, "acknowledge")}"' not in html
        # The navigation's count, sent out of band: no open alert is left.
        assert '<span id="open-alert-count" class="nav-count" hx-swap-oob="true" hidden>0' in html

    def test_acknowledging_twice_says_why_not(self, as_ana, alert):
        as_ana.post(url(alert, "acknowledge"))
        response = as_ana.post(url(alert, "acknowledge"), headers=HTMX)
        assert response.status_code == 400
        assert "This alert is already acknowledged." in response.content.decode()

    @pytest.mark.parametrize("note", ["", "   "])
    def test_resolving_without_a_note_shows_the_form_again(self, as_ana, alert, note):
        response = as_ana.post(url(alert, "resolve"), {"note": note})
        assert response.status_code == 400
        html = response.content.decode()
        assert "<html" in html and "Score history" in html
        assert "Resolution note is required: say how it was resolved." in html
        assert 'aria-invalid="true" aria-describedby="resolve-note-errors"' in html
        alert.refresh_from_db()
        assert alert.status == AlertStatus.OPEN and not alert.notes.exists()

    def test_resolving_without_a_note_with_htmx_shows_the_panel_again(self, as_ana, alert):
        response = as_ana.post(url(alert, "resolve"), {"note": ""}, headers=HTMX)
        assert response.status_code == 400
        html = response.content.decode()
        assert '<section id="alert-panel"' in html and "<html" not in html
        assert "Resolution note is required" in html
        assert "hx-swap-oob" not in html

    def test_resolving_closes_the_alert_with_the_note(self, as_ana, alert, ana):
        response = as_ana.post(url(alert, "resolve"), {"note": "  Refunded the delivery.  "}, headers=HTMX)
        assert response.status_code == 200
        alert.refresh_from_db()
        assert alert.status == AlertStatus.RESOLVED
        assert alert.resolved_at is not None and alert.acknowledged_at is not None
        note = alert.notes.get()
        assert (note.kind, note.author, note.text) == (NoteKind.RESOLVED, ana, "Refunded the delivery.")
        html = response.content.decode()
        assert "badge-status-resolved" in html and "Refunded the delivery." in html

    def test_a_resolution_note_over_4000_characters_is_shown_again_with_the_limit(self, as_ana, alert):
        response = as_ana.post(url(alert, "resolve"), {"note": "x" * 4001})
        assert response.status_code == 400
        html = response.content.decode()
        assert "Keep it to 4000 characters (it has 4001)." in html
        assert "x" * 4001 + "</textarea>" in html

    def test_adding_a_note(self, as_ana, alert, ana):
        response = as_ana.post(url(alert, "note"), {"note": "Left a voicemail."})
        assert response.status_code == 303
        note = alert.notes.get()
        assert (note.kind, note.author, note.text) == (NoteKind.NOTE, ana, "Left a voicemail.")
        alert.refresh_from_db()
        assert alert.status == AlertStatus.OPEN
        assert "Note added." in as_ana.get(response.url).content.decode()

    def test_an_empty_note_is_refused(self, as_ana, alert):
        response = as_ana.post(url(alert, "note"), {"note": " "}, headers=HTMX)
        assert response.status_code == 400
        assert "Write the note first: it is empty." in response.content.decode()
        assert not alert.notes.exists()

    def test_reassigning_to_another_manager(self, as_ana, alert, ana, ben):
        CustomerFactory(account_manager=ben)  # which makes Ben an account manager
        response = as_ana.post(url(alert, "reassign"), {"assignee": ben.pk, "reason": "Ben knows them."}, headers=HTMX)
        assert response.status_code == 200
        alert.refresh_from_db()
        assert alert.assignee == ben and alert.notified_at is None
        note = alert.notes.get()
        assert (note.kind, note.author, note.text) == (NoteKind.REASSIGNED, ana, "Reassigned to Ben Other: Ben knows them.")
        assert f'<option value="{ben.pk}" selected>Ben Other</option>' in response.content.decode()

    def test_the_manager_an_alert_is_handed_to_may_see_and_work_it(self, as_ana, alert, ben, client):
        CustomerFactory(account_manager=ben)
        as_ana.post(url(alert, "reassign"), {"assignee": ben.pk, "reason": "Ben knows them."})
        client.force_login(ben)
        assert client.get(url(alert)).status_code == 200
        assert client.post(url(alert, "acknowledge")).status_code == 303

    def test_reassigning_to_the_cx_leads(self, as_ana, alert):
        as_ana.post(url(alert, "reassign"), {"assignee": "", "reason": "Needs a lead."})
        alert.refresh_from_db()
        assert alert.assignee is None
        assert "The CX leads" in as_ana.get(url(alert)).content.decode()

    def test_only_active_account_managers_can_be_chosen(self, as_ana, alert, ana):
        gone = UserFactory(is_active=False)
        CustomerFactory(account_manager=gone)
        not_a_manager = UserFactory()
        html = as_ana.get(url(alert)).content.decode()
        assert f'<option value="{ana.pk}" selected>Ana Manager</option>' in html
        assert f'value="{gone.pk}"' not in html
        for user in (gone, not_a_manager):
            response = as_ana.post(url(alert, "reassign"), {"assignee": user.pk, "reason": "Why not."})
            assert response.status_code == 400
            assert "Choose an active account manager or the CX leads." in response.content.decode()
        alert.refresh_from_db()
        assert alert.assignee == ana


class TestNavigation:
    def test_it_shows_my_open_alerts(self, as_ana, alert, ana, ben):
        queued(ana, "Mine acknowledged", status=AlertStatus.ACKNOWLEDGED)
        queued(ben, "Not mine")
        html = as_ana.get(reverse("customers:list")).content.decode()
        count = '<span id="open-alert-count" class="nav-count">1<span class="visually-hidden"> open</span></span>'
        assert f'<a href="{LIST_URL}">Alerts{count}</a>' in html

    def test_staff_see_every_open_alert(self, as_staff, alert, ben):
        queued(ben, "Ben's")
        queued(None, "Nobody's")
        assert 'class="nav-count">3<' in as_staff.get(LIST_URL).content.decode()

    def test_the_link_is_marked_current_on_alert_pages(self, as_ana, alert):
        for page in (LIST_URL, url(alert)):
            assert f'<a href="{LIST_URL}" aria-current="page">Alerts' in as_ana.get(page).content.decode()

    def test_no_count_without_open_alerts(self, as_ana):
        html = as_ana.get(LIST_URL).content.decode()
        assert '<span id="open-alert-count" class="nav-count" hidden>0' in html

    def test_the_home_page_is_the_alert_queue(self, as_ana):
        response = as_ana.get("/")
        assert (response.status_code, response.url) == (302, LIST_URL)

    def test_pages_for_anonymous_users_ask_nothing(self, client, django_assert_num_queries):
        with django_assert_num_queries(0):
            assert client.get(reverse("login")).status_code == 200


class TestScoreChart:
    NOW = timezone.now()

    def answer(self, pk: int, score: int, days_ago: float) -> Answer:
        return Answer(pk=pk, score=score, band="at_risk", submitted_at=self.NOW - timedelta(days=days_ago))

    def test_time_runs_left_to_right_and_scores_bottom_to_top(self):
        chart = charts.score_chart(
            [self.answer(1, 10, 20), self.answer(2, 5, 10), self.answer(3, 0, 0)], current_pk=3, satisfied_min=6
        )
        assert [(point.x, point.y) for point in chart.points] == [
            (charts.LEFT, charts.TOP),
            ((charts.LEFT + charts.RIGHT) / 2, (charts.TOP + charts.BOTTOM) / 2),
            (charts.RIGHT, charts.BOTTOM),
        ]
        assert [point.is_current for point in chart.points] == [False, False, True]
        assert [tick.anchor for tick in chart.x_ticks] == ["start", "end"]
        assert [tick.label for tick in chart.y_ticks] == [0, 2, 4, 6, 8, 10]

    def test_one_answer_sits_in_the_middle(self):
        chart = charts.score_chart([self.answer(1, 4, 0)], current_pk=1, satisfied_min=6)
        assert chart.points[0].x == (charts.LEFT + charts.RIGHT) / 2
        assert [tick.anchor for tick in chart.x_ticks] == ["middle"]

    def test_the_at_risk_band_ends_halfway_to_the_first_satisfied_score(self):
        chart = charts.score_chart([], current_pk=0, satisfied_min=6)
        assert chart.at_risk_top == pytest.approx(charts.BOTTOM - (charts.BOTTOM - charts.TOP) * 0.55)
        assert chart.points == [] and chart.x_ticks == []
