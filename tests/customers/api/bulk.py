from __future__ import annotations

from math import ceil

from django.db import connection
from django.db.models import Model


def insert_statements(model: type[Model], rows: int) -> int:
    """Statements bulk_create needs for `rows` rows: one on PostgreSQL (1,000 per
    statement); SQLite allows 999 variables per statement, so one per batch of
    999 // columns rows."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    per_statement = min(connection.ops.bulk_batch_size(fields, [None] * rows), 1000)
    return ceil(rows / per_statement)
