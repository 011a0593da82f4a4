"""The CSV exports, through their URLs as a member of staff downloads them.

The answers (period 1–30 June 2026, UTC):

| customer | tier | manager | answers (score, when) |
|---|---|---|---|
| Alpha (CRM-ALPHA) | 1 | ana | 9 on 20 May (before); 3 on 10 June, commented, changed once |
| Bravo (CRM-BRAVO) | 2 | ben | 10 on 5 June; 1 on 21 June, suspect |
| Charlie (CRM-CHARLIE) | 3 | — | 2 at 00:00 on 1 June (the first moment of the period) |
| Delta (CRM-DELTA) | 4 | ana | 9 on the NPS survey at 23:59 on 30 June; 1 at 00:00 on 1 July (after) |
"""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import cycle
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.shortcuts import resolve_url
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import Contact, Customer
from insights.dashboard import exports
from surveys.models import Delivery, Invitation, InvitationStatus, Response, Survey
from tests.factories import CustomerFactory, StaffFactory, SurveyFactory, UserFactory, answer_at

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
JUNE = {"from": "2026-06-01", "to": "2026-06-30"}
RESPONSE_HEADER = [
    "submitted_at", "customer_external_id", "customer", "tier", "account_manager", "contact_email",
    "delivery_reference", "survey", "score", "band", "comment", "revisions",
]
CUSTOMER_HEADER = [
    "external_id", "name", "active", "account_manager", "tier", "currency", "revenue_12m", "cost_to_serve", "net_value",
    "on_time_rate", "avg_days_late", "latest_score", "latest_band", "latest_answer_at",
]
# What a formula-looking text becomes, for each character a spreadsheet reads as a formula's start.
DANGEROUS = [
    ("=HYPERLINK(\"http://evil.example\")", "'=HYPERLINK(\"http://evil.example\")"),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
]


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def answer(customer, score: int, when: datetime, *, suspect: bool = False, reference: str = "", email: str = "",
           **fields) -> Response:
    if reference:
        fields["invitation__delivery__reference"] = reference
    if email:
        fields["invitation__delivery__contact__email"] = email
    return answer_at(customer, score, when, is_suspect=suspect, **fields)


def download(client, name: str, query: dict | None = None) -> list[list[str]]:
    """The export's rows as a spreadsheet would read them, the header first."""
    response = client.get(reverse(f"insights:export-{name}"), query or {})
    assert response.status_code == 200, response.content
    return parse(b"".join(response.streaming_content))


