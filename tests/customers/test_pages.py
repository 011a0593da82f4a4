from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import factory
import pytest
from django.template import loader
from django.urls import reverse
from django.utils import timezone

from customers.models import Band
from tests.factories import AlertFactory, ContactFactory, CustomerFactory, InvoiceFactory, StaffFactory, UserFactory
from tests.support.pages import without_csrf

pytestmark = pytest.mark.django_db

LIST_URL = reverse("customers:list")


@pytest.fixture
def manager(client):
    """A CX lead (staff), who reads every customer: the list's behaviour over many
    customers. What an account manager sees is TestVisibility's."""
    user = StaffFactory(first_name="Ana", last_name="Lead")
    client.force_login(user)
    return user


def names(response) -> list[str]:
    return [customer.name for customer in response.context["page"]]


def detail_url(customer) -> str:
    return reverse("customers:detail", args=[customer.pk])


def invoice_days_from_today(*, issued_on: int, due_on: int = 30, paid_on: int | None = 30, **fields):
    """An invoice whose dates are given as days from today (negative: in the past)."""
    today = timezone.localdate()
    return InvoiceFactory(
        issued_on=today + timedelta(days=issued_on),
        due_on=today + timedelta(days=due_on),
        paid_on=None if paid_on is None else today + timedelta(days=paid_on),
        **fields,
    )


class TestLayout:
    def test_pages_load_the_stylesheet_and_htmx_from_the_app_itself(self, client, manager):
        html = client.get(LIST_URL).content.decode()
        assert '<link rel="stylesheet" href="/static/css/app.css">' in html
        assert '<script src="/static/django_htmx/htmx-2.min.js" defer></script>' in html
        assert "https://" not in html and "http://" not in html

    def test_the_app_serves_the_stylesheet_and_htmx(self, client):
        for path in ("/static/css/app.css", "/static/django_htmx/htmx-2.min.js"):
            response = client.get(path)
            assert response.status_code == 200, path
            response.close()

    def test_the_csrf_token_rides_on_every_htmx_request(self, client, manager):
        html = client.get(LIST_URL).content.decode()
        assert "<body hx-headers='{\"X-CSRFToken\": \"" in html

    def test_account_managers_see_no_admin_link(self, client):
        client.force_login(UserFactory(first_name="Ana", last_name="Manager"))
        html = client.get(LIST_URL).content.decode()
        assert "Ana Manager" in html
        assert reverse("admin:index") not in html

    def test_staff_see_the_admin_link(self, client):
        client.force_login(StaffFactory())
        assert reverse("admin:index") in client.get(LIST_URL).content.decode()

    def test_log_out_is_a_post_that_returns_to_the_login_page(self, client, manager):
        assert f'<form method="post" action="{reverse("logout")}">' in client.get(LIST_URL).content.decode()
        response = client.post(reverse("logout"))
        assert response.status_code == 302
        assert response.url == reverse("login")
        assert client.get(LIST_URL).status_code == 302


    @pytest.mark.parametrize("logged_in", [True, False])
    def test_an_unknown_address_shows_the_friendly_not_found_page(self, client, logged_in):
        if logged_in:
            client.force_login(UserFactory())
        response = client.get("/no/such/page/")
        assert response.status_code == 404
        assert "Page not found" in response.content.decode()

    def test_the_server_error_page_needs_no_request(self):
        assert "Something went wrong" in loader.get_template("500.html").render()


class TestLogin:
    def test_it_shows_the_login_form(self, client):
        response = client.get(reverse("login"))
        assert response.status_code == 200
        assert 'autocomplete="current-password"' in response.content.decode()

    def test_a_wrong_password_shows_the_error(self, client):
        UserFactory(username="ana")
        response = client.post(reverse("login"), {"username": "ana", "password": "wrong"})
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()

    def test_missing_fields_are_marked_invalid(self, client):
        html = client.post(reverse("login"), {"username": "", "password": ""}).content.decode()
        assert "This field is required." in html
        assert 'aria-invalid="true"' in html

    def test_the_right_password_leads_to_the_alert_queue(self, client):
        UserFactory(username="ana")
        response = client.post(
            reverse("login"), {"username": "ana", "password": "correct horse battery staple"}
        )
        assert response.status_code == 302
        assert response.url == reverse("insights:alerts")


