from __future__ import annotations

from django.db import models


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
            models.Index(
                fields=["provider_message_id"], condition=~models.Q(provider_message_id=""), name="outbox_provider_id_idx"
            ),
            models.Index(fields=["kind", "object_id"], name="outbox_kind_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"
