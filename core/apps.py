from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The plumbing every app shares: API kit, htmx page-or-fragment helper, rate
    limiter, enqueue helper, email builder, the development mailbox. No domain here."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.core import checks
        from django.utils.module_loading import autodiscover_modules

        from .checks import email_backend_starts

        checks.register(email_backend_starts)

        # Workers' heartbeats, beat's tick and the task tally (core.heartbeats).
        from . import heartbeats

        heartbeats.connect()

        # Each app's outbox.py registers the kinds of message it sends (core.outbox).
        autodiscover_modules("outbox")
