"""Analytics read models: rollups rebuilt from the source rows, flags, imported returns.

The rollups are derived data: ``services.refresh_rollups`` deletes the affected days (and
their months) and rebuilds them with one ``INSERT … SELECT … GROUP BY`` each, so they never
drift from the orders and returns they summarise. They carry plain ids, not foreign keys (0
for "none": a product without a category, a line without a variant), so a rollup never
blocks deleting a product and ``GROUP BY`` keys are never NULL.

Each rollup holds two grains in one table: ``d`` rows per day and ``m`` rows per calendar
month (``day`` is the month's first day). A period is read from the months it covers whole
plus the days at its edges, so a year is ~12 rows per key instead of ~365. ``CustomerDay``
holds days only: distinct customers don't add up from month counts.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from awda.catalog.models import Product, Variant
from awda.merchants.models import Merchant, MerchantOwned
from awda.orders.models import Customer


class Grain(models.TextChoices):
    DAY = "d", _("Day")
    MONTH = "m", _("Month")


class Derived(MerchantOwned):
    """A row rebuilt from the source rows by ``refresh_rollups``. Its merchant carries no
    database constraint: a refresh inserts hundreds of thousands of rows, and PostgreSQL
    would check each one's merchant at commit (about 2 s of the UCI import's 8 s refresh);
    deleting a merchant still deletes its rows (``on_delete``, done by Django)."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )

    class Meta:
        abstract = True


class SalesRollup(Derived):
    """Units and value sold and returned per variant, per day or month (merchant's time zone).

    Sold: sale order lines by the order's ``placed_at``. Returned: return items of returns
    not rejected, cancelled or expired, by the return's ``requested_at``, plus imported
    returns without a sale line (``UnlinkedReturnLine``).
    """

    grain = models.CharField(max_length=1, choices=Grain.choices)
    day = models.DateField()
    currency = models.CharField(max_length=3)
    product_id = models.BigIntegerField()
    variant_id = models.BigIntegerField()
    category_id = models.BigIntegerField()
    supplier_id = models.BigIntegerField()
    sold_units = models.BigIntegerField()
    sold_minor = models.BigIntegerField()
    returned_units = models.BigIntegerField()
    returned_minor = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["merchant", "grain", "day"], name="sales_rollup_day_idx")]


class ProductSalesRollup(Derived):
    """``SalesRollup`` without the variant: the same figures per product (with its category
    and supplier), about a third of the rows. The store's summary, the rates by product,
    category and supplier, the flags and the scorecards read this one."""

    grain = models.CharField(max_length=1, choices=Grain.choices)
    day = models.DateField()
    currency = models.CharField(max_length=3)
    product_id = models.BigIntegerField()
    category_id = models.BigIntegerField()
    supplier_id = models.BigIntegerField()
    sold_units = models.BigIntegerField()
    sold_minor = models.BigIntegerField()
    returned_units = models.BigIntegerField()
    returned_minor = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["merchant", "grain", "day"], name="product_sales_rollup_day_idx")
        ]


class ReasonRollup(Derived):
    """Returned items, units and value per product and reason, per day or month."""

    grain = models.CharField(max_length=1, choices=Grain.choices)
    day = models.DateField()
    currency = models.CharField(max_length=3)
    product_id = models.BigIntegerField()
    category_id = models.BigIntegerField()
    supplier_id = models.BigIntegerField()
    reason_code = models.CharField(max_length=60)
    items = models.BigIntegerField()
    units = models.BigIntegerField()
    value_minor = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["merchant", "grain", "day"], name="reason_rollup_day_idx")]


class ResolutionRollup(Derived):
    """Returned items per resolution (refund, store credit, exchange), per day or month:
    the goods' value and the refund the quote promised."""

    grain = models.CharField(max_length=1, choices=Grain.choices)
    day = models.DateField()
    currency = models.CharField(max_length=3)
    resolution = models.CharField(max_length=20)
    items = models.BigIntegerField()
    units = models.BigIntegerField()
    value_minor = models.BigIntegerField()
    refund_minor = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["merchant", "grain", "day"], name="resolution_rollup_day_idx")
        ]


class ReturnFact(Derived):
    """One row per return (not rejected, cancelled or expired): when it was asked, when the
    money reached the shopper, the parcel's trip, and the quote's bonus and fees."""

    return_id = models.BigIntegerField()
    day = models.DateField()
    currency = models.CharField(max_length=3)
    customer_id = models.BigIntegerField()
    method = models.CharField(max_length=20)
    carrier = models.CharField(max_length=40)  # the inbound parcel's carrier, "" without one
    requested_at = models.DateTimeField()
    # The first confirmed card refund, paid bank transfer or store-credit grant of the return.
    refunded_at = models.DateTimeField(null=True)
    first_scan_at = models.DateTimeField(null=True)
    delivered_at = models.DateTimeField(null=True)
    bonus_minor = models.BigIntegerField()
    restocking_fee_minor = models.BigIntegerField()
    shipping_fee_minor = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["return_id"], name="return_fact_once_per_return")
        ]
        indexes = [models.Index(fields=["merchant", "day"], name="return_fact_day_idx")]


