from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The plumbing every app shares: API kit, htmx page-or-fragment helper, rate
    limiter, enqueue helper, email builder, the development mailbox. No domain here."""

    name = "core"
    verbose_name = "Core"
