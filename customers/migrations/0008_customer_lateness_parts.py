"""A customer's average days late kept as parts that stand still from day to day, read
as of the day it is shown (Customer.avg_days_late_on), instead of a figure that the
nightly recompute had to rewrite for every customer with an unpaid invoice past due
(about two in five: 20,000 of 50,000 customers a night).

The parts are filled from the invoices as of today; `avg_days_late` comes back the same
way on the way back."""

from __future__ import annotations

from django.db import migrations, models
from django.utils import timezone

from customers.value import avg_days_late_on, in_trailing_year, invoice_figures

PARTS = ["decided_invoices", "days_late_paid", "overdue_invoices", "overdue_due_days"]


def fill_parts(apps, schema_editor) -> None:
    Customer = apps.get_model("customers", "Customer")
    Invoice = apps.get_model("customers", "Invoice")
    as_of = timezone.localdate()
    figures = {part: expression for part, expression in invoice_figures(as_of).items() if part in PARTS}
    rows = Invoice.objects.filter(in_trailing_year(as_of)).values("customer").annotate(**figures).order_by()
    Customer.objects.bulk_update(
        [Customer(pk=row["customer"], **{part: row[part] for part in PARTS}) for row in rows.iterator()],
        PARTS,
        batch_size=1000,
    )


def fill_avg_days_late(apps, schema_editor) -> None:
    Customer = apps.get_model("customers", "Customer")
    Customer.objects.update(avg_days_late=avg_days_late_on(timezone.localdate()))


class Migration(migrations.Migration):
    dependencies = [("customers", "0007_customer_latest_answer_not_indexed")]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="decided_invoices",
            field=models.PositiveIntegerField(
                db_default=0, default=0, help_text="Invoices whose outcome is known: paid, or unpaid and past due."
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="days_late_paid",
            field=models.PositiveBigIntegerField(
                db_default=0, default=0, help_text="Days past due of the paid ones, added up (0 for each paid on time)."
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="overdue_invoices",
            field=models.PositiveIntegerField(db_default=0, default=0, help_text="The unpaid ones past due."),
        ),
        migrations.AddField(
            model_name="customer",
            name="overdue_due_days",
            field=models.BigIntegerField(
                db_default=0,
                default=0,
                help_text="The unpaid ones' due dates added up, each in days since 1970-01-01.",
            ),
        ),
        migrations.RunPython(fill_parts, fill_avg_days_late, elidable=False),
        migrations.RemoveField(model_name="customer", name="avg_days_late"),
    ]
