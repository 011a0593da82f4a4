"""seed_demo: customers shaped like the field case (demo.customers), then a year of
deliveries, invitations and answers (demo.surveys)."""

from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from statistics import mean

import pytest
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F, OuterRef, Subquery
from django.test import RequestFactory, override_settings
from django.utils import timezone

from customers.models import Band, Contact, Customer, Invoice
from demo.customers import LARGE, MID, SMALL, segment_sizes
from surveys import services
from surveys.bands import classify
from surveys.models import (
    Delivery,
    Invitation,
    InvitationStatus,
    Response,
    ResponseRevision,
    SuppressedReason,
    Survey,
)
from tests.factories import CustomerFactory
from tests.support.demo import DEMO_USERNAMES, remove_demo

TODAY = date(2026, 6, 15)
# With --today the demo's clock stands at noon of that day (TIME_ZONE is UTC).
NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
# The real hasher takes a good fraction of a second per password on purpose.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed_demo(*args: str, **options) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out, **{"today": TODAY, **options})
    return out.getvalue()


def revenues_largest_first() -> list:
    return list(Customer.objects.filter(is_active=True).order_by("-revenue_12m").values_list("revenue_12m", flat=True))


def share_of_top(fraction: float) -> float:
    revenues = revenues_largest_first()
    top = round(len(revenues) * fraction)
    return float(sum(revenues[:top]) / sum(revenues))


def fingerprint() -> list[list[tuple]]:
    return [
        list(
            Customer.objects.order_by("external_id").values_list(
                "external_id", "name", "is_active", "cost_to_serve", "account_manager__username"
            )
        ),
        list(
            Contact.objects.order_by("customer__external_id", "email").values_list(
                "customer__external_id", "email", "name", "language", "opted_out", "opted_out_at"
            )
        ),
        list(
            Invoice.objects.order_by("customer__external_id", "number").values_list(
                "customer__external_id", "number", "amount", "issued_on", "due_on", "paid_on"
            )
        ),
        list(
            Invitation.objects.order_by("delivery__customer__external_id", "delivery__reference").values_list(
                "delivery__customer__external_id",
                "delivery__reference",
                "delivery__delivered_at",
                "delivery__description",
                "contact__email",
                "status",
                "suppressed_reason",
                "scheduled_for",
                "next_attempt_at",
                "expires_at",
                "sent_at",
                "remind_at",
                "reminded_at",
            )
        ),
        list(
            Response.objects.order_by("invitation__delivery__reference").values_list(
                "invitation__delivery__reference",
                "customer__external_id",
                "score",
                "band",
                "comment",
                "is_suspect",
                "first_submitted_at",
                "submitted_at",
                "revisions",
            )
        ),
        list(
            ResponseRevision.objects.order_by("response__invitation__delivery__reference", "submitted_at").values_list(
                "response__invitation__delivery__reference", "score", "band", "comment", "submitted_at"
            )
        ),
        list(Customer.objects.order_by("external_id").values_list("external_id", "latest_score", "latest_answer_at")),
    ]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(scope="class")
