from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower


class OutgoingMessage(models.Model):
    """One message that leaves the building (survey email, reminder, alert email), as a
    durable row before it is anything else. core.outbox claims, sends and records it;
    the app that queued it (its `kind`) builds it at send time and hears the outcome."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        BOUNCED = "bounced", "Bounced"
        SUPPRESSED = "suppressed", "Suppressed"

    # Names the message once, whatever the retries: "survey-invitation:42".
    key = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=40)
    object_id = models.BigIntegerField(help_text="The row the message is about (an invitation, an alert).")
    recipient = models.CharField(max_length=1000, blank=True, help_text="Filled when the message is built.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker took it to send.")
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="queued"), name="outbox_due_idx"),
            models.Index(fields=["claimed_at"], condition=models.Q(status="sending"), name="outbox_sending_idx"),
            # Sent, its app not yet told (MessageKind.sent_many): what a dead worker left.
            models.Index(
                fields=["claimed_at"],
                condition=models.Q(status="sent", claimed_at__isnull=False),
                name="outbox_untold_idx",
            ),
            models.Index(
                fields=["provider_message_id"], condition=~models.Q(provider_message_id=""), name="outbox_provider_id_idx"
            ),
            models.Index(fields=["kind", "object_id"], name="outbox_kind_object_idx"),
            # A delivery event without a message id is matched by address: the latest sent to it.
            models.Index(Lower("recipient"), F("sent_at").desc(), name="outbox_recipient_idx"),
            # The deliverability page counts messages sent, and failed, per day.
            models.Index(fields=["sent_at"], name="outbox_sent_idx"),
            models.Index(fields=["updated_at"], condition=models.Q(status="failed"), name="outbox_failed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"


class DeliveryEvent(models.Model):
    """One thing a provider reported about a message it carried (delivered, bounced,
    opened, complained, …), received through anymail's tracking webhooks and stored once
    however often the provider sends it: by its id when the provider gives one, else by
    a digest of its fields."""

    class Bounce(models.TextChoices):
        HARD = "hard", "Hard bounce (the address is bad)"
        SOFT = "soft", "Soft bounce (for now)"

    esp = models.CharField("provider", max_length=40, help_text="anymail's name: Postmark, Amazon SES, Mailgun…")
    event_id = models.CharField(max_length=255, blank=True, help_text="The provider's id; empty when it gives none.")
    digest = models.CharField(max_length=64, help_text="SHA-256 of the event's fields: tells a repeat without an id.")
    # anymail's normalised type: delivered, bounced, deferred, rejected, complained, opened…
    event_type = models.CharField(max_length=20)
    bounce = models.CharField(max_length=4, choices=Bounce.choices, blank=True)
    recipient = models.CharField(max_length=254, blank=True, help_text="Lower-cased.")
    provider_message_id = models.CharField(max_length=255, blank=True)
    message = models.ForeignKey(
        OutgoingMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="delivery_events"
    )
    occurred_at = models.DateTimeField(help_text="As the provider dated it; when it arrived if undated.")
    received_at = models.DateTimeField(auto_now_add=True)
    # Empty while stored and not yet applied to its message and contacts (a worker does
    # that, or the sweep when the broker lost the task).
    applied_at = models.DateTimeField(null=True, blank=True)
    description = models.CharField(max_length=500, blank=True)
    reject_reason = models.CharField(max_length=20, blank=True)
    mta_response = models.TextField("receiving server's answer", blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            # Recipient too: one Amazon SES notification (one id) covers several recipients.
            models.UniqueConstraint(
                fields=["esp", "event_id", "recipient"],
                condition=~models.Q(event_id=""),
                name="delivery_event_once_by_id",
            ),
            models.UniqueConstraint(
                fields=["esp", "digest"], condition=models.Q(event_id=""), name="delivery_event_once_by_digest"
            ),
        ]
        indexes = [
            models.Index(fields=["occurred_at"], name="delivery_event_occurred_idx"),
            models.Index(
                fields=["recipient", "occurred_at"], condition=models.Q(bounce="soft"), name="delivery_event_soft_idx"
            ),
            # An address's events: a customer's timeline (insights.timeline) reads its contacts'.
            models.Index(fields=["recipient", "-occurred_at"], name="delivery_event_recipient_idx"),
            models.Index(
                fields=["received_at"], condition=models.Q(applied_at__isnull=True), name="delivery_event_unapplied_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.esp} {self.event_type} {self.recipient}"


class SendingPause(models.Model):
    """Survey emails stopped because too many recipients reported them as spam, until
    staff resume them: a sender who goes on is blocked by Gmail and Microsoft. Alert
    emails to staff keep going."""

    reason = models.TextField()
    # True while in force, empty once resumed: unique, so at most one pause is in force.
    in_force = models.BooleanField(null=True, default=True, unique=True, editable=False)
    paused_at = models.DateTimeField(auto_now_add=True)
    resumed_at = models.DateTimeField(null=True, blank=True)
    resumed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-paused_at"]

    def __str__(self) -> str:
        return f"Paused {self.paused_at:%Y-%m-%d %H:%M}" + (" (resumed)" if self.resumed_at else "")


class Heartbeat(models.Model):
    """When a background process last showed it is alive, where web and worker both can
    read it: each Celery worker ("worker:<its name>") every HEARTBEAT_SECONDS, and beat
    ("beat") whenever it sends a periodic task. /health/ready reads these (core.health)."""

    name = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class TaskTally(models.Model):
    """How many times each Celery task has run, and failed, counted by the workers
    (core.health) so that /metrics, in a web process, can report them."""

    task = models.CharField(max_length=200, unique=True)
    runs = models.PositiveBigIntegerField(default=0)
    failures = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.task}: {self.runs} runs, {self.failures} failures"
