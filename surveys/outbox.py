"""The survey emails the outbox sends (core.outbox): each built at send time, after
checking it may still go, and its outcome recorded on the invitation. A batch's
invitations are read at once, when the outbox starts sending it, and its emails are
filled in from one draft per survey, language, sender and kind (core.emails.EmailDraft):
the templates render once a batch, not once a message."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from core import outbox
from core.emails import EmailDraft
from core.models import OutgoingMessage
from customers.models import Contact, Customer

from . import emails, services
from .link_lookup import columns, instances, reading
from .models import Delivery, Invitation, InvitationStatus, LinkPurpose, Sender, Survey, link_token

# What building a survey email reads of its invitation, table by table (any other column
# is deferred, read when asked for, as with `.only()`).
BATCH_READ = reading(
    (Invitation, "i", ("id", "delivery_id", "contact_id", "status", "expires_at")),
    (Delivery, "d", ("id", "customer_id", "reference", "description", "survey_id")),
    (Customer, "cu", ("id", "name", "is_active")),
    (Contact, "c", ("id", "email", "name", "language", "opted_out", "opt_out_reason", "undeliverable_at")),
)
BATCH_SQL = (
    f"SELECT {columns(BATCH_READ)}"  # nosec B608: table and column names from the models, the ids as a parameter
    f" FROM {Invitation._meta.db_table} i"
    f" INNER JOIN {Delivery._meta.db_table} d ON d.id = i.delivery_id"
    f" INNER JOIN {Customer._meta.db_table} cu ON cu.id = d.customer_id"
    f" INNER JOIN {Contact._meta.db_table} c ON c.id = i.contact_id"
    " WHERE i.id IN ({ids})"
)


def _builder(messages: list[OutgoingMessage], *, reminder: bool) -> outbox.Build:
    """Builds the emails of `messages`, their invitations read in one query, their
    surveys (one object each, shared by its invitations) and translations in two more,
    their senders in one or two more."""
    invitations = _read_invitations([message.object_id for message in messages])
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


def _read_invitations(ids: list[int], *, using: str = DEFAULT_DB_ALIAS) -> dict[int, Invitation]:
    """The invitations of `ids` with their deliveries, customers and contacts, by id: in
    one statement written once (BATCH_SQL), each row made into instances as the ORM
    makes them, where the ORM's select_related compiled its query and filled in every
    column of four tables each batch."""
    if not ids:
        return {}
    with connections[using].cursor() as cursor:
        cursor.execute(BATCH_SQL.format(ids=", ".join(["%s"] * len(ids))), ids)
        rows = cursor.fetchall()
    found = {}
    for row in rows:
        invitation, delivery, customer, contact = instances(row, BATCH_READ, using=using)
        Delivery.customer.field.set_cached_value(delivery, customer)
        Invitation.delivery.field.set_cached_value(invitation, delivery)
        Invitation.contact.field.set_cached_value(invitation, contact)
        found[invitation.pk] = invitation
    return found


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
