"""Room on each page of the customer table for the nightly recompute's updates.

Most nights a customer's revenue and tier stand still while its punctuality moves (an
unpaid invoice grows later each day). Those columns carry no index, so with free space
on the page PostgreSQL rewrites the row in place (a "HOT" update) instead of adding an
entry to each of the table's seven indexes. Only rows written from now on get the room;
`VACUUM FULL customers_customer` gives it to the existing ones."""

from __future__ import annotations

from django.db import migrations


def set_fillfactor(percent: int):
    def apply(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE customers_customer SET (fillfactor = {percent})")

    return apply


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_contact_erased_at")]

    operations = [migrations.RunPython(set_fillfactor(80), set_fillfactor(100), elidable=False)]
