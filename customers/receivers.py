"""What customers hears from elsewhere, each handed on in one line."""

from __future__ import annotations

from anymail.signals import AnymailTrackingEvent

from core.queue import publish

from .deliverability import event_fields

RECORD_DELIVERY_EVENT = "customers.tasks.record_delivery_event"


def delivery_event_received(sender: type, event: AnymailTrackingEvent, esp_name: str, **kwargs: object) -> None:
    # Published at once, raising if the broker cannot take it: the webhook then answers
    # 500 and the provider sends the event again later, so none is lost.
    publish(RECORD_DELIVERY_EVENT, **event_fields(event, esp_name=esp_name))
