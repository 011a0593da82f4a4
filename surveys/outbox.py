"""The survey emails the outbox sends (core.outbox): each built at send time, after
checking it may still go, and its outcome recorded on the invitation."""

from __future__ import annotations

from django.utils import timezone

from core import outbox
from core.models import OutgoingMessage

from . import emails, services
from .models import Invitation, InvitationStatus, LinkPurpose, link_token


def _invitation(message: OutgoingMessage) -> Invitation:
    return (
        Invitation.objects.select_related("delivery__survey", "delivery__customer", "contact")
        .prefetch_related("delivery__survey__translations")
        .get(pk=message.object_id)
    )


def _build(message: OutgoingMessage, *, reminder: bool):
    invitation = _invitation(message)
    now = message.claimed_at or timezone.now()  # the moment the outbox took it to send
    # An answer, an expiry or staff since it was queued: the email has nothing to ask.
    if invitation.status != InvitationStatus.SENT or invitation.is_expired(now):
        raise outbox.Unwanted("closed")
    reason = services.unreachable_reason(invitation, now=now)
    if reason:
        raise outbox.Unwanted(reason)
    purpose = LinkPurpose.REMINDER if reminder else LinkPurpose.SURVEY
    return emails.survey_invitation(
        invitation,
        token=link_token(invitation_id=invitation.pk, purpose=purpose),
        unsubscribe_token=link_token(invitation_id=invitation.pk, purpose=LinkPurpose.UNSUBSCRIBE),
        reminder=reminder,
    )


def _invitation_sent(message: OutgoingMessage) -> None:
    services.record_invitation_sent(invitation_id=message.object_id, sent_at=message.sent_at)


def _invitation_not_sent(message: OutgoingMessage) -> None:
    suppressed = message.status == OutgoingMessage.Status.SUPPRESSED
    services.record_invitation_not_sent(
        invitation_id=message.object_id,
        reason=message.last_error if suppressed else "",
        error="" if suppressed else message.last_error,
    )


def _reminder_sent(message: OutgoingMessage) -> None:
    Invitation.objects.filter(pk=message.object_id).update(reminded_at=message.sent_at)


outbox.register(
    services.INVITATION_MESSAGE,
    outbox.MessageKind(
        build=lambda message: _build(message, reminder=False), sent=_invitation_sent, given_up=_invitation_not_sent
    ),
)
outbox.register(
    services.REMINDER_MESSAGE,
    outbox.MessageKind(build=lambda message: _build(message, reminder=True), sent=_reminder_sent),
)
