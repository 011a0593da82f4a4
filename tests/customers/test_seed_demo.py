from __future__ import annotations

import io
import re
from collections import Counter
from datetime import date

import pytest
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count
from django.test import override_settings

from customers import demo
from customers.models import Contact, Customer, Invoice
from tests.factories import CustomerFactory

TODAY = date(2026, 6, 15)
DEMO_USERNAMES = [demo.STAFF_LOGIN[0], *(login[0] for login in demo.ACCOUNT_MANAGER_LOGINS)]
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
        Customer.objects.all().delete()
        get_user_model().objects.filter(username__in=DEMO_USERNAMES).delete()
        Group.objects.filter(name=demo.CX_LEADS_GROUP).delete()


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
        assert large.filter(on_time_rate__lte=0.5, avg_days_late__gte=20).exists()
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
        assert f"Staff login: cx.lead / {settings.DEMO_PASSWORD}" in demo_data
        assert f"Account manager login: ana.garcia / {settings.DEMO_PASSWORD}" in demo_data

    def test_if_empty_does_not_add_a_second_copy(self):
        output = seed_demo(customers=100, seed=12, if_empty=True)
        assert "Demo data already loaded" in output
        assert "Staff login: cx.lead" in output
        assert Customer.objects.count() == 2000

    def test_without_if_empty_it_refuses_to_add_to_existing_customers(self):
        with pytest.raises(CommandError, match="--if-empty"):
            seed_demo(customers=100, seed=12)
        assert Customer.objects.count() == 2000


@pytest.mark.django_db
class TestLogins:
    def test_every_demo_login_opens_with_the_demo_password(self):
        seed_demo(customers=20, seed=1)
        for username in DEMO_USERNAMES:
            assert authenticate(username=username, password=settings.DEMO_PASSWORD) is not None, username

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
        assert authenticate(username="ana.garcia", password=settings.DEMO_PASSWORD) is not None
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

        assert fingerprint()[0] != first[0]
        assert fingerprint()[2] != first[2]

    def test_without_a_seed_it_prints_one_that_reproduces_the_data(self):
        output = seed_demo(customers=100)
        first = fingerprint()
        Customer.objects.all().delete()

        seed = int(re.search(r"Seed (\d+)", output).group(1))
        seed_demo(customers=100, seed=seed)

        assert fingerprint() == first


@pytest.mark.django_db
class TestSmallAndBadInput:
    def test_a_single_customer_is_a_large_one(self):
        assert demo.segment_sizes(1) == {demo.LARGE: 1, demo.MID: 0, demo.SMALL: 0}
        seed_demo(customers=1, seed=3)
        assert Customer.objects.get().tier == 1

    def test_segment_sizes_scale_with_the_number_of_customers(self):
        assert demo.segment_sizes(5000) == {demo.LARGE: 50, demo.MID: 200, demo.SMALL: 4750}

    def test_it_rejects_a_date_that_is_not_iso(self):
        with pytest.raises(CommandError, match="YYYY-MM-DD"):
            call_command("seed_demo", "--today", "15/06/2026", stdout=io.StringIO())

    def test_it_rejects_zero_customers(self):
        with pytest.raises(CommandError, match="at least 1"):
            call_command("seed_demo", "--customers", "0", stdout=io.StringIO())
