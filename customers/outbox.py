"""The emails about deliverability the outbox sends (core.outbox)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.urls import reverse

from core import outbox
from core.emails import absolute_url, build_email
from core.models import OutgoingMessage, SendingPause

SENDING_PAUSED_MESSAGE = "sending-paused"


def _build_sending_paused(message: OutgoingMessage):
    pause = SendingPause.objects.get(pk=message.object_id)
    if pause.in_force is None:
        raise outbox.Unwanted("resumed before the email went")
    staff = list(
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .order_by("pk")
        .values_list("email", flat=True)
    )
    if not staff:
        raise outbox.Unwanted("no staff user has an email address")
    context = {"pause": pause, "deliverability_url": absolute_url(reverse("customers:deliverability"))}
    return build_email("sending_paused", context=context, to=staff)


outbox.register(SENDING_PAUSED_MESSAGE, outbox.MessageKind(build=_build_sending_paused))
