from django.db import migrations


def create_default_survey(apps, schema_editor):
    Survey = apps.get_model("surveys", "Survey")
    # Every setting takes the field defaults of 0001: scale 1–10, bands 9–10 / 6–8 / 1–5,
    # send delay 1 hour, throttle 30 days, one reminder after 3 days, expiry 14 days.
    if not Survey.objects.filter(is_default=True).exists():
        Survey.objects.create(slug="post-delivery", name="Post-delivery satisfaction", is_default=True)


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]

    operations = [migrations.RunPython(create_default_survey, migrations.RunPython.noop)]
