"""Outbound webhooks: a merchant's subscriptions, one delivery per event and subscription,
and every attempt to deliver it."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from awda.core.fields import EncryptedTextField
from awda.merchants.models import MerchantOwned


class Subscription(MerchantOwned):
    """A merchant's endpoint and the public event names it wants."""

    public_id = models.CharField(max_length=40, unique=True)
    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list)
    # Shown once at creation (and at rotation); a receiver needs it in clear to verify.
    secret = EncryptedTextField()
    active = models.BooleanField(default=True)
    # Failed attempts in a row, whatever the delivery; a success sets it back to 0.
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.public_id} → {self.url}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Delivery(MerchantOwned):
    """One event for one subscription: the exact body sent (and re-sent by a replay)."""

    public_id = models.CharField(max_length=40, unique=True)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The outbox event (a plain id: events are core's rows); null for a test delivery.
    event_id = models.UUIDField(null=True, blank=True)
    event_type = models.CharField(max_length=60)
    body = models.TextField()
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # The sweep's work list: pending deliveries whose time has come.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker holds the delivery while it posts, so two sweeps never send it together.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Exactly once: a replayed outbox handler finds the delivery already there.
            models.UniqueConstraint(
                fields=["subscription", "event_id"],
                condition=Q(event_id__isnull=False),
                name="webhooks_one_delivery_per_event",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhooks_delivery_due",
            ),
            models.Index(fields=["subscription", "-created_at"], name="webhooks_delivery_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.event_type}, {self.status})"


class Attempt(models.Model):
    """One POST of a delivery: what the receiving server answered, or why nothing did."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    timestamp = models.BigIntegerField()  # the signed Awda-Webhook-Timestamp
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.TextField(blank=True)
    replay = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhooks_attempt_once"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.status_code}"
