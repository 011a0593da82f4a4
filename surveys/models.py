from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from functools import lru_cache
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.functional import cached_property
from django.urls import reverse
from django.utils.translation import gettext

from customers.models import Band, Contact, Customer, Language

from . import bands, logos, texts, windows


def hash_token(token: str) -> str:
    """Links carry a token; only this digest of it is stored, to find the invitation."""
    return hashlib.sha256(token.encode()).hexdigest()


class LinkPurpose(models.TextChoices):
    SURVEY = "survey"
    REMINDER = "reminder"
    UNSUBSCRIBE = "unsubscribe"


def link_token(*, invitation_id: int, purpose: str) -> str:
    """The token of one of an invitation's links: an HMAC of its id under SECRET_KEY,
    256 bits in URL-safe base64. The same every time it is made, so an email sent again
    carries the link the customer may already hold; only its digest is stored."""
    mac = _link_mac(settings.SECRET_KEY).copy()
    mac.update(f"{purpose}:{invitation_id}".encode())
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


@lru_cache(maxsize=4)
def _link_mac(secret: str) -> hmac.HMAC:
    """salted_hmac("valuepulse.invitation-link", …, algorithm="sha256") before its
    message: its key derived once per SECRET_KEY (`secret` keys the cache), not once a
    link (the outbox makes four links an email)."""
    return salted_hmac("valuepulse.invitation-link", b"", secret=secret, algorithm="sha256")


def validate_weekdays(value: str) -> None:
    days = [day.strip() for day in value.split(",")]
    if not days or any(day not in {"0", "1", "2", "3", "4", "5", "6"} for day in days):
        raise ValidationError("Days of the week as numbers 0 (Monday) to 6 (Sunday), separated by commas.")


def sender_domains() -> list[str]:
    """The domains survey emails may say they come from: settings.SENDER_DOMAINS, or the
    domain of DEFAULT_FROM_EMAIL when that is empty."""
    domains = settings.SENDER_DOMAINS or [default_from_address().rpartition("@")[2]]
    return [domain.lower() for domain in domains if domain]


def default_from_address() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


class Sender(models.Model):
    """Who is asking: the company whose name, logo and address the survey pages and
    emails carry. One is the default; a survey may name another."""

    name = models.CharField(
        "company name", max_length=100, help_text="Shown at the top of the survey pages and emails, e.g. “Acme Boilers”."
    )
    is_default = models.BooleanField(
        "default sender", default=False, help_text="Used by every survey that names no sender. Exactly one."
    )
    from_name = models.CharField(
        "sender name",
        max_length=100,
        blank=True,
        help_text="The name the email comes from, e.g. “Acme Boilers customer care”. Empty: the company name.",
    )
    from_email = models.EmailField(
        "sender address",
        blank=True,
        help_text="The address the email comes from; it must be at a domain this site may send from "
        "(SENDER_DOMAINS). Empty: the address of DEFAULT_FROM_EMAIL.",
    )
    reply_to = models.EmailField(
        "reply-to address", blank=True, help_text="Where a respondent's reply to the email goes. Empty: no Reply-To."
    )
    footer = models.TextField(
        max_length=300,
        blank=True,
        help_text="A line or two at the foot of the emails and survey pages: the company's address, phone, "
        "registration. Plain text.",
    )
    logo = models.BinaryField(max_length=logos.MAX_BYTES, blank=True, editable=False)
    logo_type = models.CharField(max_length=20, blank=True, editable=False)
    logo_digest = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="sender_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        domain = self.from_email.rpartition("@")[2].lower()
        if self.from_email and domain not in sender_domains():
            raise ValidationError(
                {
                    "from_email": f"Mail may only come from {', '.join(sender_domains())} (SENDER_DOMAINS); "
                    f"{domain} is not one of them, and mail from it would be marked as spam."
                }
            )

    def set_logo(self, content: bytes, content_type: str) -> None:
        self.logo = content
        self.logo_type = content_type
        self.logo_digest = hashlib.sha256(content).hexdigest()

    def remove_logo(self) -> None:
        self.logo, self.logo_type, self.logo_digest = b"", "", ""

    @property
    def logo_url(self) -> str:
        """The logo's address, changing with its content so browsers may keep it for good."""
        return reverse("surveys:logo", args=[self.logo_digest]) if self.logo_digest else ""

    @property
    def from_address(self) -> str:
        """The From header: the sender name at the sender address."""
        return formataddr((self.from_name or self.name, self.from_email or default_from_address()))

    @classmethod
    def default(cls) -> Sender:
        """The default sender, its logo left unread. Before staff make one, a sender named
        as DEFAULT_FROM_EMAIL names itself; reading never writes."""
        sender = cls.objects.defer("logo").filter(is_default=True).first()
        if sender is None:
            name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
            sender = cls(name=name or address.rpartition("@")[2], is_default=True)
        return sender

    @classmethod
    def of(cls, survey: Survey) -> Sender:
        """The sender of `survey`'s pages and emails: its own, or the default."""
        if survey.sender_id is None:
            return cls.default()
        return cls.objects.defer("logo").get(pk=survey.sender_id)


