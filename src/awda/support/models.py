"""Customer support: goodwill within each agent's monthly budget, and notes on customers.

Every staff action here also writes a ``core.AuditEntry`` (``awda.core.audit``); the money a
goodwill grant moves is the wallet's or the payments' own rows, under the grant's key.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from awda.merchants.models import MerchantOwned
from awda.orders.models import Customer, Order


class GoodwillKind(models.TextChoices):
    STORE_CREDIT = "store_credit", _("Store credit")
    FREE_SHIPPING = "free_shipping", _("Free shipping on the next order")
    PARTIAL_REFUND = "partial_refund", _("Partial refund")


class GoodwillStatus(models.TextChoices):
    GRANTED = "granted", _("Granted")
    PENDING = "pending", _("Waiting for the owner's approval")
    REFUSED = "refused", _("Refused by the owner")


class GoodwillAllowance(MerchantOwned):
    """What one agent may grant per calendar month (the merchant's time zone), set by an
    owner. An agent without one has a budget of zero."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    monthly_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    set_by = models.CharField(max_length=150)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "user"], name="goodwill_allowance_once"),
            models.CheckConstraint(
                condition=Q(monthly_minor__gte=0), name="goodwill_allowance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.monthly_minor} {self.currency} a month"


class GoodwillGrant(MerchantOwned):
    """One compensation an agent gave (or asked the owner to give) a customer."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=GoodwillKind.choices)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=GoodwillStatus.choices)
    # The budget month it counts against: the first day of the month, merchant's time zone.
    month = models.DateField()
    idempotency_key = models.CharField(max_length=80)
    # A free-shipping grant's discount code, for the store (the connectors push it).
    code = models.CharField(max_length=24, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"], name="goodwill_grant_key_once"
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="goodwill_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in GoodwillStatus]),
                name="goodwill_status_known",
            ),
            models.CheckConstraint(
                condition=~Q(kind=GoodwillKind.PARTIAL_REFUND) | Q(order__isnull=False),
                name="goodwill_refund_has_order",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "agent", "month"], name="goodwill_budget_idx"),
            models.Index(fields=["merchant", "customer"], name="goodwill_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_minor} {self.currency} ({self.status})"


class CustomerNote(MerchantOwned):
    """An internal note on a customer: staff only, never shown to the shopper."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    author = models.CharField(max_length=150)
    text = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["merchant", "customer", "created_at"], name="note_customer_idx")
        ]

    def __str__(self) -> str:
        return f"note on {self.customer_id} by {self.author}"
