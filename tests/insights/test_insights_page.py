"""The insights page for staff: figures, filters in the query string, htmx, charts."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from insights.dashboard import figures
from tests.factories import CustomerFactory, ResponseFactory, StaffFactory, UserFactory
from tests.insights.test_figures import portfolio  # noqa: F401  (the hand-computed data set)

pytestmark = pytest.mark.django_db

PAGE = reverse("insights:insights")
JUNE = {"from": "2026-06-01", "to": "2026-06-30"}
HTMX = {"HX-Request": "true"}
CHARTS = ["net-score", "band-mix", "tier", "manager", "survey", "value-map", "pareto"]


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory(username="cx.lead"))
    return client


def figure(html: str, name: str) -> str:
    """The text of the headline figure with id `figure-<name>`, tags stripped."""
    match = re.search(rf'id="figure-{name}">(.*?)</(?:dd|strong)>', html, re.S)
    assert match, f"no figure {name}"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


class TestAccess:
    def test_anonymous_users_are_sent_to_log_in(self, client):
        response = client.get(PAGE)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_an_account_manager_sees_the_figures_of_their_own_book(self, client, staff_client, portfolio):
        for_staff = staff_client.get(PAGE, {**JUNE, "account_manager": "ana"}).content.decode()
        client.force_login(portfolio["ana"])
        html = client.get(PAGE, JUNE).content.decode()
        assert figure(html, "responses") == figure(for_staff, "responses") == "2"
        assert "Over your own book" in html
        assert 'name="account_manager"' not in html
        for name in ("Bravo", "Echo", "Foxtrot", "Delta"):
            assert name not in html

    def test_staff_and_account_managers_see_it_in_the_navigation(self, client, staff_client):
        response = staff_client.get(reverse("insights:alerts"))
        assert f'href="{PAGE}"' in response.content.decode()
        client.force_login(UserFactory())
        assert f'href="{PAGE}"' in client.get(reverse("insights:alerts")).content.decode()


class TestFigures:
    def test_the_headline_figures_of_the_period(self, staff_client, portfolio):
        html = staff_client.get(PAGE, JUNE).content.decode()
        assert figure(html, "responses") == "6"
        assert figure(html, "response-rate") == "78%"
        assert figure(html, "net-score") == "-16.7"
        assert figure(html, "weighted-net-score") == "-74.0"
        assert figure(html, "revenue-at-risk") == "€770,000"
        assert figure(html, "alerts") == "2"
        assert "1 overdue for acknowledgement" in html

    def test_every_chart_is_drawn_with_its_numbers_as_a_table(self, staff_client, portfolio):
        html = staff_client.get(PAGE, JUNE).content.decode()
        for chart in CHARTS:
            assert f'data-chart="{chart}"' in html, chart
        assert html.count('<svg class="insight-svg"') == len(CHARTS)
        assert html.count('<details class="chart-table">') == len(CHARTS)

    def test_the_map_names_the_quadrants_with_their_customers(self, staff_client, portfolio):
        html = staff_client.get(PAGE, JUNE).content.decode()
        for name in ["Protect", "Maintain", "Grow", "Rethink"]:
            assert f"<h3>{name}</h3>" in html
        assert html.split('data-chart="value-map"')[1].split("</svg>")[0].count('<path class="map-point') == 4
        assert "Alpha: revenue €700,000, latest score 3, tier 1, paid on time 90%" in html

    def test_the_maps_marks_are_shaped_by_punctuality_never_coloured_like_the_bands(self, staff_client, portfolio):
        html = staff_client.get(PAGE, JUNE).content.decode()
        svg = html.split('data-chart="value-map"')[1].split("</svg>")[0]
        assert "band-" not in svg  # the bands' colours are for answers only
        assert "Shape: how they pay" in html
        for words in ["Pays on time (90% or more)", "Often late (70–90%)", "Mostly late (under 70%)"]:
            assert words in html

    def test_each_bars_number_says_it_is_the_net_score(self, staff_client, portfolio):
        html = staff_client.get(PAGE, JUNE).content.decode()
        bars = html.split('data-chart="tier"')[1].split("</svg>")[0]
        values = re.findall(r'class="chart-value"[^>]*><title>Net score of [^<]*</title>([^<]*)</text>', bars)
        assert values and all(re.fullmatch(r"net [+-]?\d+|no answers", value) for value in values), values

    def test_silent_risk_and_comments(self, staff_client, portfolio):
        html = staff_client.get(PAGE, JUNE).content.decode()
        # The page's "now" is today, months after June: every tier 1–2 customer is silent.
        silent = html.split('id="silent-risk"')[1].split("</table>")[0]
        assert [name for name in ["Alpha", "Bravo", "Charlie", "Echo", "Foxtrot"] if name in silent] == [
            "Alpha", "Bravo", "Echo", "Foxtrot"
        ]
        assert "Late again." in html
        assert "Broken on arrival." not in html  # tier 3

    def test_silent_risk_names_link_to_the_customer(self, staff_client, portfolio):
        html = staff_client.get(PAGE, JUNE).content.decode()
        alpha = Customer.objects.get(name="Alpha")
        silent = html.split('id="silent-risk"')[1].split("</table>")[0]
        assert f'<a href="{reverse("customers:detail", args=[alpha.pk])}">Alpha</a>' in silent

    def test_when_more_are_silent_than_shown_the_page_links_to_the_full_list(self, staff_client, portfolio,
                                                                              monkeypatch):
        monkeypatch.setattr(figures, "SILENT_SHOWN", 2)
        html = staff_client.get(PAGE, {**JUNE, "tier": "2"}).content.decode()
        assert "see all 2 silent customers" not in html  # tier 2: Bravo and Foxtrot, both shown
        html = staff_client.get(PAGE, JUNE).content.decode()
        link = f'href="{reverse("insights:silent-risk")}?from=2026-06-01&amp;to=2026-06-30"'
        assert f'<a id="silent-risk-all" {link}>see all 4 silent customers</a>' in html

    def test_the_full_silent_list_shows_every_one_with_links_largest_first(self, staff_client, portfolio):
        response = staff_client.get(reverse("insights:silent-risk"), JUNE)
        html = response.content.decode()
        assert response.status_code == 200
        assert "Silent risk: 4 customers" in html
        names = re.findall(r'<a href="/customers/\d+/">(\w+)</a>', html)
        assert names == ["Alpha", "Echo", "Bravo", "Foxtrot"]  # tier 1 by revenue, then tier 2

    def test_an_account_manager_sees_only_their_own_silent_customers(self, client, portfolio):
        client.force_login(Customer.objects.get(name="Echo").account_manager)
        html = client.get(reverse("insights:silent-risk")).content.decode()
        assert re.findall(r'<a href="/customers/\d+/">(\w+)</a>', html) == ["Echo", "Bravo", "Foxtrot"]

    def test_an_empty_portfolio_shows_dashes_not_errors(self, staff_client):
        html = staff_client.get(PAGE).content.decode()
        assert figure(html, "responses") == "0"
        assert figure(html, "net-score") == "—"
        assert "No customer answered in this period." in html


def filter_form(html: str) -> str:
    start = html.index('<form id="insight-filters"')
    return html[start:html.index("</form>", start)]


class TestFilters:
    def test_the_defaults_are_the_last_ninety_days(self, staff_client):
        today = timezone.localdate()
        html = staff_client.get(PAGE).content.decode()
        assert f'value="{today - timedelta(days=89):%Y-%m-%d}"' in html
        assert f'value="{today:%Y-%m-%d}"' in html

    def test_quick_periods_end_today_and_keep_the_other_filters(self, staff_client, portfolio):
        today = timezone.localdate()
        html = staff_client.get(PAGE, {**JUNE, "tier": "2"}).content.decode()
        start = today - timedelta(days=364)
        assert f'href="{PAGE}?from={start:%Y-%m-%d}&amp;to={today:%Y-%m-%d}&amp;tier=2">Last 12 months</a>' in html

    def test_filters_are_read_from_the_query_string_and_shown_chosen(self, staff_client, portfolio):
        html = staff_client.get(PAGE, {**JUNE, "tier": "1", "account_manager": "ana"}).content.decode()
        assert '<option value="1" selected>' in html
        assert '<option value="ana" selected>' in html
        assert figure(html, "responses") == "1"

    def test_exports_and_quadrant_lists_carry_the_filters(self, staff_client, portfolio):
        html = staff_client.get(PAGE, {**JUNE, "survey": "nps"}).content.decode()
        query = "from=2026-06-01&amp;to=2026-06-30&amp;survey=nps"
        assert f'{reverse("insights:export-responses")}?{query}' in html
        assert f'{reverse("insights:export-customers")}?{query}' in html
        assert f'{reverse("insights:quadrant", args=["grow"])}?{query}' not in html  # Delta's NPS answer is at risk
        assert f'{reverse("insights:quadrant", args=["rethink"])}?{query}' in html

    def test_each_breakdown_row_links_to_the_page_filtered_to_it(self, staff_client, portfolio):
        html = staff_client.get(PAGE, JUNE).content.decode()
        assert '<a href="?from=2026-06-01&amp;to=2026-06-30&amp;tier=2">Tier 2</a>' in html
        assert '<a href="?from=2026-06-01&amp;to=2026-06-30&amp;account_manager=ana">Ana Manager</a>' in html
        assert '<a href="?from=2026-06-01&amp;to=2026-06-30&amp;survey=nps">NPS</a>' in html

    def test_htmx_gets_only_the_results(self, staff_client, portfolio):
        response = staff_client.get(PAGE, JUNE, headers=HTMX)
        html = response.content.decode()
        assert html.lstrip().startswith('<div id="insights-results"')
        assert "<form" not in html
        assert "HX-Request" in response["Vary"]

    @pytest.mark.parametrize(
        "query, message",
        [
            ({"from": "June"}, "From: Enter a date as YYYY-MM-DD."),
            ({"from": "2026-07-02", "to": "2026-07-01"}, "To: The period ends before it starts"),
            ({"tier": "9"}, "Tier: Choose a tier from 1 to 4."),
            ({"account_manager": "nobody"}, "Account manager: No account manager has that username."),
        ],
    )
    def test_a_bad_filter_is_named_and_the_defaults_shown(self, staff_client, query, message):
        response = staff_client.get(PAGE, query)
        assert response.status_code == 400
        assert message in response.content.decode()

    def test_a_bad_filter_shows_its_error_on_the_form_beside_the_field(self, staff_client):
        html = staff_client.get(PAGE, {"tier": "9"}).content.decode()
        form = filter_form(html)
        assert '<div class="field field-invalid">\n  <label for="filter-tier">Tier</label>' in form
        assert 'aria-describedby="filter-tier-error"' in form
        assert 'id="filter-tier-error" aria-live="polite">Choose a tier from 1 to 4.</p>' in form

    def test_a_bad_period_keeps_what_was_typed_in_the_form_with_its_error(self, staff_client):
        html = staff_client.get(PAGE, {"from": "2026-07-02", "to": "2026-07-01"}).content.decode()
        form = filter_form(html)
        assert 'value="2026-07-02"' in form and 'value="2026-07-01"' in form  # both, as typed
        assert "The period ends before it starts" in form

    def test_the_valid_filters_still_apply_beside_a_bad_one(self, staff_client, portfolio):
        response = staff_client.get(PAGE, {**JUNE, "tier": "1", "survey": "no-such-survey"})
        html = response.content.decode()
        assert response.status_code == 400
        assert figure(html, "responses") == "1"  # June, tier 1: Alpha's answer
        assert "Survey: No survey has that slug. Showing every survey." in html
        assert '<option value="1" selected>' in html

    def test_htmx_fills_and_clears_the_forms_error_slots_out_of_band(self, staff_client):
        html = staff_client.get(PAGE, {"tier": "9"}, headers=HTMX).content.decode()
        assert 'id="filter-tier-error" aria-live="polite" hx-swap-oob="true">Choose a tier from 1 to 4.</p>' in html
        assert 'id="filter-from-error" aria-live="polite" hx-swap-oob="true"></p>' in html

    def test_figures_that_do_not_follow_the_period_say_what_they_cover(self, staff_client, portfolio):
        html = staff_client.get(PAGE, JUNE).content.decode()
        assert "latest answer in the 180 days to 30 Jun 2026 is at risk" in html
        assert "Open or acknowledged now, whatever the period" in html
        assert "As of today, whatever the period" in html


class TestQuadrantList:
    def test_it_lists_a_quadrants_customers(self, staff_client, portfolio):
        response = staff_client.get(reverse("insights:quadrant", args=["protect"]), JUNE)
        html = response.content.decode()
        assert response.status_code == 200
        assert "Protect: 1 customer" in html
        assert "Alpha" in html and "Bravo" not in html

    def test_htmx_gets_only_the_list(self, staff_client, portfolio):
        html = staff_client.get(reverse("insights:quadrant", args=["maintain"]), JUNE, headers=HTMX).content.decode()
        assert html.lstrip().startswith('<div class="quadrant-list card"')
        assert "Bravo" in html

    def test_an_unknown_quadrant_is_not_found(self, staff_client):
        assert staff_client.get(reverse("insights:quadrant", args=["everything"])).status_code == 404

    def test_an_account_manager_lists_only_their_own_customers(self, client, portfolio):
        client.force_login(portfolio["ben"])
        html = client.get(reverse("insights:quadrant", args=["protect"]), JUNE).content.decode()
        assert "Alpha" not in html
        client.force_login(portfolio["ana"])
        html = client.get(reverse("insights:quadrant", args=["protect"]), JUNE).content.decode()
        assert "Alpha" in html


def add_answers(count: int, *, start: int = 0) -> None:
    for n in range(start, start + count):
        customer = CustomerFactory(tier=1 + n % 4, revenue_12m=Decimal(1000 * (n + 1)),
                                   account_manager=UserFactory(username=f"manager{n % 3}"))
        ResponseFactory(customer=customer, score=1 + n % 10, comment=f"Comment {n}",
                        submitted_at=timezone.now() - timedelta(days=n))


class TestQueries:
    def test_the_page_makes_the_same_queries_however_much_data(self, staff_client, django_assert_num_queries):
        add_answers(3)
        staff_client.get(PAGE)  # warm: the session, the default survey
        # 19: the chart's weeks are counted apart from the tiers, managers and surveys
        # (figures.OVER_TIME), so that neither count's rows grow with the answers.
        with django_assert_num_queries(19) as small:
            staff_client.get(PAGE)
        add_answers(30, start=3)
        with django_assert_num_queries(len(small.captured_queries)):
            staff_client.get(PAGE)

    def test_the_htmx_update_makes_fewer(self, staff_client, django_assert_num_queries):
        add_answers(5)
        with django_assert_num_queries(16):
            staff_client.get(PAGE, headers=HTMX)

    def test_the_quadrant_list(self, staff_client, django_assert_num_queries):
        add_answers(40)
        with django_assert_num_queries(4):
            staff_client.get(reverse("insights:quadrant", args=["grow"]), headers=HTMX)
