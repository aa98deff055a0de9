"""The Return aggregate: a return (RMA), its items, reasons and timeline."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from awda.catalog.models import Variant
from awda.core.fields import EncryptedTextField
from awda.core.images import EXTENSION_BY_CONTENT_TYPE
from awda.merchants.models import MerchantOwned
from awda.orders.models import Customer, Order, OrderLine


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    PENDING_REVIEW = "pending_review", _("Pending review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    IN_TRANSIT = "in_transit", _("In transit")
    DELIVERED = "delivered", _("Delivered to the warehouse")
    RECEIVED = "received", _("Received")
    # Received, and money sent before the warehouse looked turned out not to be due (an item
    # missing, wrong or rejected): a person settles it before the return can complete.
    IN_REVIEW = "in_review", _("Received, money in review")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


class ReturnMethod(models.TextChoices):
    LABEL = "label", _("Print a label")
    QR_DROPOFF = "qr_dropoff", _("QR code at a drop-off point")
    PICKUP = "pickup", _("Courier pickup")
    KEEP_ITEM = "keep_item", _("Keep the item")


class Resolution(models.TextChoices):
    REFUND = "refund", _("Refund")
    STORE_CREDIT = "store_credit", _("Store credit")
    EXCHANGE = "exchange", _("Exchange")


class Reception(models.TextChoices):
    AWAITING = "awaiting", _("Awaiting")
    RECEIVED = "received", _("Received")
    MISSING = "missing", _("Missing")
    WRONG_ITEM = "wrong_item", _("Wrong item")


class Condition(models.TextChoices):
    NEW = "new", _("New")
    OPENED = "opened", _("Opened")
    USED = "used", _("Used")
    DAMAGED = "damaged", _("Damaged")
    DEFECTIVE = "defective", _("Defective")


class Decision(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    NEEDS_REVIEW = "needs_review", _("Needs review")


class Disposition(models.TextChoices):
    RESTOCK = "restock", _("Restock")
    REFURBISH = "refurbish", _("Refurbish")
    RECYCLE = "recycle", _("Recycle")
    DONATE = "donate", _("Donate")
    LIQUIDATE = "liquidate", _("Liquidate")
    RETURN_TO_VENDOR = "return_to_vendor", _("Return to vendor")
    DESTROY = "destroy", _("Destroy")
    KEPT_BY_CUSTOMER = "kept_by_customer", _("Kept by customer")


class ReturnReason(MerchantOwned):
    """A reason the shopper picks; a reason with a parent is a sub-reason."""

    code = models.SlugField(max_length=60)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    label_en = models.CharField(max_length=120)
    label_ar = models.CharField(max_length=120)
    position = models.PositiveSmallIntegerField(default=0)
    # The merchant's fault (defective, wrong item…): policies waive fees for these.
    merchant_fault = models.BooleanField(default=False)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "code"], name="reason_code_per_merchant")
        ]

    def __str__(self) -> str:
        return self.code


class Return(MerchantOwned):
    number = models.CharField(max_length=12)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="returns")
    status = models.CharField(
        max_length=20, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED
    )
    method = models.CharField(max_length=20, choices=ReturnMethod.choices)
    currency = models.CharField(max_length=3)
    quote = models.JSONField(default=dict)  # ReturnQuote.to_data() at request time
    refund_total_minor = models.BigIntegerField(default=0)
    store_credit_total_minor = models.BigIntegerField(default=0)
    policy_version = models.PositiveIntegerField()
    refund_timing = models.CharField(max_length=20, default="delivered")
    language = models.CharField(max_length=5, default="en")
    channel = models.CharField(max_length=20, default="api")  # api, portal, staff
    # NULL, not "": unique only when the caller sent one (a conditional constraint).
    idempotency_key = models.CharField(max_length=80, null=True, blank=True)  # noqa: DJ001
    requested_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # When the shopper was told the unshipped return expires soon: at most once per return.
    expiry_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    # The money job failed for a business reason (its error code, e.g. a per-line cap):
    # staff find the return by it (``GET /returns?money_review=true``) whatever its status,
    # since one still waiting for its parcel can't move to ``in_review``. Cleared when a
    # person settles the review.
    money_review_reason = models.CharField(max_length=60, blank=True)
    # Cash-on-delivery refunds go by bank transfer: the shopper's account, encrypted at rest.
    payout_iban = EncryptedTextField(blank=True)
    payout_name = EncryptedTextField(blank=True)
    # Courier pickup: {"address": {...}, "date": "2026-12-03", "slot": "morning"}.
    pickup = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "number"], name="return_number_per_merchant"
            ),
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="return_idempotency_key_once",
            ),
            models.CheckConstraint(
                condition=Q(refund_total_minor__gte=0) & Q(store_credit_total_minor__gte=0),
                name="return_totals_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "status", "requested_at"], name="return_queue_idx"),
            models.Index(fields=["merchant", "requested_at"], name="return_recent_idx"),
            models.Index(
                fields=["status", "expires_at"],
                condition=Q(status="approved"),
                name="return_expiry_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class ReturnItem(MerchantOwned):
    return_request = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="items")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_items")
    quantity = models.PositiveIntegerField()
    reason_code = models.SlugField(max_length=60)
    sub_reason_code = models.SlugField(max_length=60, blank=True)
    comment = models.TextField(blank=True)
    resolution = models.CharField(max_length=20, choices=Resolution.choices)
    exchange_variant = models.ForeignKey(
        Variant, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refund_minor = models.BigIntegerField(default=0)  # from the quote, after fees
    reception = models.CharField(
        max_length=20, choices=Reception.choices, default=Reception.AWAITING
    )
    received_quantity = models.PositiveIntegerField(default=0)
    condition = models.CharField(max_length=20, choices=Condition.choices, blank=True)
    decision = models.CharField(max_length=20, choices=Decision.choices, default=Decision.PENDING)
    decision_note = models.TextField(blank=True)  # the warehouse's words, e.g. why rejected
    # Money already sent for this item when it turned out missing, wrong or rejected: what a
    # person has to settle (set once; credit clawed back is on the timeline and the ledger).
    at_stake_minor = models.BigIntegerField(default=0)
    disposition = models.CharField(max_length=20, choices=Disposition.choices, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="return_item_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(received_quantity__lte=models.F("quantity")),
                name="return_item_received_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(at_stake_minor__gte=0), name="return_item_at_stake_not_negative"
            ),
            models.UniqueConstraint(
                fields=["return_request", "order_line"], name="one_item_per_line_per_return"
            ),
        ]


class TimelineEntry(MerchantOwned):
    """A human-readable fact in a return's history, rendered in the reader's language."""

    return_request = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField()
    kind = models.CharField(max_length=40)  # status_changed, note, ...
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    actor = models.CharField(max_length=80)  # "system", "api", "shopper", "staff:<id>"
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["return_request", "at"], name="timeline_return_idx")]


def return_photo_path(instance: ReturnPhoto, filename: str) -> str:
    """``returns/photos/<merchant>/<yyyy>/<mm>/<uuid>.<ext>``: never the shopper's file name."""
    extension = EXTENSION_BY_CONTENT_TYPE[instance.content_type]
    month = instance.created_at.strftime("%Y/%m")
    return f"returns/photos/{instance.merchant_id}/{month}/{uuid.uuid4().hex}.{extension}"