class TestCustomerListAccess:
    def test_it_redirects_anonymous_users_to_login(self, client):
        response = client.get(LIST_URL)
        assert response.status_code == 302
        assert response.url == f"{reverse('login')}?next={LIST_URL}"

    def test_staff_see_every_customer(self, client, manager):
        CustomerFactory(name="Theirs", account_manager=UserFactory())
        CustomerFactory(name="Nobody's")
        assert sorted(names(client.get(LIST_URL))) == ["Nobody's", "Theirs"]


class TestVisibility:
    """An account manager reads the customers they manage and those with an alert handed
    to them; any other customer does not exist for them."""

    @pytest.fixture
    def ana(self, client):
        user = UserFactory(username="ana")
        client.force_login(user)
        return user

    def test_an_account_manager_lists_only_their_own_customers(self, client, ana):
        CustomerFactory(name="Mine", account_manager=ana)
        CustomerFactory(name="Theirs", account_manager=UserFactory())
        CustomerFactory(name="Nobody's")
        assert names(client.get(LIST_URL)) == ["Mine"]

    def test_another_managers_customer_is_the_same_404_as_an_unknown_id(self, client, ana):
        theirs = CustomerFactory(name="Theirs Inc", account_manager=UserFactory())
        ContactFactory(customer=theirs, email="secret@theirs.test")
        hidden = client.get(detail_url(theirs))
        unknown = client.get(reverse("customers:detail", args=[theirs.pk + 1000]))
        assert hidden.status_code == unknown.status_code == 404
        assert without_csrf(hidden.content) == without_csrf(unknown.content)
        assert b"secret@theirs.test" not in hidden.content

    def test_an_alert_handed_over_opens_its_customer(self, client, ana):
        theirs = CustomerFactory(name="Theirs Inc", account_manager=UserFactory())
        AlertFactory(customer=theirs, assignee=ana)
        assert client.get(detail_url(theirs)).status_code == 200
        assert names(client.get(LIST_URL)) == ["Theirs Inc"]

    def test_an_alert_handed_on_to_someone_else_closes_it_again(self, client, ana):
        theirs = CustomerFactory(account_manager=UserFactory())
        alert = AlertFactory(customer=theirs, assignee=ana)
        alert.assignee = UserFactory()
        alert.save()
        assert client.get(detail_url(theirs)).status_code == 404

    def test_it_shows_the_customer_columns(self, client, manager):
        CustomerFactory(
            name="Acme",
            external_id="CRM-ACME",
            tier=1,
            revenue_12m=Decimal("1234567.00"),
            net_value=Decimal("-500.00"),
            on_time_rate=0.75,
            avg_days_late=3.25,
            account_manager=manager,
            latest_score=4,
            latest_band=Band.AT_RISK,
        )
        html = client.get(LIST_URL).content.decode()
        for text in ("Acme", "CRM-ACME", "badge-tier-1", "€1,234,567", "75%", "3.3", "-€500", "Ana Lead"):
            assert text in html, text
        assert '<span class="badge badge-at_risk">At risk</span>' in html

    def test_a_customer_without_an_answer_shows_a_dash(self, client, manager):
        CustomerFactory(name="Quiet", latest_score=None)
        html = client.get(LIST_URL).content.decode()
        assert '<span class="muted">—</span>' in html
        assert "badge-promoter" not in html


