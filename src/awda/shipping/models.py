"""Shipping back: where a shopper can hand in a parcel (carrier adapters, labels and tracking
come with the shipping issue)."""

from __future__ import annotations

from django.db import models

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
