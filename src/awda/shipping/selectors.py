"""Reads of shipping data, scoped to one merchant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from awda.core.ids import normalise_return_number
from awda.merchants.models import Merchant
from awda.orders.rules import normalise_city
from awda.shipping.models import (
    DropOffPoint,
    Pickup,
    PickupStatus,
    Shipment,
    ShipmentDirection,
    ShipmentStatus,
    TrackingEvent,
)

if TYPE_CHECKING:
    from awda.shipping.labels import LabelData


def nearby_drop_off_points(
    *, merchant: Merchant, country: str, city: str, limit: int = 5
) -> list[DropOffPoint]:
    """Active points in the shopper's city (its English or Arabic name), else in the
    country; the first ``limit`` by name."""
    points = list(
        DropOffPoint.objects.for_merchant(merchant)
        .filter(active=True, country=country.upper())
        .order_by("name_en", "pk")
    )
    wanted = normalise_city(city) or None  # no city: no point matches one
    in_city = [
        p
        for p in points
        if wanted and wanted in {normalise_city(p.city_en), normalise_city(p.city_ar)}
    ]
    return (in_city or points)[:limit]


@dataclass(frozen=True, slots=True)
class ParcelScan:
    status: str
    at: datetime
    location: str
    description: str


@dataclass(frozen=True, slots=True)
class ParcelView:
    """A return's parcel as the shopper's status page shows it."""

    shipment_id: int
    carrier: str
    method: str
    tracking_number: str
    qr_payload: str
    status: str
    scans: tuple[ParcelScan, ...]  # newest first
    pickup_start: datetime | None
    pickup_end: datetime | None

    @property
    def carrier_name(self) -> str:
        return CARRIER_NAMES.get(self.carrier, self.carrier.title())


def parcel_for_return(*, merchant_id: int, return_id: int) -> ParcelView | None:
    """The live inbound parcel of a return, its scans and booked collection, or None."""
    shipment = (
        Shipment.objects.filter(
            merchant_id=merchant_id,
            return_request_id=return_id,
            direction=ShipmentDirection.INBOUND,
        )
        .exclude(status=ShipmentStatus.CANCELLED)
        .values("id", "carrier", "method", "tracking_number", "qr_payload", "status")
        .first()
    )
    if shipment is None:
        return None
    scans = tuple(
        ParcelScan(status=s, at=at, location=loc, description=desc)
        for s, at, loc, desc in TrackingEvent.objects.filter(shipment_id=shipment["id"])
        .order_by("-occurred_at", "-pk")
        .values_list("status", "occurred_at", "location", "description")
    )
    pickup = (
        Pickup.objects.filter(shipment_id=shipment["id"], status=PickupStatus.SCHEDULED)
        .values_list("window_start", "window_end")
        .first()
    )
    return ParcelView(
        shipment_id=shipment["id"],
        carrier=shipment["carrier"],
        method=shipment["method"],
        tracking_number=shipment["tracking_number"],
        qr_payload=shipment["qr_payload"],
        status=shipment["status"],
        scans=scans,
        pickup_start=pickup[0] if pickup else None,
        pickup_end=pickup[1] if pickup else None,
    )


def shipment_for_return(*, merchant: Merchant, number: str) -> Shipment | None:
    """The live inbound parcel of the merchant's return ``number`` (scoped), or None."""
    return (
        Shipment.objects.for_merchant(merchant)
        .filter(
            return_request__number=normalise_return_number(number),
            direction=ShipmentDirection.INBOUND,
        )
        .exclude(status=ShipmentStatus.CANCELLED)
        .select_related("return_request__order", "return_request__customer", "account")
        .first()
    )


def label_data(shipment: Shipment, merchant: Merchant) -> LabelData:
    """What the parcel's label prints: both addresses, the return number, barcode and QR."""
    from awda.shipping.labels import LabelData
    from awda.shipping.services import merchant_address, shopper_address

    ret = shipment.return_request
    units = sum(ret.items.values_list("quantity", flat=True))
    return LabelData(
        return_number=ret.number,
        tracking_number=shipment.tracking_number,
        carrier_name=CARRIER_NAMES.get(shipment.carrier, shipment.carrier.title()),
        qr_payload=shipment.qr_payload or shipment.tracking_number,
        method=shipment.method,
        shopper=shopper_address(ret),
        merchant=merchant_address(merchant),
        merchant_name=merchant.name,
        merchant_name_ar=merchant.name_ar,
        logo=None,
        items=units,
        created_on=shipment.created_at.date(),
    )


CARRIER_NAMES = {
    "sandbox": "Sandbox Express",
    "easypost": "EasyPost",
    "shippo": "Shippo",
    "smsa": "SMSA Express",
    "aramex": "Aramex",
}
