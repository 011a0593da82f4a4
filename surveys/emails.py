"""Survey emails: one builder, one short function per email. Sent only from tasks."""

from __future__ import annotations

from email.utils import formataddr

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

from core.emails import absolute_url, build_email

from .models import Invitation


def survey_invitation(
    invitation: Invitation, *, token: str, unsubscribe_token: str, reminder: bool = False
) -> EmailMultiAlternatives:
    """The survey email (or its reminder) in the contact's language, from the survey's
    sender (who is asking: name, address, reply-to, footer). The unsubscribe
    link has a token of its own: the survey token, which opens and changes the answer,
    never travels in a header that mailbox providers act on."""
    delivery = invitation.delivery
    survey = delivery.survey
    contact = invitation.contact
    sender = invitation.sender
    survey_url = absolute_url(reverse("surveys:respond", args=[token]))
    unsubscribe_url = absolute_url(reverse("surveys:unsubscribe", args=[unsubscribe_token]))
    with translation.override(contact.language):
        context = {
            "language": contact.language,
            "subject": invitation.text("reminder_subject" if reminder else "email_subject"),
            "question": invitation.text("question"),
            "intro": invitation.text("email_intro"),
            "signature": invitation.text("email_signature"),
            "company": sender.name,
            "footer": sender.footer,
            "reminder": reminder,
            "score_links": [(score, f"{survey_url}?score={score}") for score in survey.scores],
            "lowest": survey.scale_min,
            "highest": survey.scale_max,
            "unsubscribe_url": unsubscribe_url,
            "closes_on": date_format(invitation.expires_at, "DATE_FORMAT"),
        }
        return build_email(
            "survey_invitation",
            context=context,
            to=[formataddr((contact.name, contact.email))],
            from_email=sender.from_address,
            reply_to=[sender.reply_to] if sender.reply_to else None,
            headers={
                "List-Unsubscribe": f"<{unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
