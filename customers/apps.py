from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from anymail.signals import tracking

        from . import receivers

        # Delivery events from the email provider, through anymail's webhooks under /anymail/.
        tracking.connect(receivers.delivery_event_received, dispatch_uid="customers.delivery_event_received")
