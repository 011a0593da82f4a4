"""More room on each page of the customer table for the nightly recompute's HOT updates.

A night rewrites about two customers in five (their punctuality moves as unpaid invoices
grow later). At 80%, in the five nights after every customer was rewritten (the first
recompute of 50,000 customers, tests/benchmarks/test_value_metrics_bench.py) the page was
full for 1,200 to 6,900 of the 20,000 rows a night, and each of those added an entry to
every one of the table's seven indexes; at 70% only 800 to 1,800 rows a night were not
HOT updates (about 800 cannot be: their revenue or tier, which are indexed, changed),
for a table 4.5% larger. Only rows written from now on get the room; `VACUUM FULL
customers_customer` gives it to the existing ones."""

from __future__ import annotations

from importlib import import_module

from django.db import migrations

# The function 0005 runs, with its PostgreSQL-only guard.
set_fillfactor = import_module("customers.migrations.0005_customer_fillfactor").set_fillfactor


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_customer_fillfactor")]

    operations = [migrations.RunPython(set_fillfactor(70), set_fillfactor(80), elidable=False)]
