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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "number"], name="order_number_per_merchant"
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