DEFAULT_SURVEY_SLUG = "post-delivery"
NO_DEFAULT_SURVEY = "No survey is marked as the default; name a survey by its slug, or mark one as the default in the admin."


class Survey(models.Model):
    """A survey definition. Texts may use {contact_name}, {customer} and {delivery}."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    is_default = models.BooleanField(
        "default survey", default=False, help_text="Used for deliveries that name no survey. Exactly one."
    )
    is_active = models.BooleanField("active", default=True)
    sender = models.ForeignKey(
        Sender,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="surveys",
        help_text="Who is asking, on this survey's pages and emails. Empty: the default sender.",
    )

    question = models.CharField(max_length=300, default="How satisfied are you with {delivery}?")
    scale_min = models.PositiveSmallIntegerField(
        "lowest score",
        choices=[(1, "1 (scale 1–10)"), (0, "0 (NPS scale 0–10)")],
        default=1,
    )
    scale_max = models.PositiveSmallIntegerField("highest score", default=10, editable=False)
    promoter_min = models.PositiveSmallIntegerField(
        "lowest promoter score", default=9, validators=[MaxValueValidator(10)]
    )
    satisfied_min = models.PositiveSmallIntegerField(
        "lowest satisfied score",
        default=6,
        validators=[MaxValueValidator(10)],
        help_text="Scores below this are at risk (6 on 1–10; 7 on an NPS 0–10 survey).",
    )

    send_delay = models.DurationField(default=timedelta(hours=1), help_text="After delivered_at.")
    throttle = models.DurationField(
        "throttle window", default=timedelta(days=30), help_text="A contact is surveyed at most once in this window."
    )
    reminder_delay = models.DurationField(
        default=timedelta(days=3), help_text="One reminder this long after sending, if unanswered."
    )
    expiry = models.DurationField(default=timedelta(days=14), help_text="The link closes this long after sending is due.")
    send_days = models.CharField(
        "sending days",
        max_length=13,
        default="0,1,2,3,4,5,6",
        validators=[validate_weekdays],
        help_text="Days of the week emails may leave, in the customer's time zone: 0 is Monday … 6 Sunday, "
        "e.g. 0,1,2,3,4 for weekdays.",
    )
    send_from = models.TimeField(
        "sending from", null=True, blank=True, help_text="Local time of the customer; empty: from midnight."
    )
    send_until = models.TimeField(
        "sending until", null=True, blank=True, help_text="Local time of the customer; empty: until midnight."
    )
    daily_cap = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="At most this many survey emails a day (in TIME_ZONE); the most valuable customers' go first, "
        "the rest the next day. Empty: no cap.",
    )

    email_subject = models.CharField(max_length=200, default="How did we do with {delivery}?")
    reminder_subject = models.CharField(max_length=200, default="Reminder: how did we do with {delivery}?")
    email_intro = models.TextField(default=texts.DEFAULT_INTRO)
    email_signature = models.TextField(default=texts.DEFAULT_SIGNATURE)

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="survey_one_default"
            ),
            models.CheckConstraint(
                condition=models.Q(satisfied_min__lte=models.F("promoter_min"))
                & models.Q(satisfied_min__gt=models.F("scale_min")),
                name="survey_band_thresholds_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.scale_min < self.satisfied_min <= self.promoter_min <= self.scale_max:
            raise ValidationError(
                {"satisfied_min": "Needs lowest score < lowest satisfied ≤ lowest promoter ≤ 10."}
            )
        if self.send_from and self.send_until and self.send_from >= self.send_until:
            raise ValidationError({"send_until": "Must be later than “sending from” (windows end the same day)."})
        check_placeholders(self)

    @property
    def scores(self) -> range:
        return range(self.scale_min, self.scale_max + 1)

    def classify(self, score: int) -> str:
        return bands.classify(score, self)

    @property
    def send_window(self) -> windows.SendWindow:
        return windows.SendWindow(
            days=frozenset(int(day) for day in self.send_days.split(",") if day.strip()),
            start=self.send_from,
            end=self.send_until,
        )

    def texts_in(self, language: str) -> Survey | SurveyText:
        """The survey's texts in `language`, or its own when there is no translation."""
        for translation in self.translations.all():
            if translation.language == language:
                return translation
        return self

    @classmethod
    def default(cls) -> Survey:
        """The survey of deliveries that name none: migration 0002 makes it, and staff may
        mark another one in the admin. Reading it never writes; with none marked it
        raises Survey.DoesNotExist saying so."""
        survey = cls.objects.filter(is_default=True).first()
        if survey is None:
            raise cls.DoesNotExist(NO_DEFAULT_SURVEY)
        return survey


