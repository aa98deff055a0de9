"""Exchanges: the stock held for them, the replacement order, and the price difference.

An exchange belongs to a return, but this app sits below ``returns`` (DESIGN.md §7): it
names its return by id and number (``return_id``, ``reference``) and never imports it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from awda.catalog.models import Stock, Variant
from awda.merchants.models import MerchantOwned
from awda.orders.models import Customer, Order, OrderLine


class ExchangeStatus(models.TextChoices):
    RESERVED = "reserved", _("Stock reserved")  # waiting for the return's refund timing
    AWAITING_PAYMENT = "awaiting_payment", _("Waiting for the price difference")
    ISSUED = "issued", _("Replacement ordered")
    REVIEW = "review", _("Needs review")  # the returned items didn't arrive as promised
    CANCELLED = "cancelled", _("Cancelled")  # the return closed before anything shipped


class DifferenceHandling(models.TextChoices):
    NONE = "none", _("No price difference")
    CHARGE_LINK = "charge_link", _("Paid by payment link")
    COLLECT_ON_DELIVERY = "collect_on_delivery", _("Collected on delivery")
    REFUND = "refund", _("Refunded to the original payment")
    BANK_TRANSFER = "bank_transfer", _("Refunded by bank transfer")
    STORE_CREDIT = "store_credit", _("Given as store credit")


class Originals(models.TextChoices):
    """Whether the returned items came back (what an exchange shipped early relies on)."""

    AWAITING = "awaiting", _("On their way back")
    BACK = "back", _("Came back")
    NOT_BACK = "not_back", _("Did not come back")  # never sent, or missing / wrong on arrival
    KEPT = "kept", _("Kept by the customer")  # keep-item: nothing was to come back


class UnreturnedAction(models.TextChoices):
    """What was done about items that never came back after their exchange shipped."""

    NONE = "", _("Nothing")
    CHARGE = "charge", _("Charged by payment link")
    REVIEW = "review", _("Sent to review")


class Exchange(MerchantOwned):
    """One return's exchange: opened with the return (stock held), issued when the policy's
    timing comes (or at approval, for an instant exchange) as a replacement order."""

    return_id = models.BigIntegerField()  # returns.Return; no FK: exchanges sit below returns
    reference = models.CharField(max_length=80)  # the return number
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="exchanges")
    currency = models.CharField(max_length=3)
    idempotency_key = models.CharField(max_length=100)  # "return-<id>-exchange"
    status = models.CharField(
        max_length=20, choices=ExchangeStatus.choices, default=ExchangeStatus.RESERVED
    )
    # The policy's terms when the shopper asked (a later policy edit doesn't change a deal).
    price_higher = models.CharField(max_length=20)  # charge_link | collect_on_delivery
    price_lower = models.CharField(max_length=20)  # refund_difference | credit_difference
    instant_allowed = models.BooleanField(default=False)  # policy and value cap allowed it
    instant = models.BooleanField(default=False)  # issued before the originals came back
    # What the new items cost, what the returned items count towards them (their refund
    # after fees), and the difference: > 0 the shopper pays, < 0 the shopper gets back.
    replacement_value_minor = models.BigIntegerField()
    credit_minor = models.BigIntegerField()
    difference_minor = models.BigIntegerField()
    difference_handling = models.CharField(
        max_length=20, choices=DifferenceHandling.choices, blank=True
    )
    replacement_order = models.OneToOneField(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="exchange"
    )
    originals = models.CharField(
        max_length=10, choices=Originals.choices, default=Originals.AWAITING
    )
    # The value of returned items that never came back after their replacement shipped.
    unreturned_minor = models.BigIntegerField(default=0)
    unreturned_action = models.CharField(
        max_length=10, choices=UnreturnedAction.choices, blank=True, default=""
    )
    note = models.CharField(max_length=200, blank=True)  # why it waits for a person
    created_at = models.DateTimeField()
    issued_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"], name="exchange_idempotency_key_once"
            ),
            models.UniqueConstraint(fields=["return_id"], name="one_exchange_per_return"),
            models.CheckConstraint(
                condition=Q(replacement_value_minor__gte=0)
                & Q(credit_minor__gte=0)
                & Q(difference_minor=F("replacement_value_minor") - F("credit_minor"))
                & Q(unreturned_minor__gte=0),
                name="exchange_amounts_add_up",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["awaiting_payment", "issued"])
                | (Q(replacement_order__isnull=False) & Q(issued_at__isnull=False)),
                name="exchange_issued_with_its_order",
            ),
        ]
        indexes = [
            # The risk rule: a customer's instant exchanges whose originals are still out.
            models.Index(fields=["customer", "instant", "originals"], name="exchange_risk_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} exchange ({self.status})"


class ExchangeLine(MerchantOwned):
    """One returned item and what it becomes."""

    exchange = models.ForeignKey(Exchange, on_delete=models.CASCADE, related_name="lines")
    return_item_id = models.BigIntegerField()  # returns.ReturnItem
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_price_minor = models.BigIntegerField()  # the new variant's price when asked
    credit_minor = models.BigIntegerField()  # what the returned units count towards it

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["exchange", "return_item_id"], name="one_exchange_line_per_item"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1) & Q(unit_price_minor__gte=0) & Q(credit_minor__gte=0),
                name="exchange_line_amounts",
            ),
        ]


class ReservationStatus(models.TextChoices):
    RESERVED = "reserved", _("Reserved")
    RELEASED = "released", _("Released")  # the exchange won't ship: units back on offer
    CONSUMED = "consumed", _("Consumed")  # left with the replacement order


class StockReservation(MerchantOwned):
    """Units of one stock row held for one exchange: the audit of ``Stock.reserved``."""

    exchange = models.ForeignKey(Exchange, on_delete=models.CASCADE, related_name="reservations")
    stock = models.ForeignKey(Stock, on_delete=models.PROTECT, related_name="+")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=ReservationStatus.choices, default=ReservationStatus.RESERVED
    )
    created_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["exchange", "stock"], name="one_reservation_per_row"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="reservation_positive"),
            models.CheckConstraint(
                condition=Q(status="reserved", settled_at__isnull=True)
                | (~Q(status="reserved") & Q(settled_at__isnull=False)),
                name="reservation_settled_with_its_time",
            ),
        ]


class PaymentPurpose(models.TextChoices):
    DIFFERENCE = "difference", _("Price difference")
    UNRETURNED = "unreturned", _("Items not returned")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Link not made yet")
    SENT = "sent", _("Link sent")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Link failed")
    CANCELLED = "cancelled", _("Cancelled")


class ExchangePayment(MerchantOwned):
    """Money the shopper owes for an exchange, asked for by a payment link (at most one per
    purpose and exchange; the idempotency key goes to the gateway)."""

    exchange = models.ForeignKey(Exchange, on_delete=models.PROTECT, related_name="payments")
    purpose = models.CharField(max_length=12, choices=PaymentPurpose.choices)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    idempotency_key = models.CharField(max_length=100)
    status = models.CharField(
        max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    gateway = models.CharField(max_length=40, blank=True)
    link_id = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=500, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["exchange", "purpose"], name="one_payment_per_purpose"),
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"], name="exchange_payment_key_once"
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="exchange_payment_positive"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["sent", "paid"]) | ~Q(link_id=""),
                name="exchange_payment_sent_with_its_link",
            ),
        ]
        indexes = [models.Index(fields=["merchant", "link_id"], name="exchange_payment_link_idx")]