def demo_data(django_db_setup, django_db_blocker):
    """One 2,000-customer demo shared by a class of read-only tests."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        output = seed_demo(customers=2000, seed=11)
    yield output
    with django_db_blocker.unblock():
        remove_demo()


@pytest.mark.django_db
@pytest.mark.usefixtures("demo_data")
class TestDemoShape:
    def test_it_creates_the_customers_asked_for_with_contacts_and_invoices(self):
        assert Customer.objects.count() == 2000
        assert not Customer.objects.annotate(n=Count("contacts")).filter(n__lt=1).exists()
        assert not Customer.objects.annotate(n=Count("contacts")).filter(n__gt=3).exists()
        assert Invoice.objects.count() > 2000

    def test_the_top_one_percent_bring_about_69_percent_of_revenue(self):
        assert 0.60 <= share_of_top(0.01) <= 0.78

    def test_the_top_five_percent_bring_about_97_percent_of_revenue(self):
        assert 0.93 <= share_of_top(0.05) <= 0.99

    def test_every_tier_exists_and_tier_one_is_a_small_set(self):
        tiers = Counter(Customer.objects.filter(is_active=True).values_list("tier", flat=True))
        assert set(tiers) == {1, 2, 3, 4}
        assert 1 <= tiers[1] <= 0.02 * 2000

    def test_a_few_customers_are_inactive_and_have_no_tier(self):
        inactive = Customer.objects.filter(is_active=False)
        assert 0.005 * 2000 <= inactive.count() <= 0.04 * 2000
        assert not inactive.filter(tier__isnull=False).exists()

    def test_some_large_customer_pays_late_and_some_small_one_pays_on_time(self):
        large = Customer.objects.filter(tier__in=[1, 2])
        assert any(customer.avg_days_late >= 20 for customer in large.filter(on_time_rate__lte=0.5))
        assert Customer.objects.filter(tier=4, on_time_rate=1.0).exists()

    def test_invoices_not_yet_due_are_unpaid(self):
        assert Invoice.objects.filter(due_on__gt=TODAY).exists()
        assert not Invoice.objects.filter(due_on__gt=TODAY, paid_on__isnull=False).exists()

    def test_invoices_cover_the_last_two_years_and_nothing_after_today(self):
        assert Invoice.objects.filter(issued_on__lte=date(2024, 7, 15)).exists()
        assert not Invoice.objects.filter(issued_on__lte=date(2024, 6, 15)).exists()
        assert not Invoice.objects.filter(issued_on__gt=TODAY).exists()

    def test_some_small_customers_cost_more_than_they_bring_and_some_have_no_cost(self):
        assert Customer.objects.filter(tier=4, net_value__lt=0).exists()
        assert Customer.objects.filter(cost_to_serve__isnull=True).exists()

    def test_large_customers_all_have_an_account_manager_and_some_small_ones_do_not(self):
        assert not Customer.objects.filter(tier__in=[1, 2, 3], account_manager__isnull=True).exists()
        without = Customer.objects.filter(account_manager__isnull=True).count()
        assert 0.15 * 2000 <= without <= 0.35 * 2000

    def test_contact_emails_are_unique_and_at_the_customers_own_domain(self):
        emails = list(Contact.objects.values_list("customer_id", "email"))
        assert len({email.lower() for _, email in emails}) == len(emails)
        customer_domains = {(customer_id, email.split("@")[1]) for customer_id, email in emails}
        assert len({domain for _, domain in customer_domains}) == len(customer_domains)
        assert all(re.fullmatch(r"[a-z0-9.]+@[a-z0-9-]+\.example", email) for _, email in emails)

    def test_most_contacts_speak_english_some_spanish_and_a_few_opted_out(self):
        languages = Counter(Contact.objects.values_list("language", flat=True))
        assert 0.1 <= languages["es"] / languages.total() <= 0.3
        assert set(languages) == {"en", "es"}
        assert Contact.objects.filter(opted_out=True, opted_out_at__isnull=False).exists()

    def test_it_reports_the_shape_and_the_logins(self, demo_data):
        assert "Created 2,000 customers" in demo_data
        assert "top 1% of customers" in demo_data
        assert re.search(
            r"Created [\d,]+ deliveries, [\d,]+ answers \(promoters \d+%, satisfied \d+%, at risk \d+%\); "
            r"\d+ survey emails due now will be sent by the worker",
            demo_data,
        )
        assert re.search(r"Invitations: [\d,]+ sent, \d+% answered; [\d,]+ suppressed \(throttled", demo_data)
        assert f"Staff login: cx.lead / {settings.DEMO_PASSWORD}" in demo_data
        assert f"Account manager login: ana.garcia / {settings.DEMO_PASSWORD}" in demo_data

    def test_the_demo_company_asks_on_the_pages_and_in_the_emails(self, demo_data, client):
        from surveys import emails
        from surveys.models import Invitation, InvitationStatus, Sender

        sender = Sender.default()
        assert sender.pk and sender.name == "Brightwater Facilities" and sender.logo_url
        assert "come from Brightwater Facilities" in demo_data
        assert client.get(sender.logo_url)["Content-Type"] == "image/png"
        invitation = Invitation.objects.filter(status=InvitationStatus.SENT).first()
        message = emails.survey_invitation(invitation, token="t", unsubscribe_token="u")
        assert message.from_email.startswith("Brightwater Facilities customer care <")
        assert message.reply_to == ["care@brightwater.example"]
        assert "Brightwater Facilities Ltd · 24 Harbour Road" in message.body

    def test_if_empty_does_not_add_a_second_copy(self):
        output = seed_demo(customers=100, seed=12, if_empty=True)
        assert "Demo data already loaded" in output
        assert "Staff login: cx.lead" in output
        assert Customer.objects.count() == 2000

    def test_without_if_empty_it_refuses_to_add_to_existing_customers(self):
        with pytest.raises(CommandError, match="--if-empty"):
            seed_demo(customers=100, seed=12)
        assert Customer.objects.count() == 2000


@pytest.fixture(scope="class")
def survey_demo(django_db_setup, django_db_blocker):
    """One 400-customer demo shared by a class of tests of its surveys; what a test
    changes is rolled back."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        output = seed_demo(customers=400, seed=5)
    yield output
    with django_db_blocker.unblock():
        remove_demo()