# The survey's own texts are in settings.LANGUAGE_CODE (English); SurveyText rows
# give them in other languages.
TEXT_FIELDS = ("question", "email_subject", "reminder_subject", "email_intro", "email_signature")


class SurveyText(models.Model):
    """A survey's texts in another language, used for contacts who speak it."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=8, choices=Language.choices)
    question = models.CharField(max_length=300)
    email_subject = models.CharField(max_length=200)
    reminder_subject = models.CharField(max_length=200)
    email_intro = models.TextField()
    email_signature = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "language"], name="survey_text_one_per_language"),
        ]

    def __str__(self) -> str:
        return f"{self.survey} ({self.get_language_display()})"

    def clean(self) -> None:
        check_placeholders(self)


def check_placeholders(texts_owner: Survey | SurveyText) -> None:
    for field in TEXT_FIELDS:
        try:
            texts.fill_in(getattr(texts_owner, field), contact_name="", customer="", delivery="", company="")
        except KeyError as exc:
            raise ValidationError(
                {field: f"Unknown placeholder {exc}; use {{contact_name}}, {{customer}}, {{delivery}} or {{company}}."}
            ) from None
        except ValueError as exc:
            raise ValidationError({field: f"{exc}. Write {{{{ or }}}} for a literal brace."}) from None


class Delivery(models.Model):
    """A service delivered to a customer; it triggers one survey invitation."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="deliveries")
    reference = models.CharField(max_length=100, help_text="Unique per customer, e.g. the order number.")
    delivered_at = models.DateTimeField()
    description = models.CharField(max_length=200, blank=True)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="deliveries")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="deliveries")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-delivered_at"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["customer", "reference"], name="delivery_reference_unique_per_customer"),
        ]
        indexes = [
            # A customer's latest deliveries (the customer's timeline reads a page's worth).
            models.Index(fields=["customer", "-delivered_at"], name="delivery_customer_latest_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def label(self) -> str:
        """How the survey names this delivery to the respondent."""
        return self.description or self.reference


class InvitationStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SENT = "sent", "Sent"
    RESPONDED = "responded", "Responded"
    EXPIRED = "expired", "Expired"
    SUPPRESSED = "suppressed", "Suppressed"
    FAILED = "failed", "Failed to send"


class SuppressedReason(models.TextChoices):
    OPTED_OUT = "opted_out", "Contact opted out"
    THROTTLED = "throttled", "Contact surveyed within the throttle window"
    INACTIVE_CUSTOMER = "inactive_customer", "Customer is inactive"
    BOUNCED = "bounced", "Address bounced"
    COMPLAINED = "complained", "Contact reported the survey as spam"


# Invitations that count as "surveyed" for the throttle window.
SURVEYED_STATUSES = [
    InvitationStatus.SCHEDULED,
    InvitationStatus.SENT,
    InvitationStatus.RESPONDED,
    InvitationStatus.EXPIRED,
]


class Invitation(models.Model):
    """One survey for one delivery, sent to the delivery's contact.

    The sweep acts on the times stored here: `next_attempt_at` for sending (it moves on
    with each retry), `remind_at` for the one reminder, `expires_at` for closing.
    Each email carries its own random token, of which only the hash is kept.
    """

    delivery = models.OneToOneField(Delivery, on_delete=models.CASCADE, related_name="invitation")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="invitations")
    status = models.CharField(max_length=12, choices=InvitationStatus.choices)
    suppressed_reason = models.CharField(max_length=20, choices=SuppressedReason.choices, blank=True)
    scheduled_for = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Looked up whole only: migration 0011 drops the LIKE-prefix copies of their indexes
    # that Django makes on PostgreSQL, each a write per answer for nothing.
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    reminder_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    unsubscribe_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-scheduled_for"]
        indexes = [
            # The sweeps: partial indexes stay as small as the work waiting.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="scheduled"),
                name="invitation_due_idx",
            ),
            models.Index(fields=["remind_at"], condition=models.Q(status="sent"), name="invitation_reminder_due_idx"),
            models.Index(fields=["expires_at"], name="invitation_expires_idx"),
            # The throttle check: this contact's recent invitations.
            models.Index(fields=["contact", "scheduled_for"], name="invitation_contact_sched_idx"),
            models.Index(fields=["status"], name="invitation_status_idx"),
            # Insights' response rate: invitations sent in a period, read from the index alone.
            models.Index(
                fields=["sent_at"],
                include=["status", "contact", "delivery"],
                condition=models.Q(sent_at__isnull=False),
                name="invitation_sent_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="suppressed", suppressed_reason__gt="")
                | (~models.Q(status="suppressed") & models.Q(suppressed_reason="")),
                name="invitation_suppressed_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.delivery} → {self.contact}"

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.status == InvitationStatus.EXPIRED or (now or timezone.now()) >= self.expires_at

    @property
    def survey(self) -> Survey:
        return self.delivery.survey

    def use_texts(self, texts: Survey | SurveyText) -> None:
        """The texts `text` fills in: the survey's own, or a translation read already
        (see page_setup), instead of reading them from the survey."""
        self._texts = texts

    def text(self, field: str) -> str:
        """One of the survey's texts (TEXT_FIELDS) in the contact's language, with this
        invitation's names put in."""
        if not hasattr(self, "_texts"):
            self._texts = self.survey.texts_in(self.contact.language)
        text = getattr(self._texts, field)
        # The customer and the sender are read only for a text that names them.
        return texts.fill_in(
            text,
            contact_name=self.contact.name or gettext("there"),
            customer=self.delivery.customer.name if "{customer}" in text else "",
            delivery=self.delivery.label,
            company=self.sender.name if "{company}" in text else "",
        )

    @cached_property
    def sender(self) -> Sender:
        """Who is asking (Sender.of the survey); a batch may set it from one read."""
        return Sender.of(self.survey)


# The longest comment a respondent may leave: the model, the form and the pages' textareas.
COMMENT_MAX_LENGTH = 2000


class SuspectReview(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed: a person answered"
    DISMISSED = "dismissed", "Dismissed: a machine"


class Response(models.Model):
    """The answer to an invitation: the latest score and comment stand; every earlier
    version is kept as a ResponseRevision. Customer and survey are copied here so
    reports aggregate without joining through deliveries."""

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="response")
    # No index of its own: response_customer_latest_idx starts with the customer, and every
    # index is one more write per answer (issue 15).
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="responses", db_index=False)
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    score = models.PositiveSmallIntegerField(validators=[MinValueValidator(0), MaxValueValidator(10)])
    band = models.CharField(max_length=10, choices=Band.choices)
    comment = models.TextField(blank=True, max_length=COMMENT_MAX_LENGTH)
    is_suspect = models.BooleanField(
        "suspect",
        default=False,
        help_text="Looks like a machine clicking (a possible scanner); raises no alert unless a person confirms it.",
    )
    # What the account manager decided about a suspect answer (a "possible scanner"):
    # cleared whenever the answer changes again.
    suspect_review = models.CharField(max_length=10, choices=SuspectReview.choices, blank=True)
    suspect_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suspect_reviewed_at = models.DateTimeField(null=True, blank=True)
    first_submitted_at = models.DateTimeField()
    submitted_at = models.DateTimeField(help_text="When the standing answer was given.")
    revisions = models.PositiveSmallIntegerField(default=0, help_text="How many times the answer was changed.")
    # An outbox flag: set whenever the answer is recorded or changes, cleared by whoever
    # evaluates answers (insights' alerts), so nothing is missed when a message is lost.
    needs_evaluation = models.BooleanField(default=True, editable=False)

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [
            models.Index(fields=["submitted_at"], name="response_submitted_idx"),
            # A customer's latest answer (customer pages, insights' latest answer per customer),
            # read from the index alone on PostgreSQL.
            models.Index(
                fields=["customer", "-submitted_at", "-id"],
                include=["band", "score", "survey", "is_suspect"],
                name="response_customer_latest_idx",
            ),
            models.Index(fields=["band", "submitted_at"], name="response_band_submitted_idx"),
            # Possible scanners waiting for a person's decision (insights' list and its count).
            models.Index(
                fields=["customer", "-submitted_at"],
                condition=models.Q(is_suspect=True, suspect_review=""),
                name="response_awaiting_review_idx",
            ),
            models.Index(
                fields=["submitted_at"],
                condition=models.Q(needs_evaluation=True),
                name="response_needs_evaluation_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.score} ({self.get_band_display()})"


class ResponseRevision(models.Model):
    """An answer as it stood before the respondent changed it."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="history")
    score = models.PositiveSmallIntegerField()
    band = models.CharField(max_length=10, choices=Band.choices)
    comment = models.TextField(blank=True)
    submitted_at = models.DateTimeField()

    class Meta:
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"{self.score} at {self.submitted_at:%Y-%m-%d %H:%M}"