class PhotoSource(models.TextChoices):
    SHOPPER = "shopper", _("From the shopper")
    WAREHOUSE = "warehouse", _("From the warehouse")


class ReturnPhoto(MerchantOwned):
    """A photo of a returned item: the shopper's, uploaded for an order and attached to an
    item once the return exists, or the warehouse's, taken at the receiving station and
    attached to its item at once.

    Shoppers upload while still choosing, so their photo first belongs to the order only;
    photos never attached are swept after a day.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="return_photos")
    source = models.CharField(
        max_length=20, choices=PhotoSource.choices, default=PhotoSource.SHOPPER
    )
    # Who took it: "shopper", or the station's "staff:<user id>" (as the timeline's actor).
    uploaded_by = models.CharField(max_length=80, default="shopper")
    # PROTECT: a return's evidence must not vanish with it (returns are not deleted anyway).
    return_item = models.ForeignKey(
        ReturnItem, null=True, blank=True, on_delete=models.PROTECT, related_name="photos"
    )
    file = models.FileField(upload_to=return_photo_path, max_length=200)
    content_type = models.CharField(max_length=40)
    size_bytes = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    attached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(return_item__isnull=True, attached_at__isnull=True)
                | Q(return_item__isnull=False, attached_at__isnull=False),
                name="return_photo_attached_with_its_time",
            ),
            models.CheckConstraint(
                condition=Q(size_bytes__gt=0) & Q(width__gt=0) & Q(height__gt=0),
                name="return_photo_not_empty",
            ),
            # The station photographs an item it holds: never an orphan for the sweep.
            models.CheckConstraint(
                condition=Q(source=PhotoSource.SHOPPER) | Q(return_item__isnull=False),
                name="return_photo_warehouse_attached",
            ),
        ]
        indexes = [
            # The hourly sweep: unattached photos, oldest first.
            models.Index(
                fields=["created_at"],
                condition=Q(attached_at__isnull=True),
                name="return_photo_unattached_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.file.name or f"photo {self.pk}"
