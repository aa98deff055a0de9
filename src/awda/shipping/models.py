"""Shipping back: carrier accounts, parcels and their scans, inbound carrier webhooks,
courier pickups, and the drop-off points a shopper can hand a parcel in at."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from awda.core.fields import EncryptedTextField
from awda.merchants.models import MerchantOwned


class DropOffPoint(MerchantOwned):
    """A shop, locker or branch that takes return parcels with a QR code, no printer needed.

    Entered by the merchant today; carrier adapters will keep their own points here too.
    """

    carrier = models.CharField(max_length=40)  # e.g. "sandbox", "smsa", "aramex"
    code = models.CharField(max_length=60)  # the carrier's id of the point
    name_en = models.CharField(max_length=160)
    name_ar = models.CharField(max_length=160, blank=True)
    address_en = models.CharField(max_length=300)
    address_ar = models.CharField(max_length=300, blank=True)
    city_en = models.CharField(max_length=80)
    city_ar = models.CharField(max_length=80, blank=True)
    country = models.CharField(max_length=2)
    hours_en = models.CharField(max_length=120, blank=True)
    hours_ar = models.CharField(max_length=120, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "carrier", "code"], name="drop_off_point_per_carrier"
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "country", "active"], name="drop_off_country_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name_en} ({self.carrier})"


class CarrierAccount(MerchantOwned):
    """A merchant's account with one carrier: which adapter, and its credentials.

    ``settings`` is the adapter's JSON settings (API keys, account numbers, webhook secret),
    encrypted at rest. ``public_id`` names the account in its webhook address
    (``/hooks/carriers/<public_id>/``): it tells which merchant and secret a delivery is for,
    and is not itself a secret.
    """

    carrier = models.CharField(max_length=40)  # the adapter's code: sandbox, easypost, ...
    name = models.CharField(max_length=80)
    public_id = models.CharField(max_length=32, unique=True)
    settings = EncryptedTextField(blank=True)
    # Methods this account serves for the merchant (label, qr_dropoff, pickup).
    methods = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    # Which account serves a method when several could: the lowest first.
    priority = models.PositiveSmallIntegerField(default=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="carrier_account_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.carrier})"


class ShipmentDirection(models.TextChoices):
    INBOUND = "inbound", _("To the merchant")  # the return parcel
    OUTBOUND = "outbound", _("Back to the shopper")  # a rejected item sent back


class ShipmentStatus(models.TextChoices):
    LABEL_CREATED = "label_created", _("Label created")
    FIRST_SCAN = "first_scan", _("Handed to the carrier")
    IN_TRANSIT = "in_transit", _("In transit")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")
    EXCEPTION = "exception", _("Delivery problem")
    RETURNED_TO_SENDER = "returned_to_sender", _("Returned to sender")
    CANCELLED = "cancelled", _("Cancelled")


class Shipment(MerchantOwned):
    """One parcel of a return, with the carrier's tracking number."""

    return_request = models.ForeignKey(
        "returns.Return", on_delete=models.PROTECT, related_name="shipments"
    )
    account = models.ForeignKey(CarrierAccount, on_delete=models.PROTECT, related_name="+")
    carrier = models.CharField(max_length=40)
    direction = models.CharField(
        max_length=10, choices=ShipmentDirection.choices, default=ShipmentDirection.INBOUND
    )
    method = models.CharField(max_length=20)  # the return's method when it was issued
    tracking_number = models.CharField(max_length=80)
    carrier_shipment_id = models.CharField(max_length=120, blank=True)
    qr_payload = models.CharField(max_length=500, blank=True)
    carrier_label_url = models.URLField(max_length=1000, blank=True)
    cost_minor = models.BigIntegerField(null=True, blank=True)
    cost_currency = models.CharField(max_length=3, blank=True)
    status = models.CharField(
        max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.LABEL_CREATED
    )
    status_at = models.DateTimeField()
    first_scan_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # When the polling job last asked the carrier (carriers without webhooks).
    polled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "tracking_number"], name="shipment_tracking_per_account"
            ),
            # One live parcel per return and direction: a retried job can't issue a second.
            models.UniqueConstraint(
                fields=["return_request", "direction"],
                condition=~Q(status="cancelled"),
                name="one_live_shipment_per_return",
            ),
            models.CheckConstraint(
                condition=Q(cost_minor__isnull=True) | Q(cost_minor__gte=0),
                name="shipment_cost_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "tracking_number"], name="shipment_tracking_idx"),
            models.Index(fields=["status", "polled_at"], name="shipment_poll_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class TrackingEvent(MerchantOwned):
    """One scan of a parcel, as the carrier reported it, normalised.

    ``dedupe_key`` is a hash of (status, time, carrier code, tracking number): the same scan
    delivered twice (by a webhook retry, a provider that re-sends under a new id, or a poll
    that overlaps a webhook) is stored once.
    """

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=ShipmentStatus.choices)
    occurred_at = models.DateTimeField()
    carrier_status = models.CharField(max_length=80, blank=True)
    description = models.CharField(max_length=500, blank=True)
    location = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=10)  # webhook, poll, sandbox
    dedupe_key = models.CharField(max_length=64)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["occurred_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "dedupe_key"], name="tracking_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.shipment_id} {self.status} {self.occurred_at:%Y-%m-%d %H:%M}"


class InboundWebhook(MerchantOwned):
    """A carrier's webhook delivery, stored raw under its event id once its signature held.

    Stored first and processed by a job, so the carrier gets its 2xx at once; a delivery
    whose event id is already here is acknowledged and ignored.
    """

    account = models.ForeignKey(CarrierAccount, on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=200)
    body = models.TextField()
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    # Why processing gave up (unknown parcel, unreadable after all): kept for staff.
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "event_id"], name="inbound_webhook_once"),
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=Q(processed_at__isnull=True),
                name="inbound_webhook_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}:{self.event_id}"


class PickupStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    CANCELLED = "cancelled", _("Cancelled")
    DONE = "done", _("Collected")


class Pickup(MerchantOwned):
    """A courier collection of a return parcel from the shopper's address."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="pickups")
    confirmation = models.CharField(max_length=120)  # the carrier's pickup id
    address = models.JSONField(default=dict)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=PickupStatus.choices, default=PickupStatus.SCHEDULED
    )
    created_at = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shipment"],
                condition=Q(status="scheduled"),
                name="one_scheduled_pickup_per_shipment",
            ),
            models.CheckConstraint(
                condition=Q(window_end__gt=models.F("window_start")),
                name="pickup_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.confirmation} {self.window_start:%Y-%m-%d %H:%M}"
