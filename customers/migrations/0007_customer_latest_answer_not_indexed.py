"""Every answer updates its customer's latest answer (latest_score, latest_band,
latest_answer_at). With latest_score indexed that update was never HOT: it added an entry
to each of the table's seven indexes. Unindexed, it is a HOT update on the room the
fillfactor leaves (issue 15). The one reader the index served, the customer list sorted
by score, sorts the customers it lists instead."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0006_customer_fillfactor_70'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='customer',
            name='customer_latest_score_idx',
        ),
    ]