class TestCustomerListSearch:
    def test_search_matches_the_name_ignoring_case(self, client, manager):
        CustomerFactory(name="Acme Logistics")
        CustomerFactory(name="Globex")
        assert names(client.get(LIST_URL, {"q": "acme"})) == ["Acme Logistics"]

    def test_search_matches_external_id(self, client, manager):
        CustomerFactory(name="Acme", external_id="SAP-7781")
        CustomerFactory(name="Globex", external_id="SAP-1234")
        assert names(client.get(LIST_URL, {"q": "sap-77"})) == ["Acme"]

    @pytest.mark.parametrize("search", ["crescent interiors co", "CRESCENT INTERIORS CO.", "crescent-interiors", "Crescent  Interiors, Co"])
    def test_search_ignores_punctuation_spaces_and_case(self, client, manager, search):
        CustomerFactory(name="Crescent Interiors Co.")
        CustomerFactory(name="Crescent Bakery")
        assert names(client.get(LIST_URL, {"q": search})) == ["Crescent Interiors Co."]

    def test_search_finds_names_written_with_apostrophes_and_ampersands(self, client, manager):
        CustomerFactory(name="O’Neil & Sons (Ltd.)")
        assert names(client.get(LIST_URL, {"q": "oneil sons ltd"})) == ["O’Neil & Sons (Ltd.)"]
        assert names(client.get(LIST_URL, {"q": "o'neil"})) == ["O’Neil & Sons (Ltd.)"]

    def test_a_search_of_punctuation_alone_matches_it_as_typed(self, client, manager):
        CustomerFactory(name="A.B.C. Freight")
        CustomerFactory(name="Globex")
        assert names(client.get(LIST_URL, {"q": "."})) == ["A.B.C. Freight"]

    def test_no_match_says_so(self, client, manager):
        CustomerFactory(name="Acme")
        html = client.get(LIST_URL, {"q": "zzz"}).content.decode()
        assert "No customers match these filters." in html


class TestCustomerListSort:
    @pytest.fixture
    def customers(self):
        CustomerFactory(name="Beta", revenue_12m=500, net_value=400, tier=2, latest_score=9)
        CustomerFactory(name="Alpha", revenue_12m=100, net_value=-50, tier=4, latest_score=None)
        CustomerFactory(name="Gamma", revenue_12m=900, net_value=100, tier=1, latest_score=3)
        CustomerFactory(name="Delta", revenue_12m=0, net_value=0, tier=None, latest_score=6)

    def test_it_sorts_by_revenue_largest_first_by_default(self, client, manager, customers):
        assert names(client.get(LIST_URL)) == ["Gamma", "Beta", "Alpha", "Delta"]

    def test_sort_by_revenue_ascending_puts_the_smallest_first(self, client, manager, customers):
        assert names(client.get(LIST_URL, {"sort": "revenue"})) == ["Delta", "Alpha", "Beta", "Gamma"]

    def test_sort_by_name_both_ways(self, client, manager, customers):
        assert names(client.get(LIST_URL, {"sort": "name"})) == ["Alpha", "Beta", "Delta", "Gamma"]
        assert names(client.get(LIST_URL, {"sort": "-name"})) == ["Gamma", "Delta", "Beta", "Alpha"]

    def test_sort_by_tier_puts_tier_one_first_and_untiered_customers_last(self, client, manager, customers):
        assert names(client.get(LIST_URL, {"sort": "tier"})) == ["Gamma", "Beta", "Alpha", "Delta"]
        assert names(client.get(LIST_URL, {"sort": "-tier"})) == ["Alpha", "Beta", "Gamma", "Delta"]

    def test_sort_by_score_keeps_customers_without_an_answer_last_both_ways(self, client, manager, customers):
        assert names(client.get(LIST_URL, {"sort": "score"})) == ["Gamma", "Delta", "Beta", "Alpha"]
        assert names(client.get(LIST_URL, {"sort": "-score"})) == ["Beta", "Delta", "Gamma", "Alpha"]

    def test_sort_by_net_value_puts_the_most_valuable_first(self, client, manager, customers):
        assert names(client.get(LIST_URL, {"sort": "-net_value"})) == ["Beta", "Gamma", "Delta", "Alpha"]

    @pytest.mark.parametrize("sort", ["bogus", "--name", "-", "revenue_12m"])
    def test_an_unknown_sort_falls_back_to_revenue_descending(self, client, manager, customers, sort):
        response = client.get(LIST_URL, {"sort": sort})
        assert response.status_code == 200
        assert names(response) == ["Gamma", "Beta", "Alpha", "Delta"]

    def test_the_active_column_header_flips_the_direction(self, client, manager, customers):
        html = client.get(LIST_URL, {"sort": "name"}).content.decode()
        assert '<th scope="col" aria-sort="ascending"><a href="?sort=-name">Name</a></th>' in html
        assert 'aria-sort="descending"' not in html


