"""Payment gateway accounts and the refunds sent through them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from awda.core.fields import EncryptedTextField
from awda.merchants.models import MerchantOwned
from awda.orders.models import Payment


class GatewayAccount(MerchantOwned):
    """A merchant's account with a payment gateway; settings (keys) encrypted at rest.

    ``public_id`` names the account in its webhook address (``/hooks/payments/<public_id>/``):
    it tells which merchant and secret a delivery is for, and is not itself a secret.
    """

    gateway = models.CharField(max_length=40)  # the adapter's code: sandbox, stripe, tap, ...
    name = models.CharField(max_length=80)
    public_id = models.CharField(max_length=32, unique=True)
    settings = EncryptedTextField(blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "gateway"],
                condition=Q(active=True),
                name="one_active_account_per_gateway",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.gateway})"


class GatewayWebhook(MerchantOwned):
    """A gateway's webhook delivery, stored raw under its event id once its signature held.

    Stored first and processed by a job, so the gateway gets its 2xx at once; a delivery
    whose event id is already here is acknowledged and ignored.
    """

    account = models.ForeignKey(GatewayAccount, on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=200)
    body = models.TextField()
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    # What processing made of it (paid, an unknown link, ignored): kept for staff.
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "event_id"], name="gateway_webhook_once"),
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=Q(processed_at__isnull=True),
                name="gateway_webhook_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}:{self.event_id}"


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")  # reserved here, not yet confirmed by the gateway
    SENT = "sent", _("Sent")  # the gateway was asked; its answer is not known yet
    SUCCEEDED = "succeeded", _("Refunded")
    REVIEW = "review", _("Needs review")  # the gateway said no: staff decide, with its words


class Refund(MerchantOwned):
    """Money going back to one of the order's payments: one row per payment and attempt.

    ``idempotency_key`` is sent to the gateway and identifies the refund there: a retried
    job asks the gateway what became of it (``find_refund``) before asking again, so a
    crash between the gateway's answer and our commit never refunds twice.
    """

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    gateway = models.CharField(max_length=40)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    idempotency_key = models.CharField(max_length=120)  # this part's key, sent to the gateway
    request_key = models.CharField(max_length=100)  # the caller's key for the whole refund
    reference = models.CharField(max_length=80)  # e.g. the return number
    status = models.CharField(
        max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    gateway_refund_id = models.CharField(max_length=200, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # One executor at a time: whoever sets this (compare-and-swap) may talk to the gateway
    # until it passes; a worker killed mid-call leaves it to expire, then a retry takes over.
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"], name="refund_idempotency_key_once"
            ),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="refund_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["merchant", "request_key"], name="refund_request_idx"),
            models.Index(
                fields=["status", "created_at"],
                condition=Q(status__in=["pending", "sent"]),
                name="refund_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount_minor} {self.currency} ({self.status})"


class PayoutStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the next transfer file")
    BATCHED = "batched", _("In a transfer file")
    PAID = "paid", _("Transferred")


class PayoutFile(MerchantOwned):
    """A file of bank transfers the merchant downloads (pain.001 XML or CSV), uploads to
    their bank, then marks paid."""

    message_id = models.CharField(max_length=35)
    currency = models.CharField(max_length=3)
    total_minor = models.BigIntegerField()
    count = models.PositiveIntegerField()
    requested_date = models.DateField()
    created_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    # The merchant's own account the transfers leave from, as given for this file.
    debtor_name = models.CharField(max_length=140)
    debtor_iban = EncryptedTextField()
    debtor_bic = models.CharField(max_length=11, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "message_id"], name="payout_file_id"),
            models.CheckConstraint(
                condition=Q(total_minor__gt=0) & Q(count__gt=0), name="payout_file_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return self.message_id


class BankPayout(MerchantOwned):
    """A refund by bank transfer (cash-on-delivery orders): the shopper's account, encrypted
    at rest, waiting for the merchant's next transfer file."""

    reference = models.CharField(max_length=80)  # the return number
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    creditor_name = EncryptedTextField()
    creditor_iban = EncryptedTextField()
    idempotency_key = models.CharField(max_length=100)
    status = models.CharField(
        max_length=10, choices=PayoutStatus.choices, default=PayoutStatus.PENDING
    )
    file = models.ForeignKey(
        PayoutFile, null=True, blank=True, on_delete=models.PROTECT, related_name="payouts"
    )
    created_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"], name="bank_payout_once"
            ),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="payout_positive"),
            models.CheckConstraint(
                condition=Q(status="pending", file__isnull=True)
                | (~Q(status="pending") & Q(file__isnull=False)),
                name="payout_in_a_file_unless_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount_minor} {self.currency} ({self.status})"
