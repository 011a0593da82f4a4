"""What customers hears from elsewhere, each handed on in one line."""

from __future__ import annotations

from anymail.signals import AnymailTrackingEvent

from .deliverability import receive_delivery_event


def delivery_event_received(sender: type, event: AnymailTrackingEvent, esp_name: str, **kwargs: object) -> None:
    # Stored in PostgreSQL before the webhook answers 200, whether or not the broker is up.
    receive_delivery_event(event, esp_name=esp_name)
