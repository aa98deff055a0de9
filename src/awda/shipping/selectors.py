"""Reads of shipping data, scoped to one merchant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from awda.core.ids import normalise_return_number
from awda.merchants.models import Merchant
from awda.orders.rules import normalise_city
from awda.shipping.geo import city_centre, distance_km
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
    *,
    merchant: Merchant,
    country: str,
    city: str,
    near: tuple[float, float] | None = None,
    limit: int = 5,
) -> list[DropOffPoint]:
    """The merchant's active points nearest the shopper, each with ``distance_km`` set
    (None when unknown).

    The shopper is at ``near`` when their address had coordinates, else at their city's
    centre; points are ranked by distance, those without coordinates after them (in the
    shopper's city first, by name). With no place to measure from: the city's points, else
    the country's.
    """
    points = list(
        DropOffPoint.objects.for_merchant(merchant)
        .filter(active=True, country=country.upper())
        .order_by("name_en", "pk")
    )
    wanted = normalise_city(city) or None  # no city: no point matches one
    origin = near or city_centre(city)
    for p in points:
        located = p.latitude is not None and p.longitude is not None
        p.distance_km = (  # type: ignore[attr-defined]
            distance_km(origin, (float(p.latitude), float(p.longitude)))  # type: ignore[arg-type]
            if origin and located
            else None
        )

    def in_city(p: DropOffPoint) -> bool:
        return bool(wanted) and wanted in {normalise_city(p.city_en), normalise_city(p.city_ar)}

    if origin and any(p.distance_km is not None for p in points):  # type: ignore[attr-defined]
        ranked = sorted(
            points,
            key=lambda p: (
                p.distance_km is None,  # type: ignore[attr-defined]
                p.distance_km or 0.0,  # type: ignore[attr-defined]
                not in_city(p),
            ),
        )
        return ranked[:limit]
    return ([p for p in points if in_city(p)] or points)[:limit]


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