class TestCustomerListFilters:
    def test_filter_by_tier(self, client, manager):
        CustomerFactory(name="Big", tier=1)
        CustomerFactory(name="Small", tier=4)
        assert names(client.get(LIST_URL, {"tier": "1"})) == ["Big"]

    def test_mine_shows_only_the_current_users_customers(self, client, manager):
        CustomerFactory(name="Mine", account_manager=manager)
        CustomerFactory(name="Theirs", account_manager=UserFactory())
        assert names(client.get(LIST_URL, {"manager": "mine"})) == ["Mine"]

    def test_filter_by_a_named_account_manager(self, client, manager):
        colleague = UserFactory(first_name="Bo", last_name="Colleague")
        CustomerFactory(name="Mine", account_manager=manager)
        CustomerFactory(name="Theirs", account_manager=colleague)
        response = client.get(LIST_URL, {"manager": str(colleague.pk)})
        assert names(response) == ["Theirs"]
        assert f'<option value="{colleague.pk}" selected>Bo Colleague</option>' in response.content.decode()

    def test_unassigned_shows_customers_without_an_account_manager(self, client, manager):
        CustomerFactory(name="Mine", account_manager=manager)
        CustomerFactory(name="Orphan", account_manager=None)
        assert names(client.get(LIST_URL, {"manager": "none"})) == ["Orphan"]

    def test_the_manager_filter_lists_only_users_who_manage_customers(self, client, manager):
        CustomerFactory(account_manager=UserFactory(first_name="Bo", last_name="Busy"))
        UserFactory(first_name="Idle", last_name="User")
        html = client.get(LIST_URL).content.decode()
        assert "Bo Busy" in html
        assert "Idle User" not in html

    @pytest.mark.parametrize(
        "query",
        [{"tier": "9"}, {"tier": "one"}, {"manager": "someone"}, {"manager": "²"}, {"manager": "9" * 30}],
    )
    def test_a_malformed_filter_is_ignored(self, client, manager, query):
        CustomerFactory(name="Acme", tier=1, account_manager=manager)
        response = client.get(LIST_URL, query)
        assert response.status_code == 200
        assert names(response) == ["Acme"]


class TestCustomerListPagination:
    def test_it_shows_fifty_customers_a_page(self, client, manager):
        CustomerFactory.create_batch(51)
        assert len(names(client.get(LIST_URL))) == 50
        assert len(names(client.get(LIST_URL, {"page": "2"}))) == 1

    def test_pagination_links_keep_search_filters_and_sort(self, client, manager):
        CustomerFactory.create_batch(51, name=factory.Sequence(lambda n: f"Acme {n:03d}"), tier=2)
        html = client.get(LIST_URL, {"q": "acme", "tier": "2", "sort": "name"}).content.decode()
        assert 'href="?q=acme&amp;tier=2&amp;sort=name&amp;page=2" rel="next"' in html

    def test_sort_links_keep_the_filters_and_go_back_to_the_first_page(self, client, manager):
        CustomerFactory.create_batch(51, tier=2)
        html = client.get(LIST_URL, {"tier": "2", "page": "2"}).content.decode()
        assert 'href="?tier=2&amp;sort=name">Name</a>' in html

    @pytest.mark.parametrize(("page", "expected"), [("abc", 1), ("0", 2), ("999", 2), ("-1", 2)])
    def test_a_bad_page_number_gives_the_first_or_last_page(self, client, manager, page, expected):
        CustomerFactory.create_batch(51)
        response = client.get(LIST_URL, {"page": page})
        assert response.status_code == 200
        assert response.context["page"].number == expected