class ReturnRollup(Derived):
    """Returns, and their quotes' bonus and fees, per day or month (from ``ReturnFact``), so
    a year's costs read ~12 rows instead of a year of returns."""

    grain = models.CharField(max_length=1, choices=Grain.choices)
    day = models.DateField()
    currency = models.CharField(max_length=3)
    returns = models.BigIntegerField()
    bonus_minor = models.BigIntegerField()
    restocking_fee_minor = models.BigIntegerField()
    shipping_fee_minor = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["merchant", "grain", "day"], name="return_rollup_day_idx")]


class DurationKind(models.TextChoices):
    REFUND = "refund", _("Time to refund")
    TRANSIT = "transit", _("Carrier transit")


class DurationRollup(Derived):
    """A histogram of durations (``rules.duration_bucket``) per day or month, method and
    carrier: how many returns fell in each bucket, and the smallest and largest duration in
    it, from which ``rules.histogram_percentile`` reads p50/p90 to within the bucket's width
    (exactly when a bucket holds at most two returns)."""

    grain = models.CharField(max_length=1, choices=Grain.choices)
    day = models.DateField()
    kind = models.CharField(max_length=10, choices=DurationKind.choices)
    method = models.CharField(max_length=20)  # "" for transit times
    carrier = models.CharField(max_length=40)
    bucket = models.IntegerField()  # the bucket's lower bound, in hours
    count = models.BigIntegerField()
    min_hours = models.FloatField()
    max_hours = models.FloatField()

    class Meta:
        indexes = [
            models.Index(fields=["merchant", "grain", "day"], name="duration_rollup_day_idx")
        ]


class CustomerDay(Derived):
    """A store customer (one with the store's customer id; guests are left out) active on a
    day: bought (a sale order placed), returned (a return requested, or an imported credit
    note), or both; 1 or 0.

    Each row also carries the customer's state before and after the day, so that
    ``customers_who_return`` counts customers without a ``DISTINCT`` (a hash of every
    customer in the period): a customer bought in [a, b] exactly once at the first row in
    [a, b] with ``bought`` whose ``prev_bought`` is before a; and bought *and* returned in
    [a, b] exactly once at the row where ``both_since`` (the latest a for which both have
    happened since a, as of this day) reaches a while ``prev_both`` (the same, as of the day
    before) had not. Both dates only grow along a customer's rows, so each counting row is
    unique."""

    day = models.DateField()
    customer_id = models.BigIntegerField()
    bought = models.SmallIntegerField()
    returned = models.SmallIntegerField()
    prev_bought = models.DateField(null=True)  # the customer's last day bought before this one
    both_since = models.DateField(null=True)  # min(last bought, last returned) up to this day
    prev_both = models.DateField(null=True)  # the same up to the day before

    class Meta:
        indexes = [models.Index(fields=["merchant", "day"], name="customer_day_idx")]


class UnlinkedReturnLine(MerchantOwned):
    """A returned line from an imported history whose sale Awda doesn't have (a credit note
    for a purchase before the export began, or by a guest). It counts as returned in the
    analytics; it is not a ``Return``: there is no order line to give units back to."""

    source_key = models.CharField(max_length=80)  # e.g. "uci:C536379:3", once per merchant
    document = models.CharField(max_length=40)  # the credit note's number
    returned_at = models.DateTimeField()
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    variant = models.ForeignKey(
        Variant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sku = models.CharField(max_length=80)
    quantity = models.PositiveIntegerField()
    value_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason_code = models.CharField(max_length=60, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "source_key"], name="unlinked_return_once_per_key"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="unlinked_return_quantity_positive"
            ),
        ]
        indexes = [models.Index(fields=["merchant", "returned_at"], name="unlinked_return_day_idx")]


class RollupState(MerchantOwned):
    """When the merchant's rollups were last rebuilt (``refresh_rollups``): a figure worked
    out from them may be kept until this changes (``selectors.cached``)."""

    refreshed_at = models.DateTimeField()
    generation = models.CharField(max_length=32)  # new on every refresh: the cache's key

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant"], name="rollup_state_per_merchant")
        ]


class ProductFlag(MerchantOwned):
    """A product found returned too often (``selectors.flagged_products``): open until a
    refresh no longer finds it, then closed; at most one open flag per product, so the alert
    (``ProductFlagged``) goes out once per crossing."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    flagged_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    period_start = models.DateField()
    period_end = models.DateField()
    sold_units = models.BigIntegerField()
    returned_units = models.BigIntegerField()
    return_rate = models.FloatField()
    lower_bound = models.FloatField()
    category_rate = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(cleared_at__isnull=True),
                name="one_open_flag_per_product",
            )
        ]
