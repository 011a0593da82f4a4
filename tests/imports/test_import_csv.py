"""`manage.py import_csv`: the bulk API's validation and writes, fed from a CSV file."""

from __future__ import annotations

import io
import sys
from datetime import date, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from customers import services as customer_services
from customers.models import Contact, Customer, Invoice
from imports import importers
from surveys.models import Delivery, Invitation, InvitationStatus, Survey, SuppressedReason
from tests.factories import ContactFactory, CustomerFactory, InvoiceFactory, SurveyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def write_csv(tmp_path):
    def write(text: str, *, encoding: str = "utf-8") -> Path:
        path = tmp_path / "import.csv"
        path.write_bytes(text.encode(encoding))
        return path

    return write


def run(kind: str, path: Path | str, *options: str) -> tuple[str, str]:
    """Runs the command; answers what it wrote to stdout and stderr."""
    out, err = StringIO(), StringIO()
    call_command("import_csv", kind, str(path), *options, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(kind: str, path: Path | str) -> tuple[str, list[str]]:
    """Runs the command expecting it to fail; answers its error and the report lines."""
    err = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_csv", kind, str(path), stdout=StringIO(), stderr=err)
    return str(failure.value), err.getvalue().splitlines()


DELIVERIES_HEADER = "customer,reference,delivered_at,contact_email,contact_name,survey,description\n"


class TestCustomers:
    def test_it_creates_new_and_updates_existing_customers_by_external_id(self, write_csv):
        CustomerFactory(external_id="CRM-1", name="Old name", cost_to_serve=Decimal("10.00"))
        UserFactory(username="ana")
        path = write_csv(
            "external_id,name,account_manager,cost_to_serve,is_active\n"
            "CRM-1,Acme,,,false\n"
            "CRM-2,Café Ñandú,ana,1200.50,\n"
        )
        out, _ = run("customers", path)
        assert "Imported 2 customers: 1 created, 1 updated." in out
        acme, cafe = Customer.objects.order_by("external_id")
        # Empty cells send null where the API takes null, else leave the field out.
        assert (acme.name, acme.account_manager, acme.cost_to_serve, acme.is_active) == ("Acme", None, None, False)
        assert (cafe.name, cafe.account_manager.username, cafe.cost_to_serve, cafe.is_active) == (
            "Café Ñandú", "ana", Decimal("1200.50"), True,
        )

    def test_each_customer_may_name_its_time_zone_and_a_wrong_one_is_reported(self, write_csv):
        run("customers", write_csv("external_id,name,time_zone\nCRM-1,Acme,Europe/Madrid\nCRM-2,Beta,\n"))
        assert dict(Customer.objects.values_list("external_id", "time_zone")) == {"CRM-1": "Europe/Madrid", "CRM-2": ""}

        _, report = refused("customers", write_csv("external_id,name,time_zone\nCRM-3,Gamma,Europe/Atlantis\n"))
        assert report == [
            'line 2, time_zone: "Europe/Atlantis" is not a time zone name; use an IANA name such as Europe/Madrid.'
        ]

    def test_an_unknown_account_manager_and_a_row_with_too_many_cells_are_reported(self, write_csv):
        path = write_csv("external_id,name,account_manager,cost_to_serve\nCRM-1,Acme,nobody,\nCRM-2,Beta,,12,50x\n")
        message, report = refused("customers", path)
        assert report == [
            'line 2, account_manager: No active user with username "nobody".',
            "line 3: Has 5 cells where the header has 4.",
        ]
        assert message == "2 bad rows; nothing was imported."

    def test_a_bad_decimal_is_reported(self, write_csv):
        path = write_csv("external_id,name,cost_to_serve\nCRM-1,Acme,12.50\nCRM-2,Beta,\"12,50\"\n")
        _, report = refused("customers", path)
        assert report == ["line 3, cost_to_serve: A valid number is required."]

    def test_a_line_break_in_a_name_is_reported_on_the_line_its_row_starts(self, write_csv):
        path = write_csv('external_id,name\nCRM-1,"Acme\r\nCorp"\nCRM-2,"Beta\nLtd"\nCRM-3,\n')
        _, report = refused("customers", path)
        assert report == [
            "line 2, name: Must be a single line of text without control characters (found U+000D at position 5).",
            "line 4, name: Must be a single line of text without control characters (found U+000A at position 5).",
            "line 6, name: This field is required.",
        ]
        assert not Customer.objects.exists()


class TestContacts:
    def test_it_creates_contacts_and_updates_them_by_email_in_any_case(self, write_csv):
        customer = CustomerFactory(external_id="CRM-1")
        ContactFactory(customer=customer, email="ana@example.com", name="Ana", language="en")
        path = write_csv(
            "customer,email,name,language\n"
            "CRM-1,ANA@Example.COM,,es\n"
            "CRM-1,bo@example.com,Bo,\n"
        )
        out, _ = run("contacts", path)
        assert "Imported 2 contacts: 1 created, 1 updated." in out
        contacts = {contact.name: contact for contact in Contact.objects.all()}
        # An empty name keeps the stored one; the address is kept as last given.
        assert (contacts["Ana"].email, contacts["Ana"].language) == ("ANA@example.com", "es")
        assert (contacts["Bo"].email, contacts["Bo"].language) == ("bo@example.com", "en")

    def test_an_update_never_changes_the_opt_out(self, write_csv):
        ContactFactory(customer=CustomerFactory(external_id="CRM-1"), email="ana@example.com", opted_out=True)
        run("contacts", write_csv("customer,email,name\nCRM-1,ana@example.com,Ana\n"))
        assert Contact.objects.get().opted_out is True

    def test_bad_emails_unknown_customers_and_languages_are_reported(self, write_csv):
        CustomerFactory(external_id="CRM-1")
        path = write_csv(
            "customer,email,language\n"
            "CRM-1,not-an-email,en\n"
            "CRM-404,bo@example.com,en\n"
            "CRM-1,cy@example.com,fr\n"
        )
        _, report = refused("contacts", path)
        assert report == [
            "line 2, email: Enter a valid email address.",
            'line 3, customer: No customer with external ID "CRM-404".',
            'line 4, language: "fr" is not a valid choice.',
        ]
        assert not Contact.objects.exists()

    def test_the_same_email_twice_in_any_case_is_reported_on_the_later_line(self, write_csv):
        CustomerFactory(external_id="CRM-1")
        path = write_csv("customer,email\nCRM-1,ana@example.com\nCRM-1,Ana@Example.com\n")
        _, report = refused("contacts", path)
        assert report == ["line 3, email: Repeats line 2: each email may appear once per customer and file."]


class TestInvoices:
    def test_it_upserts_invoices_and_an_empty_paid_on_means_unpaid(self, write_csv):
        customer = CustomerFactory(external_id="CRM-1")
        InvoiceFactory(customer=customer, number="INV-1", amount=Decimal("5.00"))
        path = write_csv(
            "customer,number,amount,issued_on,due_on,paid_on\n"
            "CRM-1,INV-1,100.00,2026-01-05,2026-02-04,2026-02-01\n"
            "CRM-1,INV-2,250.00,2026-01-10,2026-02-09,\n"
        )
        out, _ = run("invoices", path)
        assert "Imported 2 invoices: 1 created, 1 updated." in out
        assert dict(Invoice.objects.values_list("number", "paid_on")) == {"INV-1": date(2026, 2, 1), "INV-2": None}
        assert Invoice.objects.get(number="INV-1").amount == Decimal("100.00")

    def test_bad_amounts_dates_and_customers_are_reported(self, write_csv):
        CustomerFactory(external_id="CRM-1")
        path = write_csv(
            "customer,number,amount,issued_on,due_on\n"
            "CRM-1,INV-1,12.345,2026-01-05,2026-02-04\n"
            "CRM-1,INV-2,-1,2026-01-05,2026-02-04\n"
            "CRM-1,INV-3,10,2026-02-05,2026-01-04\n"
            "CRM-1,INV-4,10,05/01/2026,2026-02-04\n"
            "CRM-9,INV-5,10,2026-01-05,2026-02-04\n"
        )
        _, report = refused("invoices", path)
        assert report == [
            "line 2, amount: Ensure that there are no more than 2 decimal places.",
            "line 3, amount: Ensure this value is greater than or equal to 0.",
            "line 4, due_on: Must be on or after issued_on (2026-02-05).",
            "line 5, issued_on: Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
            'line 6, customer: No customer with external ID "CRM-9".',
        ]


class TestDeliveries:
    def test_it_records_deliveries_and_schedules_their_invitations(self, write_csv):
        customer = CustomerFactory(external_id="CRM-1")
        nps = SurveyFactory(slug="nps")
        path = write_csv(
            DELIVERIES_HEADER
            + "CRM-1,ORD-1,2026-03-02T10:00:00+01:00,ana@example.com,Ana,,the boiler repair\n"
            + "CRM-1,ORD-2,2026-06-02T10:00:00Z,bo@example.com,,nps,\n"
        )
        out, _ = run("deliveries", path)
        assert "Imported 2 deliveries: 2 created, 0 existing." in out
        first, second = Delivery.objects.filter(customer=customer).order_by("reference")
        assert (first.contact.name, first.survey, first.description) == ("Ana", Survey.default(), "the boiler repair")
        assert (second.contact.email, second.survey, second.description) == ("bo@example.com", nps, "")
        assert first.invitation.status == InvitationStatus.SCHEDULED
        delivered_at = datetime.fromisoformat("2026-03-02T10:00:00+01:00")
        assert first.invitation.scheduled_for == delivered_at + first.survey.send_delay

    def test_a_naive_datetime_is_reported(self, write_csv):
        CustomerFactory(external_id="CRM-1")
        path = write_csv(DELIVERIES_HEADER + "CRM-1,ORD-1,2026-03-02T10:00:00,ana@example.com,,,\n")
        _, report = refused("deliveries", path)
        assert report == [
            "line 2, delivered_at: Include a UTC offset, e.g. 2026-11-22T14:30:00+01:00 or 2026-11-22T13:30:00Z."
        ]

    def test_a_repeated_reference_is_reported_on_the_later_line(self, write_csv):
        CustomerFactory(external_id="CRM-1")
        CustomerFactory(external_id="CRM-2")
        path = write_csv(
            DELIVERIES_HEADER
            + "CRM-1,ORD-1,2026-03-02T10:00:00Z,ana@example.com,,,\n"
            + "CRM-2,ORD-1,2026-03-02T10:00:00Z,bo@example.com,,,\n"
            + "CRM-1,ORD-1,2026-03-03T10:00:00Z,ana@example.com,,,\n"
        )
        _, report = refused("deliveries", path)
        assert report == ["line 4, reference: Repeats line 2: each reference may appear once per customer and file."]

    def test_unknown_customers_and_surveys_and_bad_contacts_are_reported(self, write_csv):
        CustomerFactory(external_id="CRM-1")
        path = write_csv(
            DELIVERIES_HEADER
            + "CRM-404,ORD-1,2026-03-02T10:00:00Z,ana@example.com,,,\n"
            + "CRM-1,ORD-2,2026-03-02T10:00:00Z,ana@example.com,,no-such-survey,\n"
            + "CRM-1,ORD-3,2026-03-02T10:00:00Z,ana@,\"Ana\nMaría\",,\n"
        )
        _, report = refused("deliveries", path)
        assert report == [
            'line 2, customer: No customer with external ID "CRM-404".',
            'line 3, survey: No active survey with slug "no-such-survey".',
            "line 4, contact_email: Enter a valid email address.",
            "line 4, contact_name: Must be a single line of text without control characters "
            "(found U+000A at position 4).",
        ]
        assert not Delivery.objects.exists()

    def test_a_nul_character_is_reported_before_anything_is_looked_up(self, write_csv):
        # PostgreSQL cannot even compare a text containing NUL.
        path = write_csv(DELIVERIES_HEADER + "CRM\x001,ORD-1,2026-03-02T10:00:00Z,ana@example.com,,,\n")
        _, report = refused("deliveries", path)
        assert report == [
            "line 2, customer: Must be a single line of text without control characters (found U+0000 at position 4)."
        ]

    def test_a_reimport_counts_existing_deliveries_and_reschedules_nothing(self, write_csv):
        CustomerFactory(external_id="CRM-1")
        path = write_csv(
            DELIVERIES_HEADER
            + "CRM-1,ORD-1,2026-03-02T10:00:00Z,ana@example.com,Ana,,\n"
            + "CRM-1,ORD-2,2026-05-02T10:00:00Z,ana@example.com,Ana,,\n"
        )
        run("deliveries", path)
        before = list(Invitation.objects.order_by("pk").values_list("pk", "status", "scheduled_for"))
        path = write_csv(
            DELIVERIES_HEADER
            + "CRM-1,ORD-1,2026-04-02T10:00:00Z,ana@example.com,Ana,,\n"  # a new date changes nothing
            + "CRM-1,ORD-2,2026-05-02T10:00:00Z,ana@example.com,Ana,,\n"
            + "CRM-1,ORD-3,2026-07-02T10:00:00Z,ana@example.com,Ana,,\n"
        )
        out, _ = run("deliveries", path)
        assert "Imported 3 deliveries: 1 created, 2 existing." in out
        assert list(Invitation.objects.order_by("pk").values_list("pk", "status", "scheduled_for"))[:2] == before
        assert Invitation.objects.count() == 3

    def test_of_two_deliveries_to_a_contact_within_the_throttle_window_the_later_is_suppressed_across_chunks(
        self, write_csv
    ):
        CustomerFactory(external_id="CRM-1")
        filler = "".join(
            f"CRM-1,FILL-{n},2026-03-01T10:00:00Z,contact{n}@example.com,,,\n" for n in range(1100)
        )
        path = write_csv(
            DELIVERIES_HEADER
            + "CRM-1,LATER,2026-03-20T10:00:00Z,ana@example.com,,,\n"
            + filler
            + "CRM-1,EARLIER,2026-03-10T10:00:00Z,ana@example.com,,,\n"
        )
        run("deliveries", path)
        statuses = dict(Invitation.objects.filter(contact__email="ana@example.com").values_list(
            "delivery__reference", "suppressed_reason"
        ))
        assert statuses == {"EARLIER": "", "LATER": SuppressedReason.THROTTLED}


class TestWholeFile:
    def test_a_bad_row_writes_nothing_and_reports_line_and_field(self, write_csv):
        path = write_csv("external_id,name\nCRM-1,Acme\nCRM-2,\nCRM-3,Gamma\n")
        message, report = refused("customers", path)
        assert report == ["line 3, name: This field is required."]
        assert message == "1 bad row; nothing was imported."
        assert not Customer.objects.exists()

    def test_a_file_over_a_thousand_rows_is_checked_for_repeats_across_chunks_then_imported(self, write_csv):
        CustomerFactory(external_id="CRM-1")
        header = "customer,number,amount,issued_on,due_on\n"
        rows = [f"CRM-1,INV-{n},10.00,2026-01-05,2026-02-04\n" for n in range(2500)]
        rows[1800] = "CRM-1,INV-3,10.00,2026-01-05,2026-02-04\n"  # line 1802 repeats line 5
        rows[2200] = "CRM-1,INV-X,ten,2026-01-05,2026-02-04\n"
        _, report = refused("invoices", write_csv(header + "".join(rows)))
        assert report == [
            "line 1802, number: Repeats line 5: each invoice number may appear once per customer and file.",
            "line 2202, amount: A valid number is required.",
        ]
        assert not Invoice.objects.exists()

        rows[1800] = "CRM-1,INV-1800,10.00,2026-01-05,2026-02-04\n"
        rows[2200] = "CRM-1,INV-2200,10.00,2026-01-05,2026-02-04\n"
        out, _ = run("invoices", write_csv(header + "".join(rows)))
        assert "Imported 2,500 invoices: 2,500 created, 0 updated." in out
        assert Invoice.objects.count() == 2500

    def test_it_writes_in_a_few_queries_per_thousand_rows(self, write_csv, django_assert_max_num_queries):
        CustomerFactory(external_id="CRM-1")
        rows = "".join(f"CRM-1,INV-{n},10.00,2026-01-05,2026-02-04,\n" for n in range(3000))
        path = write_csv("customer,number,amount,issued_on,due_on,paid_on\n" + rows)
        # Per chunk: customers looked up, existing invoices found, up to 8 INSERTs on
        # SQLite (999 variables a statement), one on PostgreSQL; plus savepoints.
        with django_assert_max_num_queries(3 * 15):
            run("invoices", path)
        assert Invoice.objects.count() == 3000

    def test_the_chunks_are_written_in_one_transaction(self, write_csv, monkeypatch):
        CustomerFactory(external_id="CRM-1")
        rows = "".join(f"CRM-1,INV-{n},10.00,2026-01-05,2026-02-04\n" for n in range(1500))
        path = write_csv("customer,number,amount,issued_on,due_on\n" + rows)
        upsert_invoices = customer_services.upsert_invoices
        calls = []

        def fail_on_the_second_chunk(**kwargs):
            calls.append(len(kwargs["invoices"]))
            if len(calls) == 2:
                raise RuntimeError("the database went away")
            return upsert_invoices(**kwargs)

        monkeypatch.setattr(customer_services, "upsert_invoices", fail_on_the_second_chunk)
        with pytest.raises(RuntimeError):
            run("invoices", path)
        assert calls == [1000, 500]
        assert not Invoice.objects.exists()

    def test_a_missing_column_is_named_before_any_row_is_read(self, write_csv):
        path = write_csv("customer,reference,contact_email\nCRM-404,ORD-1,not-an-email\n")
        message, report = refused("deliveries", path)
        assert message == (
            f"{path}: The header row has missing column(s) delivered_at. Columns for deliveries: customer, "
            "reference, delivered_at, contact_email, contact_name, survey, description "
            "(required: customer, reference, delivered_at, contact_email)."
        )
        assert report == []

    def test_unknown_and_repeated_columns_are_named(self, write_csv):
        message, _ = refused("customers", write_csv("external_id,name,Name,name,revenue_12m\n"))
        assert "unknown column(s) Name, revenue_12m; repeated column(s) name." in message

    def test_a_byte_order_mark_is_ignored(self, write_csv):
        path = write_csv("\ufeffexternal_id,name\nCRM-1,Acme\n")
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
        run("customers", path)
        assert Customer.objects.get().external_id == "CRM-1"

    def test_blank_lines_are_skipped_and_line_numbers_stay_those_of_the_file(self, write_csv):
        path = write_csv("external_id,name\n\nCRM-1,Acme\n,\n\nCRM-2,\n")
        _, report = refused("customers", path)
        assert report == ["line 6, name: This field is required."]

    def test_windows_line_endings_are_read(self, write_csv):
        run("customers", write_csv("external_id,name\r\nCRM-1,Acme\r\nCRM-2,Beta\r\n"))
        assert list(Customer.objects.order_by("external_id").values_list("name", flat=True)) == ["Acme", "Beta"]

    def test_a_file_that_is_not_utf8_is_refused(self, write_csv):
        path = write_csv("external_id,name\nCRM-1,Café\n", encoding="latin-1")
        message, _ = refused("customers", path)
        assert "not UTF-8 text" in message
        assert not Customer.objects.exists()

    def test_an_empty_file_is_refused(self, write_csv):
        message, _ = refused("invoices", write_csv(""))
        assert "The file is empty" in message

    def test_a_missing_file_is_refused(self, tmp_path):
        message, _ = refused("invoices", tmp_path / "nowhere.csv")
        assert message == f"Cannot read {tmp_path / 'nowhere.csv'}: No such file or directory."

    def test_a_dash_reads_standard_input(self, monkeypatch):
        stdin = io.TextIOWrapper(io.BytesIO("\ufeffexternal_id,name\nCRM-1,Acme\n".encode()))
        monkeypatch.setattr(sys, "stdin", stdin)
        out, _ = run("customers", "-")
        assert "Imported 1 customers: 1 created, 0 updated." in out
        assert not stdin.closed

    def test_an_unknown_kind_is_refused(self, write_csv):
        with pytest.raises(CommandError, match="invalid choice: 'users'"):
            call_command("import_csv", "users", str(write_csv("")))

    def test_every_error_is_listed_for_callers_of_the_module(self):
        file = io.StringIO("external_id,name\nCRM-1,\nCRM-1,Acme\nCRM-1,Acme\n")
        with pytest.raises(importers.BadRows) as failure:
            importers.import_csv(kind="customers", file=file)
        assert [(error.line, error.field) for error in failure.value.errors] == [(2, "name"), (4, "external_id")]
        assert failure.value.bad_rows == 2


class TestProgress:
    def test_a_progress_line_goes_to_stderr_when_asked(self, write_csv):
        rows = "".join(f"CRM-{n},Customer {n}\n" for n in range(1500))
        _, err = run("customers", write_csv("external_id,name\n" + rows), "--progress")
        assert "\rValidated 1,000 rows (" in err
        assert "\rValidated 1,500 rows (100% of the file)" in err
        assert "\rWritten 1,500 of 1,500 rows (100%)" in err
        assert err.endswith("\n")

    def test_there_is_no_progress_line_when_stderr_is_not_a_terminal(self, write_csv):
        _, err = run("customers", write_csv("external_id,name\nCRM-1,Acme\n"))
        assert err == ""

    def test_no_progress_turns_it_off(self, write_csv):
        _, err = run("customers", write_csv("external_id,name\nCRM-1,Acme\n"), "--no-progress")
        assert err == ""