class TestCustomerListHtmx:
    def test_htmx_request_gets_only_the_table(self, client, manager):
        CustomerFactory(name="Acme")
        response = client.get(LIST_URL, {"q": "acm"}, headers={"HX-Request": "true"})
        html = response.content.decode()
        assert response.status_code == 200
        assert '<div id="customer-results"' in html
        assert "Acme" in html
        assert "<html" not in html
        assert 'id="customer-filters"' not in html
        assert "HX-Request" in response["Vary"]

    def test_a_history_restore_gets_the_whole_page(self, client, manager):
        response = client.get(
            LIST_URL, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
        )
        assert "<html" in response.content.decode()

    def test_the_full_page_varies_on_htmx_too(self, client, manager):
        assert "HX-Request" in client.get(LIST_URL)["Vary"]

    def test_the_search_form_updates_the_table_in_place_and_works_without_javascript(self, client, manager):
        html = client.get(LIST_URL).content.decode()
        assert f'method="get" action="{LIST_URL}"' in html
        assert 'hx-target="#customer-results"' in html
        assert 'hx-push-url="true"' in html
        assert 'hx-trigger="input changed delay:300ms, search"' in html
        assert '<button type="submit" class="btn btn-primary">Apply</button>' in html

    def test_the_sort_chosen_in_the_table_is_submitted_with_the_form(self, client, manager):
        html = client.get(LIST_URL, {"sort": "-score"}, headers={"HX-Request": "true"}).content.decode()
        assert '<input type="hidden" name="sort" value="-score" form="customer-filters">' in html


class TestCustomerListQueries:
    @pytest.mark.parametrize("count", [5, 30])
    def test_list_makes_a_constant_number_of_queries(self, client, manager, django_assert_num_queries, count):
        managers = [manager, *UserFactory.create_batch(2)]
        for index in range(count):
            CustomerFactory(
                account_manager=managers[index % 3], tier=1 + index % 4, latest_score=index % 10 or None
            )
        # session, user, count, page of customers with their managers, managers for the
        # filter, the navigation's open-alert count
        with django_assert_num_queries(6):
            response = client.get(LIST_URL)
        assert len(names(response)) == count

    @pytest.mark.parametrize("count", [5, 30])
    def test_htmx_list_skips_the_filter_options(self, client, manager, django_assert_num_queries, count):
        managers = UserFactory.create_batch(2)
        for index in range(count):
            CustomerFactory(account_manager=managers[index % 2])
        with django_assert_num_queries(4):
            client.get(LIST_URL, {"q": "customer"}, headers={"HX-Request": "true"})