def due_now() -> list[Invitation]:
    return list(
        Invitation.objects.filter(status=InvitationStatus.SCHEDULED, scheduled_for__lte=NOW).select_related(
            "contact", "delivery__customer__account_manager"
        )
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("survey_demo")
class TestSurveyDemo:
    def test_every_delivery_has_one_invitation_to_its_contact(self):
        assert Delivery.objects.count() > 400
        assert Invitation.objects.count() == Delivery.objects.count()
        assert not Invitation.objects.exclude(contact=F("delivery__contact")).exists()

    def test_the_last_weeks_emails_and_every_failure_are_in_the_outbox(self):
        from core.models import OutgoingMessage

        recent = OutgoingMessage.objects.filter(status="sent", sent_at__gte=NOW - timedelta(days=30))
        assert recent.filter(kind="survey-invitation").exists() and recent.filter(kind="survey-reminder").exists()
        assert not OutgoingMessage.objects.filter(sent_at__lt=NOW - timedelta(days=36)).exists()
        failed = set(OutgoingMessage.objects.filter(status="failed").values_list("object_id", flat=True))
        assert failed == set(Invitation.objects.filter(status="failed").values_list("pk", flat=True))

    def test_deliveries_cover_a_year_and_large_customers_get_many_more(self):
        assert Delivery.objects.filter(delivered_at__lt=NOW - timedelta(days=330)).exists()
        assert not Delivery.objects.filter(delivered_at__lt=NOW - timedelta(days=366)).exists()
        per_tier = {
            tier: Delivery.objects.filter(customer__tier=tier).count() / Customer.objects.filter(tier=tier).count()
            for tier in (1, 4)
        }
        assert per_tier[1] > 5 * per_tier[4]

    def test_descriptions_name_the_service_in_the_contacts_language(self):
        openings = Counter(
            (description.split()[0], language)
            for description, language in Delivery.objects.values_list("description", "contact__language")
        )
        assert {opening for opening, _ in openings} == {"the", "la", "el"}
        assert {language for opening, language in openings if opening == "the"} == {"en"}
        assert {language for opening, language in openings if opening != "the"} == {"es"}

    def test_every_band_is_answered_in_about_the_fields_mix(self):
        bands = Counter(Response.objects.values_list("band", flat=True))
        total = bands.total()
        assert total > 300
        assert 0.38 <= bands[Band.PROMOTER] / total <= 0.55
        assert 0.28 <= bands[Band.SATISFIED] / total <= 0.45
        assert 0.08 <= bands[Band.AT_RISK] / total <= 0.24

    def test_about_a_third_of_the_invitations_sent_are_answered(self):
        went_out = Invitation.objects.filter(
            status__in=[InvitationStatus.SENT, InvitationStatus.RESPONDED, InvitationStatus.EXPIRED]
        ).count()
        assert 0.28 <= Response.objects.count() / went_out <= 0.48

    def test_each_customers_latest_answer_is_their_most_recent_response(self):
        newest = Response.objects.filter(customer=OuterRef("pk")).order_by("-submitted_at", "-pk")
        customers = Customer.objects.annotate(
            newest_score=Subquery(newest.values("score")[:1]),
            newest_band=Subquery(newest.values("band")[:1]),
            newest_at=Subquery(newest.values("submitted_at")[:1]),
        )
        assert customers.filter(latest_score__isnull=False).count() > 100
        for customer in customers:
            assert (customer.latest_score, customer.latest_band or None, customer.latest_answer_at) == (
                customer.newest_score,
                customer.newest_band,
                customer.newest_at,
            ), customer.external_id

    def test_some_large_customers_are_at_risk_and_some_small_ones_are_promoters(self):
        assert Customer.objects.filter(tier__in=[1, 2], latest_band=Band.AT_RISK).exists()
        assert Customer.objects.filter(tier=4, latest_band=Band.PROMOTER).exists()

    def test_some_customers_slide_over_their_last_months(self):
        recent = NOW - timedelta(days=120)
        answers = defaultdict(lambda: ([], []))
        for customer_id, score, submitted_at in Response.objects.values_list("customer", "score", "submitted_at"):
            answers[customer_id][submitted_at >= recent].append(score)
        sliding = [
            (earlier, lately)
            for earlier, lately in answers.values()
            if len(earlier) >= 2 and lately and mean(earlier) - mean(lately) >= 2.5
        ]
        assert sliding

    def test_bands_agree_with_the_surveys_rule(self):
        survey = Survey.default()
        for score, band in Response.objects.values_list("score", "band").distinct():
            assert band == classify(score, survey)
        for score, band in ResponseRevision.objects.values_list("score", "band").distinct():
            assert band == classify(score, survey)

    def test_only_responded_invitations_have_a_response(self):
        assert not Response.objects.exclude(invitation__status=InvitationStatus.RESPONDED).exists()
        assert not Invitation.objects.filter(status=InvitationStatus.RESPONDED, response__isnull=True).exists()

    def test_answers_fall_between_sending_and_the_links_closing(self):
        for response in Response.objects.select_related("invitation"):
            invitation = response.invitation
            assert invitation.sent_at < response.first_submitted_at <= response.submitted_at <= NOW
            assert response.submitted_at < invitation.expires_at
            assert response.revisions == response.history.count()
        assert Response.objects.filter(revisions__gt=0).exists()
        assert Response.objects.exclude(comment="").exists()

    def test_past_invitations_went_out_without_a_link_kept(self):
        past = Invitation.objects.filter(scheduled_for__lt=NOW - timedelta(days=2))
        assert not past.filter(status=InvitationStatus.SCHEDULED).exists()
        assert not past.filter(token_hash__isnull=False).exists()
        assert not past.filter(status__in=["sent", "responded", "expired"], sent_at__isnull=True).exists()
        assert not past.filter(status=InvitationStatus.EXPIRED, expires_at__gt=NOW).exists()
        assert not past.filter(status=InvitationStatus.SENT, expires_at__lte=NOW).exists()
        assert past.filter(status=InvitationStatus.EXPIRED, reminded_at__isnull=False).exists()

    def test_suppressions_record_every_reason_known_when_scheduling(self):
        reasons = Counter(
            Invitation.objects.filter(status=InvitationStatus.SUPPRESSED).values_list("suppressed_reason", flat=True)
        )
        # Bounces and complaints come back from the mail provider after sending; the demo
        # keeps its bounced addresses as failed invitations.
        assert set(reasons) == {
            SuppressedReason.OPTED_OUT, SuppressedReason.THROTTLED, SuppressedReason.INACTIVE_CUSTOMER
        }
        assert not Invitation.objects.filter(status=InvitationStatus.SUPPRESSED, sent_at__isnull=False).exists()
        assert not Invitation.objects.filter(
            suppressed_reason=SuppressedReason.OPTED_OUT, contact__opted_out=False
        ).exists()
        assert not Invitation.objects.filter(
            suppressed_reason=SuppressedReason.INACTIVE_CUSTOMER, delivery__customer__is_active=True
        ).exists()

    def test_no_contact_is_surveyed_twice_within_the_throttle_window_and_throttling_says_why(self):
        window = Survey.default().throttle
        surveyed = defaultdict(list)
        for contact_id, scheduled_for in Invitation.objects.filter(
            status__in=["scheduled", "sent", "responded", "expired"]
        ).values_list("contact", "scheduled_for"):
            surveyed[contact_id].append(scheduled_for)
        for times in surveyed.values():
            times.sort()
            assert all(later - earlier >= window for earlier, later in zip(times, times[1:]))
        for contact_id, scheduled_for in Invitation.objects.filter(
            suppressed_reason=SuppressedReason.THROTTLED
        ).values_list("contact", "scheduled_for"):
            assert any(abs(scheduled_for - other) < window for other in surveyed[contact_id])

    def test_recent_deliveries_are_due_now_for_active_customers_contacts_who_did_not_opt_out(self):
        due = due_now()
        assert 20 <= len(due) <= 40
        for invitation in due:
            assert invitation.next_attempt_at == invitation.scheduled_for
            assert NOW - timedelta(days=2) <= invitation.scheduled_for <= NOW
            assert invitation.expires_at > NOW
            assert invitation.sent_at is None and invitation.token_hash is None
            assert not invitation.contact.opted_out
            assert invitation.delivery.customer.is_active
        managers = Counter(str(invitation.delivery.customer.account_manager) for invitation in due)
        assert managers["ana.garcia"] >= 2

    def test_a_few_more_fall_due_within_the_hour(self):
        later = Invitation.objects.filter(status=InvitationStatus.SCHEDULED, scheduled_for__gt=NOW)
        assert 1 <= later.count() <= 6
        assert not later.filter(scheduled_for__gt=NOW + timedelta(hours=1)).exists()

    def test_the_sending_sweep_sends_exactly_the_due_invitations(self, settings):
        settings.SITE_URL = "http://testserver"
        due = {invitation.pk for invitation in due_now()}

        sent = services.send_due_invitations(now=NOW)

        assert sent == len(due) == len(mail.outbox)
        just_sent = Invitation.objects.filter(status=InvitationStatus.SENT, token_hash__isnull=False)
        assert set(just_sent.values_list("pk", flat=True)) == due
        assert all("http://testserver/s/" in message.body for message in mail.outbox)

    def test_it_reports_the_survey_figures(self, survey_demo):
        answers = Response.objects.count()
        promoters = Response.objects.filter(band=Band.PROMOTER).count()
        deliveries = Delivery.objects.count()
        assert f"{deliveries:,} deliveries, {answers:,} answers (promoters {promoters / answers:.0%}" in survey_demo
        assert f"; {len(due_now())} survey emails due now will be sent by the worker" in survey_demo


@pytest.mark.django_db
class TestWithoutToday:
    def test_survey_emails_are_due_by_the_clock_so_the_worker_sends_them_at_once(self):
        call_command("seed_demo", customers=60, seed=2, stdout=io.StringIO())
        now = timezone.now()

        scheduled = Invitation.objects.filter(status=InvitationStatus.SCHEDULED)

        assert scheduled.filter(next_attempt_at__lte=now, expires_at__gt=now).count() >= 10
        assert scheduled.filter(next_attempt_at__gt=now).exists()
        assert not scheduled.filter(next_attempt_at__gt=now + timedelta(hours=1)).exists()
        assert services.expire_invitations(now=now) == 0


def opens_with_the_demo_password(username: str) -> bool:
    # As the login page asks: the sign-in lockout (axes) checks every attempt's request.
    login = RequestFactory().post("/login/")
    return authenticate(login, username=username, password=settings.DEMO_PASSWORD) is not None


@pytest.mark.django_db
class TestLogins:
    def test_every_demo_login_opens_with_the_demo_password(self):
        seed_demo(customers=20, seed=1)
        for username in DEMO_USERNAMES:
            assert opens_with_the_demo_password(username), username

    def test_the_staff_login_is_a_superuser_in_cx_leads_and_managers_are_not_staff(self):
        seed_demo(customers=20, seed=1)
        staff = get_user_model().objects.get(username="cx.lead")
        assert staff.is_staff and staff.is_superuser
        assert staff.groups.filter(name="CX leads").exists()
        managers = get_user_model().objects.filter(username__in=DEMO_USERNAMES[1:])
        assert managers.count() == 5
        assert not managers.filter(is_staff=True).exists()
        assert all(manager.first_name and manager.last_name and manager.email for manager in managers)

    def test_if_empty_on_loaded_data_still_restores_the_logins(self):
        CustomerFactory()
        seed_demo(if_empty=True)
        manager = get_user_model().objects.get(username="ana.garcia")
        manager.set_password("something else")
        manager.save()

        output = seed_demo(if_empty=True)

        assert "Demo data already loaded" in output
        assert opens_with_the_demo_password("ana.garcia")
        assert get_user_model().objects.filter(username__in=DEMO_USERNAMES).count() == 6
        assert Customer.objects.count() == 1

    def test_if_empty_on_an_empty_database_seeds(self):
        seed_demo(customers=30, seed=1, if_empty=True)
        assert Customer.objects.count() == 30


@pytest.mark.django_db
class TestDeterminism:
    def test_the_same_seed_gives_the_same_data(self):
        seed_demo(customers=300, seed=7)
        first = fingerprint()
        Customer.objects.all().delete()

        seed_demo(customers=300, seed=7)

        assert fingerprint() == first

    def test_different_seeds_give_different_data(self):
        seed_demo(customers=300, seed=7)
        first = fingerprint()
        Customer.objects.all().delete()

        seed_demo(customers=300, seed=8)

        second = fingerprint()
        assert second[0] != first[0]
        assert second[2] != first[2]
        assert second[3] != first[3]
        assert second[4] != first[4]

    def test_without_a_seed_it_prints_one_that_reproduces_the_data(self):
        output = seed_demo(customers=100)
        first = fingerprint()
        Customer.objects.all().delete()

        seed = int(re.search(r"Seed (\d+)", output).group(1))
        seed_demo(customers=100, seed=seed)

        assert fingerprint() == first


@pytest.mark.django_db
class TestDefaultSurvey:
    def test_it_makes_the_default_survey_again_when_the_database_lost_it(self):
        Survey.objects.all().delete()  # as a flush after migrating leaves it

        seed_demo(customers=30, seed=1)

        survey = Survey.objects.get()
        assert (survey.is_default, survey.slug) == (True, "post-delivery")
        assert Delivery.objects.exclude(survey=survey).count() == 0
        assert Delivery.objects.exists()


@pytest.mark.django_db
class TestSmallAndBadInput:
    def test_a_single_customer_is_a_large_one(self):
        assert segment_sizes(1) == {LARGE: 1, MID: 0, SMALL: 0}
        seed_demo(customers=1, seed=3)
        assert Customer.objects.get().tier == 1

    def test_segment_sizes_scale_with_the_number_of_customers(self):
        assert segment_sizes(5000) == {LARGE: 50, MID: 200, SMALL: 4750}

    def test_it_rejects_a_date_that_is_not_iso(self):
        with pytest.raises(CommandError, match="YYYY-MM-DD"):
            call_command("seed_demo", "--today", "15/06/2026", stdout=io.StringIO())

    def test_it_rejects_zero_customers(self):
        with pytest.raises(CommandError, match="at least 1"):
            call_command("seed_demo", "--customers", "0", stdout=io.StringIO())


OUR_APPS = ("core", "customers", "surveys", "insights")


def rows_in_our_tables() -> dict[str, int]:
    from django.apps import apps

    return {
        model._meta.label: model.objects.count()
        for app in OUR_APPS
        for model in apps.get_app_config(app).get_models()
    }


@pytest.mark.django_db(transaction=True)
def test_removing_the_demo_leaves_each_of_our_tables_as_it_found_it(fast_password_hashing):
    # A class of tests shares one committed demo; whatever its removal left behind (the
    # insights' counts, the day the value metrics stand for) a later test would read.
    before = rows_in_our_tables()
    seed_demo(customers=60, seed=3)
    remove_demo()
    after = rows_in_our_tables()
    assert {label: (before[label], count) for label, count in after.items() if count != before[label]} == {}
