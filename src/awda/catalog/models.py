"""Products, variants, suppliers, categories, locations and stock."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from awda.merchants.models import MerchantOwned


class Supplier(MerchantOwned):
    code = models.CharField(max_length=60)
    name = models.CharField(max_length=120)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "code"], name="supplier_code_per_merchant")
        ]

    def __str__(self) -> str:
        return self.name


class Category(MerchantOwned):
    code = models.CharField(max_length=60)
    name_en = models.CharField(max_length=120)
    name_ar = models.CharField(max_length=120, blank=True)

    class Meta:
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "code"], name="category_code_per_merchant")
        ]

    def __str__(self) -> str:
        return self.name_en


class Product(MerchantOwned):
    external_id = models.CharField(max_length=80)
    title_en = models.CharField(max_length=200)
    title_ar = models.CharField(max_length=200, blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL)
    supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.SET_NULL)
    tags = models.JSONField(default=list, blank=True)
    final_sale = models.BooleanField(default=False)
    returnable = models.BooleanField(default=True)
    image_url = models.URLField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "external_id"], name="product_external_id_per_merchant"
            )
        ]

    def __str__(self) -> str:
        return self.title_en


class Variant(MerchantOwned):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=80)
    options = models.JSONField(default=dict, blank=True)  # {"size": "M", "colour": "black"}
    price_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    barcode = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "sku"], name="variant_sku_per_merchant"),
            models.CheckConstraint(
                condition=models.Q(price_minor__gte=0), name="variant_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.sku


class Location(MerchantOwned):
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=120)
    is_default = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "code"], name="location_code_per_merchant"),
            models.UniqueConstraint(
                fields=["merchant"],
                condition=models.Q(is_default=True),
                name="one_default_location_per_merchant",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Stock(MerchantOwned):
    """Units of a variant at a location: ``on_hand`` is the running total of its
    ``StockMove`` rows, changed only by ``catalog.services.move_stock`` (and the exchange
    helpers that call it), never overwritten.

    ``reserved`` units are promised to exchanges not yet shipped: what a shopper may still
    choose is ``on_hand - reserved``. The database refuses a reservation beyond what is on
    hand, so two shoppers can never be promised the same last unit.
    """

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="stock")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="stock")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["variant", "location"], name="stock_per_location"),
            models.CheckConstraint(
                condition=models.Q(reserved__gte=0) & models.Q(reserved__lte=models.F("on_hand")),
                name="stock_reserved_within_on_hand",
            ),
        ]

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockMoveReason(models.TextChoices):
    RESTOCK = "restock", _("Restocked from a return")
    EXCHANGE_OUT = "exchange_out", _("Shipped in an exchange")
    ADJUSTMENT = "adjustment", _("Adjustment")
    STORE_SYNC = "store_sync", _("Synced from the store")


class StockMove(MerchantOwned):
    """One change of units on hand: the ledger behind ``Stock.on_hand``.

    ``on_hand_after`` is the row's total right after this move (taken under the stock row's
    lock), so the history reads without summing. A move with an ``idempotency_key`` happens
    once per merchant, however many times a button is clicked or a job retried.
    """

    stock = models.ForeignKey(Stock, on_delete=models.PROTECT, related_name="moves")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    quantity = models.IntegerField()  # + in, - out
    on_hand_after = models.IntegerField()
    reason = models.CharField(max_length=20, choices=StockMoveReason.choices)
    reference = models.CharField(max_length=120, blank=True)  # e.g. "R-7K3M-Q9/1"
    # NULL, not "": unique only when the caller sent one (a conditional constraint).
    idempotency_key = models.CharField(max_length=120, null=True, blank=True)  # noqa: DJ001
    actor = models.CharField(max_length=80)
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="stock_move_once_per_key",
            ),
            models.CheckConstraint(condition=~Q(quantity=0), name="stock_move_not_zero"),
            models.CheckConstraint(
                condition=Q(on_hand_after__gte=0), name="stock_move_total_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["variant", "at"], name="stock_move_variant_idx"),
        ]
