"""Survey emails: one builder, one short function per email. Sent only from tasks."""

from __future__ import annotations

from datetime import date
from email.utils import formataddr
from functools import lru_cache

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext

from core.emails import EmailDraft, absolute_url, blank, build_email, fits_a_draft

from . import texts
from .models import Invitation, Sender, Survey

# What differs between two invitations of one survey, language, sender and kind.
RECIPIENT_VALUES = ("contact_name", "customer", "delivery", "token", "unsubscribe_token", "closes_on")


def survey_invitation(
    invitation: Invitation, *, token: str, unsubscribe_token: str, reminder: bool = False
) -> EmailMultiAlternatives:
    """The survey email (or its reminder) in the contact's language, from the survey's
    sender (who is asking: name, address, reply-to, footer). The unsubscribe
    link has a token of its own: the survey token, which opens and changes the answer,
    never travels in a header that mailbox providers act on."""
    language = invitation.contact.language
    with translation.override(language):
        values = recipient_values(invitation, token=token, unsubscribe_token=unsubscribe_token)
        return build_email(
            "survey_invitation", to=[_address(invitation)],
            **_email_parts(invitation.survey, language=language, sender=invitation.sender, reminder=reminder,
                           values=values),
        )


def survey_draft(*, survey: Survey, language: str, sender: Sender, reminder: bool) -> EmailDraft:
    """The survey email rendered once for every invitation of `survey` to contacts
    speaking `language`, from `sender`: filled in by fill_survey_draft."""
    with translation.override(language):
        return EmailDraft.render(
            "survey_invitation",
            **_email_parts(survey, language=language, sender=sender, reminder=reminder,
                           values={name: blank(name) for name in RECIPIENT_VALUES}),
        )


def fill_survey_draft(draft: EmailDraft, invitation: Invitation, *, token: str, unsubscribe_token: str):
    """The invitation's email from its survey's draft (the same as survey_invitation
    makes), or None when one of its values cannot fill a blank (a line break)."""
    with translation.override(invitation.contact.language):
        values = recipient_values(invitation, token=token, unsubscribe_token=unsubscribe_token)
    if not all(fits_a_draft(value) for value in values.values()):
        return None
    return draft.fill(values, to=[_address(invitation)])


def recipient_values(invitation: Invitation, *, token: str, unsubscribe_token: str) -> dict[str, str]:
    """In the contact's language (translation.override)."""
    return {
        "contact_name": invitation.contact.name or gettext("there"),
        "customer": invitation.delivery.customer.name,
        "delivery": invitation.delivery.label,
        "token": token,
        "unsubscribe_token": unsubscribe_token,
        "closes_on": _date_in(invitation.expires_at.date(), translation.get_language()),
    }


@lru_cache(maxsize=256)
def _date_in(day: date, language: str | None) -> str:
    """The day as the active language writes a date (`language`, the active one, keys
    the cache): a batch's invitations mostly close on the same few days, and formatting
    one costs more than the rest of its values."""
    return date_format(day, "DATE_FORMAT")


def _address(invitation: Invitation) -> str:
    return formataddr((invitation.contact.name, invitation.contact.email))


def _email_parts(survey: Survey, *, language: str, sender: Sender, reminder: bool, values: dict[str, str]) -> dict:
    """What build_email or EmailDraft.render needs; called with `language` active."""
    survey_url = absolute_url(reverse("surveys:respond", args=[values["token"]]))
    unsubscribe_url = absolute_url(reverse("surveys:unsubscribe", args=[values["unsubscribe_token"]]))
    own_texts = survey.texts_in(language)

    def text(field: str) -> str:
        return texts.fill_in(getattr(own_texts, field), contact_name=values["contact_name"],
                             customer=values["customer"], delivery=values["delivery"], company=sender.name)

    context = {
        "language": language,
        "subject": text("reminder_subject" if reminder else "email_subject"),
        "question": text("question"),
        "intro": text("email_intro"),
        "signature": text("email_signature"),
        "company": sender.name,
        "footer": sender.footer,
        "reminder": reminder,
        "score_links": [(score, f"{survey_url}?score={score}") for score in survey.scores],
        "lowest": survey.scale_min,
        "highest": survey.scale_max,
        "unsubscribe_url": unsubscribe_url,
        "closes_on": values["closes_on"],
    }
    return {
        "context": context,
        "from_email": sender.from_address,
        "reply_to": [sender.reply_to] if sender.reply_to else None,
        "headers": {
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    }
