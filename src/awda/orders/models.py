"""Customers, orders, order lines and payments."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from awda.catalog.models import Product, Variant
from awda.merchants.models import MerchantOwned


class Customer(MerchantOwned):
    # NULL, not "": the store's id is unique only when present (a conditional constraint).
    external_id = models.CharField(max_length=80, null=True, blank=True)  # noqa: DJ001
    email = models.CharField(max_length=254, blank=True)  # stored lower-cased
    phone = models.CharField(max_length=20, blank=True)  # stored as digits with leading +
    name = models.CharField(max_length=160, blank=True)
    language = models.CharField(max_length=5, blank=True)
    tags = models.JSONField(default=list, blank=True)
    # Read model for the policy's customer conditions, kept by event handlers.
    units_bought = models.PositiveIntegerField(default=0)
    units_returned = models.PositiveIntegerField(default=0)
    returns_count = models.PositiveIntegerField(default=0)
    returns_value_minor = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "external_id"],
                condition=Q(external_id__isnull=False),
                name="customer_external_id_per_merchant",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "email"], name="customer_email_idx"),
            models.Index(fields=["merchant", "phone"], name="customer_phone_idx"),
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.phone or f"customer {self.pk}"


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Card")
    WALLET = "wallet", _("Wallet")
    CASH_ON_DELIVERY = "cash_on_delivery", _("Cash on delivery")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")


class OrderKind(models.TextChoices):
    SALE = "sale", _("Sale")  # an order the store sent
    REPLACEMENT = "replacement", _("Replacement")  # made by Awda for an exchange


class ReplacementStatus(models.TextChoices):
    """Where a replacement order stands for the store (the connectors push ``ready`` ones)."""

    HELD = "held", _("Held until the price difference is paid")
    READY = "ready", _("Ready to send to the store")
    PUSHED = "pushed", _("Sent to the store")
    CANCELLED = "cancelled", _("Cancelled")


class Order(MerchantOwned):
    number = models.CharField(max_length=40)
    external_id = models.CharField(max_length=80, blank=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    currency = models.CharField(max_length=3)
    payment_method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    prices_include_tax = models.BooleanField(default=True)
    placed_at = models.DateTimeField()
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    subtotal_minor = models.BigIntegerField()
    discount_minor = models.BigIntegerField(default=0)  # order-level, allocated to lines
    shipping_minor = models.BigIntegerField(default=0)
    tax_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField()
    shipping_country = models.CharField(max_length=2, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    # Replacement orders (exchanges): the order they replace, how much of their total the
    # returned items pay for, and what the courier collects in cash for the rest.
    kind = models.CharField(max_length=12, choices=OrderKind.choices, default=OrderKind.SALE)
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replacements"
    )
    replacement_status = models.CharField(
        max_length=12, choices=ReplacementStatus.choices, blank=True, default=""
    )
    exchange_credit_minor = models.BigIntegerField(default=0)
    collect_on_delivery_minor = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "number"], name="order_number_per_merchant"
            ),
            models.CheckConstraint(
                condition=Q(
                    kind="sale",
                    replaces__isnull=True,
                    replacement_status="",
                    exchange_credit_minor=0,
                    collect_on_delivery_minor=0,
                )
                | (
                    Q(kind="replacement", replaces__isnull=False)
                    & ~Q(replacement_status="")
                    & Q(exchange_credit_minor__gte=0)
                    & Q(collect_on_delivery_minor__gte=0)
                    & Q(
                        total_minor__gte=F("exchange_credit_minor") + F("collect_on_delivery_minor")
                    )
                ),
                name="order_replacement_terms",
            ),
            models.CheckConstraint(
                condition=Q(total_minor__gte=0)
                & Q(discount_minor__gte=0)
                & Q(shipping_minor__gte=0)
                & Q(tax_minor__gte=0),
                name="order_amounts_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["merchant", "placed_at"], name="order_placed_idx")]

    def __str__(self) -> str:
        return self.number


class OrderLine(MerchantOwned):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    line_ref = models.CharField(max_length=80)  # the store's line id, stable across upserts
    variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.SET_NULL)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL)
    sku = models.CharField(max_length=80, blank=True)
    title_en = models.CharField(max_length=200)
    title_ar = models.CharField(max_length=200, blank=True)
    quantity = models.PositiveIntegerField()
    delivered_quantity = models.PositiveIntegerField(default=0)
    # Units held by live or completed returns. The CHECK below is the database's guarantee
    # that two concurrent returns can never take the same unit.
    returned_quantity = models.PositiveIntegerField(default=0)
    unit_price_minor = models.BigIntegerField()
    discount_minor = models.BigIntegerField(default=0)  # own discount + share of the order's
    tax_minor = models.BigIntegerField(default=0)
    tax_rate = models.DecimalField(max_digits=6, decimal_places=3, default=0)
    # What the shopper paid for the whole line (price × quantity − discount, + tax when the
    # order's prices exclude it: ``rules.line_paid_minor``), and how much of it has gone back
    # as refunds, bank transfers or store credit (not the bonus). The CHECK below is the
    # database's guarantee that no line is ever given back more than was paid for it.
    paid_minor = models.BigIntegerField(default=0)
    refunded_minor = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "line_ref"], name="line_ref_per_order"),
            models.CheckConstraint(
                condition=Q(delivered_quantity__lte=F("quantity")),
                name="line_delivered_within_ordered",
            ),
            models.CheckConstraint(
                condition=Q(returned_quantity__lte=F("delivered_quantity")),
                name="line_returned_within_delivered",
            ),
            models.CheckConstraint(
                condition=Q(unit_price_minor__gte=0)
                & Q(discount_minor__gte=0)
                & Q(tax_minor__gte=0),
                name="line_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(refunded_minor__gte=0) & Q(refunded_minor__lte=F("paid_minor")),
                name="line_refund_within_paid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.line_ref}"

    @property
    def returnable_quantity(self) -> int:
        return self.delivered_quantity - self.returned_quantity


class Payment(MerchantOwned):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    gateway = models.CharField(max_length=40)
    reference = models.CharField(max_length=120)
    method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    currency = models.CharField(max_length=3)
    captured_minor = models.BigIntegerField()
    refunded_minor = models.BigIntegerField(default=0)
    card_last4 = models.CharField(max_length=4, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order", "gateway", "reference"], name="payment_reference_per_order"
            ),
            models.CheckConstraint(
                condition=Q(captured_minor__gte=0)
                & Q(refunded_minor__gte=0)
                & Q(refunded_minor__lte=F("captured_minor")),
                name="payment_refund_within_captured",
            ),
        ]


class LineRefundKind(models.TextChoices):
    REFUND = "refund", _("Refund")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    STORE_CREDIT = "store_credit", _("Store credit")


class LineRefund(MerchantOwned):
    """Money counted against one order line's paid value by one part of a resolution: a card
    refund's part on one payment, a bank transfer, or a store-credit grant's base.

    A line's ``refunded_minor`` is the sum of its rows not released; a part that never paid
    out (the gateway refused it) gives back exactly its own rows, and a return's rows (by
    ``reference``) say what money went out for which of its lines.
    """

    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="refunds")
    key = models.CharField(max_length=120)  # the part's idempotency key (e.g. Refund's)
    kind = models.CharField(max_length=20, choices=LineRefundKind.choices)
    reference = models.CharField(max_length=80)  # e.g. the return number
    amount_minor = models.BigIntegerField()
    created_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order_line", "key"], name="line_refund_once_per_key"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="line_refund_positive"),
        ]
        indexes = [
            models.Index(fields=["merchant", "key"], name="line_refund_key_idx"),
            models.Index(fields=["merchant", "reference"], name="line_refund_reference_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key} line {self.order_line_id}: {self.amount_minor}"
