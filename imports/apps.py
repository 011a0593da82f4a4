from django.apps import AppConfig


class ImportsConfig(AppConfig):
    """CSV import of every kind of row (`manage.py import_csv`). It sits above the apps
    whose rows it writes and may import them; none of them imports it."""

    name = "imports"
    verbose_name = "CSV import"
