"""Fewer indexes to write for each answer (issue 15).

A first answer updates its invitation (status and remind_at are indexed, so the update
is never HOT and adds an entry to every index of the table) and inserts its response.
Three of the invitation's indexes were the `varchar_pattern_ops` copies Django makes of
every unique CharField on PostgreSQL, for LIKE 'prefix%' lookups: the link tokens'
hashes are only ever looked up whole, through their unique indexes. Each cost about as
much as the update without it (random 64-character keys). The response's own index on
its customer repeated the first column of response_customer_latest_idx."""

import django.db.models.deletion
from django.db import migrations, models

TOKEN_HASH_COLUMNS = ["token_hash", "reminder_token_hash", "unsubscribe_token_hash"]


def _like_indexes(schema_editor, model):
    table = model._meta.db_table
    return [(column, schema_editor._create_index_name(table, [column], suffix="_like")) for column in TOKEN_HASH_COLUMNS]


def drop_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _, name in _like_indexes(schema_editor, apps.get_model("surveys", "Invitation")):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("surveys", "Invitation")
    table = schema_editor.quote_name(model._meta.db_table)
    for column, name in _like_indexes(schema_editor, model):
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(name)} "
            f"ON {table} ({schema_editor.quote_name(column)} varchar_pattern_ops)"
        )


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0006_customer_fillfactor_70'),
        ('surveys', '0010_timeline_and_review_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='response',
            name='customer',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='responses', to='customers.customer'),
        ),
        migrations.RunPython(drop_like_indexes, create_like_indexes, elidable=False),
    ]