def parse(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


@pytest.fixture(autouse=True)
def utc(settings):
    settings.TIME_ZONE = "UTC"


@pytest.fixture
def staff(client):
    client.force_login(StaffFactory(username="staff"))
    return client


@pytest.fixture
def answers():
    ana = UserFactory(username="ana")
    ben = UserFactory(username="ben")
    nps = SurveyFactory(slug="nps", name="NPS", scale_min=0, satisfied_min=7, promoter_min=9)

    def customer(name: str, tier: int, revenue: int, manager=None) -> Customer:
        return CustomerFactory(external_id=f"CRM-{name.upper()}", name=name, tier=tier,
                               revenue_12m=Decimal(revenue), account_manager=manager)

    alpha = customer("Alpha", 1, 700_000, ana)
    bravo = customer("Bravo", 2, 200_000, ben)
    charlie = customer("Charlie", 3, 70_000)
    delta = customer("Delta", 4, 30_000, ana)
    answer(alpha, 9, at(5, 20))
    answer(alpha, 3, at(6, 10), comment="Late again.", reference="ORDER-A2", email="alpha@example.com",
           revisions=1)
    answer(bravo, 10, at(6, 5), reference="ORDER-B1", email="bravo@example.com")
    answer(bravo, 1, at(6, 21), suspect=True)
    answer(charlie, 2, at(6, 1, 0), comment="Broken on arrival.", reference="ORDER-C1",
           email="charlie@example.com")
    answer(delta, 9, at(6, 30, 23, 59), survey=nps, reference="ORDER-D1", email="delta@example.com")
    answer(delta, 1, at(7, 1, 0))
    return {"ana": ana, "ben": ben, "nps": nps}


CHARLIE = ["2026-06-01T00:00:00+00:00", "CRM-CHARLIE", "Charlie", "3", "", "charlie@example.com", "ORDER-C1",
           "post-delivery", "2", "at_risk", "Broken on arrival.", "0"]
BRAVO = ["2026-06-05T12:00:00+00:00", "CRM-BRAVO", "Bravo", "2", "ben", "bravo@example.com", "ORDER-B1",
         "post-delivery", "10", "promoter", "", "0"]
ALPHA = ["2026-06-10T12:00:00+00:00", "CRM-ALPHA", "Alpha", "1", "ana", "alpha@example.com", "ORDER-A2",
         "post-delivery", "3", "at_risk", "Late again.", "1"]
DELTA = ["2026-06-30T23:59:00+00:00", "CRM-DELTA", "Delta", "4", "ana", "delta@example.com", "ORDER-D1",
         "nps", "9", "promoter", "", "0"]


class TestResponseExport:
    def test_it_lists_the_answers_counted_in_the_period_oldest_first(self, staff, answers):
        assert download(staff, "responses", JUNE) == [RESPONSE_HEADER, CHARLIE, BRAVO, ALPHA, DELTA]

    def test_the_period_runs_from_the_first_moment_of_its_first_day_to_the_end_of_its_last(self, staff, answers):
        assert download(staff, "responses", {"from": "2026-06-02", "to": "2026-06-30"})[1:] == [BRAVO, ALPHA, DELTA]
        assert download(staff, "responses", {"from": "2026-06-01", "to": "2026-06-29"})[1:] == [CHARLIE, BRAVO, ALPHA]
        assert download(staff, "responses", {"from": "2026-06-30", "to": "2026-07-01"})[1:][0] == DELTA

    def test_a_suspect_answer_is_left_out(self, staff, answers):
        rows = download(staff, "responses", {"from": "2026-06-21", "to": "2026-06-21"})
        assert rows == [RESPONSE_HEADER]

    def test_the_tier_filter_keeps_that_tiers_customers(self, staff, answers):
        assert download(staff, "responses", {**JUNE, "tier": "2"})[1:] == [BRAVO]

    def test_the_account_manager_filter_keeps_their_customers(self, staff, answers):
        assert download(staff, "responses", {**JUNE, "account_manager": "ana"})[1:] == [ALPHA, DELTA]

    def test_the_survey_filter_keeps_that_surveys_answers(self, staff, answers):
        assert download(staff, "responses", {**JUNE, "survey": "nps"})[1:] == [DELTA]

    def test_times_are_given_in_the_configured_time_zone_with_its_offset(self, staff, answers, settings):
        settings.TIME_ZONE = "Europe/Madrid"
        rows = download(staff, "responses", {**JUNE, "account_manager": "ben"})
        assert rows[1][0] == "2026-06-05T14:00:00+02:00"

    def test_answer_times_are_written_to_the_second(self, staff):
        answer(CustomerFactory(tier=1), 7, at(6, 3).replace(microsecond=987654))
        assert download(staff, "responses", JUNE)[1][0] == "2026-06-03T12:00:00+00:00"

    def test_it_reads_in_the_same_number_of_queries_for_3_or_30_answers(self, staff, django_assert_num_queries):
        customer = CustomerFactory(tier=1, account_manager=UserFactory())
        for day in range(1, 4):
            answer(customer, 8, at(6, day))
        # The session, the user, the answers with everything they show; on PostgreSQL
        # the export's time zone is set before and reset after, in a transaction (a
        # savepoint in a test).
        queries = 3 if connection.vendor != "postgresql" else 7
        with django_assert_num_queries(queries):
            assert len(download(staff, "responses", JUNE)) == 1 + 3
        for day in range(1, 28):
            answer(CustomerFactory(tier=2, account_manager=UserFactory()), 4, at(6, day, 15))
        with django_assert_num_queries(queries):
            assert len(download(staff, "responses", JUNE)) == 1 + 30


class TestCustomerExport:
    @pytest.fixture
    def customers(self):
        ana = UserFactory(username="ana")
        CustomerFactory(external_id="CRM-SMALL", name="Small", tier=4, revenue_12m=Decimal("800.00"),
                        cost_to_serve=Decimal("2000.00"), net_value=Decimal("-1200.00"), on_time_rate=0.5,
                        avg_days_late=12.5)
        CustomerFactory(external_id="CRM-BIG", name="Big", tier=1, account_manager=ana,
                        revenue_12m=Decimal("700000.00"), cost_to_serve=Decimal("300000.00"),
                        net_value=Decimal("400000.00"), on_time_rate=0.95, avg_days_late=0.5, latest_score=3,
                        latest_band="at_risk", latest_answer_at=at(6, 10))
        CustomerFactory(external_id="CRM-GONE", name="Gone", tier=None, is_active=False, account_manager=ana,
                        revenue_12m=Decimal("5000.00"))
        return {"ana": ana}

    BIG = ["CRM-BIG", "Big", "True", "ana", "1", "EUR", "700000.00", "300000.00", "400000.00", "0.950", "0.5", "3",
           "at_risk", "2026-06-10T12:00:00+00:00"]
    GONE = ["CRM-GONE", "Gone", "False", "ana", "", "EUR", "5000.00", "", "0.00", "", "", "", "", ""]
    SMALL = ["CRM-SMALL", "Small", "True", "", "4", "EUR", "800.00", "2000.00", "-1200.00", "0.500", "12.5", "", "",
             ""]

    def test_it_lists_every_customer_active_or_not_by_revenue(self, staff, customers):
        assert download(staff, "customers") == [CUSTOMER_HEADER, self.BIG, self.GONE, self.SMALL]

    def test_the_tier_filter_leaves_out_inactive_customers_who_have_none(self, staff, customers):
        assert download(staff, "customers", {"tier": "4"})[1:] == [self.SMALL]

    def test_the_account_manager_filter_keeps_their_customers_active_or_not(self, staff, customers):
        assert download(staff, "customers", {"account_manager": "ana"})[1:] == [self.BIG, self.GONE]

    def test_the_period_and_survey_do_not_apply(self, staff, customers):
        SurveyFactory(slug="nps")
        rows = download(staff, "customers", {"from": "2020-01-01", "to": "2020-01-31", "survey": "nps"})
        assert rows[1:] == [self.BIG, self.GONE, self.SMALL]

    def test_amounts_name_their_currency_from_the_setting(self, staff, customers, settings):
        settings.CURRENCY = "USD"
        rows = download(staff, "customers")
        assert {row[CUSTOMER_HEADER.index("currency")] for row in rows[1:]} == {"USD"}

    def test_ratios_are_rounded_half_up_to_3_decimals_and_days_late_to_1(self, staff):
        CustomerFactory(external_id="CRM-ODD", on_time_rate=11 / 12, avg_days_late=2 / 3, revenue_12m=Decimal("10.50"))
        row = dict(zip(CUSTOMER_HEADER, download(staff, "customers")[1]))
        assert (row["on_time_rate"], row["avg_days_late"], row["revenue_12m"]) == ("0.917", "0.7", "10.50")

    def test_times_are_written_to_the_second(self, staff):
        CustomerFactory(latest_score=8, latest_band="satisfied", latest_answer_at=at(6, 10).replace(microsecond=123456))
        row = dict(zip(CUSTOMER_HEADER, download(staff, "customers")[1]))
        assert row["latest_answer_at"] == "2026-06-10T12:00:00+00:00"

    def test_it_reads_in_the_same_number_of_queries_for_3_or_30_customers(self, staff, django_assert_num_queries):
        for _ in range(3):
            CustomerFactory(account_manager=UserFactory())
        with django_assert_num_queries(3):
            assert len(download(staff, "customers")) == 1 + 3
        for _ in range(27):
            CustomerFactory(account_manager=UserFactory())
        with django_assert_num_queries(3):
            assert len(download(staff, "customers")) == 1 + 30


class TestDownload:
    @pytest.mark.parametrize("name", ["responses", "customers"])
    def test_it_streams_a_utf8_csv_attachment_that_no_cache_keeps(self, staff, name):
        response = staff.get(reverse(f"insights:export-{name}"), JUNE)
        assert response.streaming
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert "no-store" in response["Cache-Control"]
        assert b"".join(response.streaming_content).startswith(b"\xef\xbb\xbf")

    def test_the_file_is_named_after_the_period(self, staff):
        response = staff.get(reverse("insights:export-responses"), JUNE)
        assert response["Content-Disposition"] == 'attachment; filename="responses-2026-06-01-to-2026-06-30.csv"'
        response = staff.get(reverse("insights:export-customers"), JUNE)
        assert response["Content-Disposition"] == 'attachment; filename="customers-2026-06-30.csv"'

    def test_without_filters_it_exports_the_last_90_days(self, staff):
        today = timezone.localdate()
        response = staff.get(reverse("insights:export-responses"))
        expected = f"responses-{today - timedelta(days=89)}-to-{today}.csv"
        assert response["Content-Disposition"] == f'attachment; filename="{expected}"'

    def test_text_beyond_ascii_comes_through_intact(self, staff):
        customer = CustomerFactory(name="Café Zoë — 東京", tier=1)
        answer(customer, 5, at(6, 3), comment="Très déçu 👎 «encore»")
        rows = download(staff, "responses", JUNE)
        assert (rows[1][2], rows[1][10]) == ("Café Zoë — 東京", "Très déçu 👎 «encore»")
        assert download(staff, "customers")[1][1] == "Café Zoë — 東京"


class TestAccess:
    def test_an_account_manager_exports_only_their_own_answers(self, client, answers):
        client.force_login(answers["ben"])
        rows = download(client, "responses", JUNE)
        assert rows[1:] == [BRAVO]

    def test_an_account_manager_exports_only_their_own_customers(self, client, answers):
        client.force_login(answers["ana"])
        rows = download(client, "customers", JUNE)
        assert sorted(row[CUSTOMER_HEADER.index("name")] for row in rows[1:]) == ["Alpha", "Delta"]

    @pytest.mark.parametrize("name", ["responses", "customers"])
    def test_an_anonymous_visitor_is_sent_to_log_in(self, client, name):
        url = reverse(f"insights:export-{name}")
        response = client.get(url)
        assert response.status_code == 302
        assert response.url == f"{resolve_url(django_settings.LOGIN_URL)}?next={url}"

    @pytest.mark.parametrize(
        ("query", "field"),
        [({"from": "June"}, "from"), ({"tier": "9"}, "tier"), ({"account_manager": "nobody"}, "account_manager"),
         ({"survey": "nope"}, "survey"), ({"from": "2026-07-01", "to": "2026-06-01"}, "to")],
    )
    @pytest.mark.parametrize("name", ["responses", "customers"])
    def test_invalid_filters_answer_400_naming_the_field(self, staff, name, query, field):
        response = staff.get(reverse(f"insights:export-{name}"), query)
        assert response.status_code == 400
        assert f"{field}: " in response.content.decode()


class TestNeutralise:
    @pytest.mark.parametrize(("text", "written"), DANGEROUS)
    def test_a_formula_in_a_comment_is_neutralised(self, staff, text, written):
        answer(CustomerFactory(tier=1), 5, at(6, 3), comment=text)
        assert download(staff, "responses", JUNE)[1][10] == written

    @pytest.mark.parametrize(("text", "written"), DANGEROUS)
    def test_a_formula_in_a_customer_name_is_neutralised_in_both_exports(self, staff, text, written):
        answer(CustomerFactory(name=text, tier=1), 5, at(6, 3))
        assert download(staff, "responses", JUNE)[1][2] == written
        assert download(staff, "customers")[1][1] == written

    @pytest.mark.parametrize("number", ["-12.5", "+3", "-0.5", "-12", "12.50"])
    def test_a_plain_number_written_as_text_stays_as_it_is(self, staff, number):
        answer(CustomerFactory(tier=1), 5, at(6, 3), comment=number)
        assert download(staff, "responses", JUNE)[1][10] == number

    @pytest.mark.parametrize("text", ["-12.5 off", "-1e5", "+3\n=1+1", "-", "--1"])
    def test_a_text_that_only_starts_like_a_number_is_neutralised(self, text):
        assert exports.neutralise(text) == "'" + text

    def test_a_harmless_text_is_left_alone(self):
        assert exports.neutralise("Late again. =(") == "Late again. =("
        assert exports.neutralise("") == ""

    @pytest.mark.parametrize("value", [Decimal("-1200.00"), -3, -0.5, None, True, timezone.now()])
    def test_values_that_are_not_text_are_never_changed(self, value):
        assert exports.neutralise(value) is value

    def test_a_negative_amount_is_written_as_a_number(self, staff):
        CustomerFactory(name="Costly", net_value=Decimal("-1200.00"), cost_to_serve=Decimal("1200.00"),
                        revenue_12m=Decimal("0"))
        row = dict(zip(CUSTOMER_HEADER, download(staff, "customers")[1]))
        assert row["net_value"] == "-1200.00"


def bulk_answers(count: int, *, comment: str) -> None:
    """`count` answers in June 2026 of one customer, written a table at a time."""
    survey = Survey.default()
    customer = CustomerFactory(name="Bulk customer", tier=1, account_manager=UserFactory(username="bulk.manager"))
    contact = Contact.objects.create(customer=customer, email="bulk@example.com", name="Bulk contact")
    start = at(6, 1)
    times = [start + timedelta(seconds=60 * n) for n in range(count)]
    deliveries = Delivery.objects.bulk_create(
        Delivery(customer=customer, contact=contact, survey=survey, reference=f"BULK-{n:06d}", delivered_at=when)
        for n, when in enumerate(times)
    )
    invitations = Invitation.objects.bulk_create(
        Invitation(delivery=delivery, contact=contact, status=InvitationStatus.RESPONDED, scheduled_for=when,
                   sent_at=when, expires_at=when + timedelta(days=14))
        for delivery, when in zip(deliveries, times, strict=True)
    )
    Response.objects.bulk_create(
        Response(invitation=invitation, customer=customer, survey=survey, score=score, band=survey.classify(score),
                 comment=comment, first_submitted_at=when, submitted_at=when, needs_evaluation=False)
        for score, invitation, when in zip(cycle(range(1, 11)), invitations, times)
    )


class TestStreaming:
    def test_the_answers_are_read_as_the_body_is_sent_not_before(self, staff, django_assert_num_queries):
        bulk_answers(10, comment="Fine.")
        with django_assert_num_queries(2):  # the session and the user
            response = staff.get(reverse("insights:export-responses"), JUNE)
        with CaptureQueriesContext(connection) as reading:
            assert len(parse(b"".join(response.streaming_content))) == 1 + 10
        assert any("surveys_response" in query["sql"] for query in reading.captured_queries)

    def test_memory_stays_at_one_chunk_of_rows_rather_than_the_whole_export(self, staff, monkeypatch):
        # The peak of memory Python allocates while the body is read chunk by chunk,
        # against the body's size. Rows as Python objects take about twice their CSV
        # size or more, so 5,000 rows held at once would peak above the whole body; read
        # 100 and sent 20 at a time, they peak near a sixth of it (measured: 0.4 of 2.5 MB).
        # Both sizes are made small so that a test-sized export spans many of them; in
        # production 2,000 rows (a few MB) are held at once, be the export 5,000 rows long
        # or 1,000,000.
        monkeypatch.setattr(exports, "CHUNK_SIZE", 100)
        monkeypatch.setattr(exports, "LINES_PER_CHUNK", 20)
        bulk_answers(5000, comment="Delivered late and the invoice was wrong again, " * 8)
        response = staff.get(reverse("insights:export-responses"), JUNE)
        chunks = iter(response.streaming_content)
        tracemalloc.start()
        try:
            total = sum(len(chunk) for chunk in chunks)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert total > 5000 * 200
        assert peak < total / 3, f"peak {peak:,} bytes for a {total:,}-byte export"


class TestFailures:
    def test_a_failure_midway_is_logged_with_the_file_and_breaks_the_download_off(self, caplog):
        def rows():
            yield ["a"]
            yield ["1"]
            raise RuntimeError("connection lost")

        response = exports.csv_response(rows(), filename="answers.csv")
        with pytest.raises(RuntimeError):
            b"".join(response.streaming_content)
        assert "Export answers.csv failed after 0 lines" in caplog.text


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL writes the answers export itself")
class TestWrittenByPostgreSQL:
    """On PostgreSQL the answers export is COPY's CSV: the cells must be those Python's
    csv writes everywhere else, whatever the text."""

    def test_it_writes_the_same_cells_as_the_python_writer(self, settings):
        settings.TIME_ZONE = "America/St_Johns"  # an offset with minutes, negative
        texts = [*(text for text, _ in DANGEROUS), "-12.5", "+3\n=1+1", "", "Say \"hi\", then\r\nleave",
                 "Café Zoë — 東京 👎", "   ", "'already quoted"]
        for n, text in enumerate(texts):
            manager = UserFactory(username=f"=manager{n}") if n % 2 else None
            customer = CustomerFactory(name=text or "Plain", tier=n % 4 + 1 if n % 3 else None,
                                       account_manager=manager, external_id=f"-{n}")
            answer(customer, n % 10 + 1, at(6, n + 1, 9, 30).replace(microsecond=n * 1000), comment=text,
                   reference=f"@REF-{n}", revisions=n)
        Contact.objects.filter(pk=Response.objects.order_by("pk").first().invitation.contact_id).update(
            erased_at=timezone.now())
        filters = exports.InsightFilters(date_from=at(6, 1).date(), date_to=at(6, 30).date())
        copied = exports.answers_csv_response(filters, filename="answers.csv")
        written = exports.csv_response(exports.response_rows(filters), filename="answers.csv")
        assert parse(b"".join(copied.streaming_content)) == parse(b"".join(written.streaming_content))

    def test_a_download_broken_off_midway_leaves_the_connection_usable(self, monkeypatch):
        monkeypatch.setattr(exports, "COPY_CHUNK_BYTES", 100)
        bulk_answers(200, comment="Fine.")
        filters = exports.InsightFilters(date_from=at(6, 1).date(), date_to=at(6, 30).date())
        response = exports.answers_csv_response(filters, filename="answers.csv")
        chunks = iter(response.streaming_content)
        next(chunks), next(chunks)
        # What the server does when the client goes away, without the end of request
        # that closes the test's connection (as Django's test client does).
        request_finished.disconnect(close_old_connections)
        try:
            response.close()
        finally:
            request_finished.connect(close_old_connections)
        assert Response.objects.count() == 200