class TestCustomerDetail:
    def test_it_redirects_anonymous_users_to_login(self, client):
        customer = CustomerFactory()
        response = client.get(detail_url(customer))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    def test_an_unknown_customer_is_not_found(self, client, manager):
        response = client.get(reverse("customers:detail", args=[999999]))
        assert response.status_code == 404
        assert "Page not found" in response.content.decode()

    def test_detail_shows_invoices_and_contacts(self, client, manager):
        customer = CustomerFactory(name="Acme", external_id="CRM-ACME", account_manager=manager)
        ContactFactory(
            customer=customer, name="Jo Buyer", email="jo@acme.test", language="es", opted_out=True,
            opted_out_at=timezone.now(), opt_out_reason="unsubscribed",
        )
        InvoiceFactory(customer=customer, number="INV-1", amount=Decimal("1234.50"))
        html = client.get(detail_url(customer)).content.decode()
        opted_out = f'<span class="badge badge-warning">Opted out, {timezone.localdate():%-d %b %Y}</span>'
        for text in ("Acme", "CRM-ACME", "Ana Lead", "Jo Buyer", "jo@acme.test", "Spanish", opted_out):
            assert text in html, text
        assert "INV-1" in html
        assert "1,234.50" in html
        assert "1 invoice" in html

    @pytest.mark.parametrize(
        ("state", "badge"),
        [
            ({}, '<span class="badge badge-success">Reachable</span>'),
            ({"opted_out": True, "opt_out_reason": "unsubscribed"}, 'badge-warning">Opted out, 3 May 2026</span>'),
            ({"opted_out": True, "opt_out_reason": "staff"}, "by staff"),
            ({"opted_out": True, "opt_out_reason": "complained"}, 'badge-danger">Complained, 3 May 2026</span>'),
            ({"undeliverable_reason": "bounced"}, 'badge-danger">Bounced, 3 May 2026</span>'),
            ({"undeliverable_reason": "soft_bounces"}, "soft bounces, three messages in 30 days"),
        ],
    )
    def test_account_managers_see_whether_surveys_reach_each_contact(self, client, manager, state, badge):
        customer = CustomerFactory(account_manager=manager)
        when = datetime(2026, 5, 3, 12, tzinfo=dt_timezone.utc)
        if state.get("opted_out"):
            state["opted_out_at"] = when
        if state.get("undeliverable_reason"):
            state["undeliverable_at"] = when
        ContactFactory(customer=customer, **state)
        assert badge in client.get(detail_url(customer)).content.decode()

    def test_it_shows_the_value_tiles(self, client, manager):
        customer = CustomerFactory(
            tier=2,
            revenue_12m=Decimal("50000"),
            net_value=Decimal("42000"),
            cost_to_serve=Decimal("8000"),
            on_time_rate=0.9,
            avg_days_late=1.5,
            latest_score=10,
            latest_band=Band.PROMOTER,
            latest_answer_at=timezone.now(),
            metrics_updated_at=timezone.now(),
        )
        html = client.get(detail_url(customer)).content.decode()
        for text in ("50,000", "42,000", "8,000", "90%", "1.5", "badge-tier-2", "High value", "Promoter"):
            assert text in html, text
        assert "answered" in html

    def test_a_customer_without_an_answer_says_so(self, client, manager):
        customer = CustomerFactory(tier=3, latest_score=None)
        html = client.get(detail_url(customer)).content.decode()
        assert "No answer yet" in html
        assert "High value" not in html

    def test_it_tells_paid_unpaid_and_overdue_invoices_apart(self, client, manager):
        customer = CustomerFactory()
        invoice_days_from_today(customer=customer, number="LATE", issued_on=-40, due_on=-10, paid_on=None)
        invoice_days_from_today(customer=customer, number="OPEN", issued_on=-5, due_on=25, paid_on=None)
        invoice_days_from_today(customer=customer, number="PAID", issued_on=-90, due_on=-60, paid_on=-57)
        html = client.get(detail_url(customer)).content.decode()
        assert "Overdue 10 days" in html
        assert '<span class="badge">Unpaid</span>' in html
        assert "3 days late" in html

    def test_it_shows_the_fifty_most_recent_invoices_and_the_total(self, client, manager):
        customer = CustomerFactory()
        for days_ago in range(55):
            invoice_days_from_today(customer=customer, number=f"N{days_ago:02d}", issued_on=-days_ago)
        response = client.get(detail_url(customer))
        shown = [row.invoice.number for row in response.context["invoices"]]
        assert shown == [f"N{days_ago:02d}" for days_ago in range(50)]
        assert "The 50 most recent of 55" in response.content.decode()

    @pytest.mark.parametrize("count", [2, 20])
    def test_detail_makes_a_constant_number_of_queries(self, client, manager, django_assert_num_queries, count):
        customer = CustomerFactory(account_manager=manager)
        ContactFactory.create_batch(count, customer=customer)
        InvoiceFactory.create_batch(count, customer=customer)
        # session, user, customer with manager, contacts, recent invoices, invoice count,
        # the audit trail and the people it names, the navigation's open-alert count
        with django_assert_num_queries(9):
            client.get(detail_url(customer))
