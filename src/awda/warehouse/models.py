"""The warehouse's own tables: parcels nobody could match, and batches of items going back
to their suppliers. Stock moves live in ``catalog`` (``StockMove``): exchanges, below the
warehouse, move stock too, and one service keeps every total."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from awda.catalog.models import Location, Supplier
from awda.merchants.models import MerchantOwned
from awda.returns.models import Return, ReturnItem


class UnknownParcel(MerchantOwned):
    """A parcel whose code (or lack of one) matched no return: logged, matched later."""

    code = models.CharField(max_length=500, blank=True)  # what was scanned, if anything
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)  # what the operator saw: sender, contents
    at = models.DateTimeField()
    actor = models.CharField(max_length=80)
    matched_return = models.ForeignKey(
        Return, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    matched_at = models.DateTimeField(null=True, blank=True)
    matched_by = models.CharField(max_length=80, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(matched_return__isnull=True, matched_at__isnull=True)
                | Q(matched_return__isnull=False, matched_at__isnull=False),
                name="unknown_parcel_matched_with_its_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["merchant", "at"],
                condition=Q(matched_return__isnull=True),
                name="unknown_parcel_open_idx",
            ),
        ]


class VendorBatchStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")  # packed: its packing list printed, nothing more added


class VendorBatch(MerchantOwned):
    """Items going back to one supplier together; one open batch per supplier at a time."""

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=10, choices=VendorBatchStatus.choices, default=VendorBatchStatus.OPEN
    )
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["supplier"],
                condition=Q(status="open"),
                name="one_open_vendor_batch_per_supplier",
            ),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True)
                | Q(status="closed", closed_at__isnull=False),
                name="vendor_batch_closed_with_its_time",
            ),
        ]


class VendorBatchItem(MerchantOwned):
    batch = models.ForeignKey(VendorBatch, on_delete=models.CASCADE, related_name="items")
    # One batch per returned item, ever: a repeated disposition adds nothing.
    return_item = models.OneToOneField(ReturnItem, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    added_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="vendor_item_positive"),
        ]
