"""The survey emails the outbox sends (core.outbox): each built at send time, after
checking it may still go, and its outcome recorded on the invitation. A batch's
invitations are read at once, when the outbox starts sending it, and its emails are
filled in from one draft per survey, language, sender and kind (core.emails.EmailDraft):
the templates render once a batch, not once a message."""

from __future__ import annotations

from django.utils import timezone

from core import outbox
from core.emails import EmailDraft
from core.models import OutgoingMessage

from . import emails, services
from .models import Invitation, InvitationStatus, LinkPurpose, Sender, Survey, link_token


def _builder(messages: list[OutgoingMessage], *, reminder: bool) -> outbox.Build:
    """Builds the emails of `messages`, their invitations read in one query, their
    surveys (one object each, shared by its invitations) and translations in two more,
    their senders in one or two more."""
    invitations = Invitation.objects.select_related("delivery__customer", "contact").in_bulk(
        [message.object_id for message in messages]
    )
    surveys = Survey.objects.prefetch_related("translations").in_bulk(
        {invitation.delivery.survey_id for invitation in invitations.values()}
    )
    for invitation in invitations.values():
        invitation.delivery.survey = surveys[invitation.delivery.survey_id]
    _read_senders(list(invitations.values()))
    drafts: dict[tuple, EmailDraft] = {}

    def draft(invitation: Invitation) -> EmailDraft:
        key = (invitation.survey.pk, invitation.contact.language, invitation.sender.pk, invitation.sender.name)
        if key not in drafts:
            drafts[key] = emails.survey_draft(
                survey=invitation.survey, language=invitation.contact.language, sender=invitation.sender,
                reminder=reminder,
            )
        return drafts[key]

    def build(message: OutgoingMessage):
        invitation = invitations.get(message.object_id)
        if invitation is None:
            raise Invitation.DoesNotExist(f"Invitation {message.object_id} does not exist.")
        return _email(invitation, message, reminder=reminder, draft=draft)

    return build


def _read_senders(invitations: list[Invitation]) -> None:
    """Sets who is asking on each invitation: its survey's sender, or the default."""
    sender_ids = {invitation.survey.sender_id for invitation in invitations}
    senders = Sender.objects.defer("logo").in_bulk(sender_ids - {None})
    default = Sender.default() if None in sender_ids else None
    for invitation in invitations:
        invitation.sender = senders.get(invitation.survey.sender_id, default)


def _email(invitation: Invitation, message: OutgoingMessage, *, reminder: bool, draft=None):
    now = message.claimed_at or timezone.now()  # the moment the outbox took it to send
    # An answer, an expiry or staff since it was queued: the email has nothing to ask.
    if invitation.status != InvitationStatus.SENT or invitation.is_expired(now):
        raise outbox.Unwanted("closed")
    reason = services.unreachable_reason(invitation)
    if reason:
        raise outbox.Unwanted(reason)
    purpose = LinkPurpose.REMINDER if reminder else LinkPurpose.SURVEY
    tokens = {
        "token": link_token(invitation_id=invitation.pk, purpose=purpose),
        "unsubscribe_token": link_token(invitation_id=invitation.pk, purpose=LinkPurpose.UNSUBSCRIBE),
    }
    filled = emails.fill_survey_draft(draft(invitation), invitation, **tokens) if draft is not None else None
    return filled or emails.survey_invitation(invitation, reminder=reminder, **tokens)


def _invitations_sent(messages: list[OutgoingMessage]) -> None:
    services.record_invitations_sent(sent_at={message.object_id: message.sent_at for message in messages})


def _invitation_not_sent(message: OutgoingMessage) -> None:
    suppressed = message.status == OutgoingMessage.Status.SUPPRESSED
    services.record_invitation_not_sent(
        invitation_id=message.object_id,
        reason=message.last_error if suppressed else "",
        error="" if suppressed else message.last_error,
    )


def _reminders_sent(messages: list[OutgoingMessage]) -> None:
    services.record_reminders_sent(sent_at={message.object_id: message.sent_at for message in messages})


outbox.register(
    services.INVITATION_MESSAGE,
    outbox.MessageKind(
        build=lambda message: _builder([message], reminder=False)(message),
        build_many=lambda messages: _builder(messages, reminder=False),
        sent=lambda message: _invitations_sent([message]),
        sent_many=_invitations_sent,
        given_up=_invitation_not_sent,
    ),
)
outbox.register(
    services.REMINDER_MESSAGE,
    outbox.MessageKind(
        build=lambda message: _builder([message], reminder=True)(message),
        build_many=lambda messages: _builder(messages, reminder=True),
        sent=lambda message: _reminders_sent([message]),
        sent_many=_reminders_sent,
    ),
)
