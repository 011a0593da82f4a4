from django.apps import AppConfig


class DemoConfig(AppConfig):
    """seed_demo and the builders of its data. It may import every app; no app imports it."""

    name = "demo"
    verbose_name = "Demo data"
