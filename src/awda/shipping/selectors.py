"""Reads of shipping data, scoped to one merchant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django.db import connection

from awda.core.db import db_datetime
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


def address_coordinates(address: dict[str, Any]) -> tuple[float, float] | None:
    """The order's delivery coordinates when the store sent them (``lat``/``lng``)."""
    try:
        lat, lng = float(address["lat"]), float(address["lng"])
    except (KeyError, TypeError, ValueError):
        return None
    return (lat, lng) if -90 <= lat <= 90 and -180 <= lng <= 180 else None


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
    """The live inbound parcel of a return, its scans and booked collection, or None.

    Plain SQL, read on every status page: one statement for the parcel and its booked
    collection, one for its scans (none before the carrier's first).
    """
    shipments, pickups, events = (
        Shipment._meta.db_table, Pickup._meta.db_table, TrackingEvent._meta.db_table
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.id, s.carrier, s.method, s.tracking_number, s.qr_payload, s.status, "  # noqa: S608
            f"p.window_start, p.window_end FROM {shipments} s "
            f"LEFT JOIN {pickups} p ON p.shipment_id = s.id AND p.status = %s "
            "WHERE s.merchant_id = %s AND s.return_request_id = %s AND s.direction = %s "
            "AND s.status <> %s ORDER BY s.id LIMIT 1",
            [
                PickupStatus.SCHEDULED,
                merchant_id,
                return_id,
                ShipmentDirection.INBOUND,
                ShipmentStatus.CANCELLED,
            ],
        )
        row = cursor.fetchone()
        if row is None:
            return None
        scans: tuple[ParcelScan, ...] = ()
        if row[5] != ShipmentStatus.LABEL_CREATED:
            cursor.execute(
                f"SELECT status, occurred_at, location, description FROM {events} "  # noqa: S608
                "WHERE shipment_id = %s ORDER BY occurred_at DESC, id DESC",
                [row[0]],
            )
            scans = tuple(
                ParcelScan(
                    status=s, at=cast(datetime, db_datetime(at)), location=loc, description=desc
                )
                for s, at, loc, desc in cursor.fetchall()
            )
    return ParcelView(
        shipment_id=row[0],
        carrier=row[1],
        method=row[2],
        tracking_number=row[3],
        qr_payload=row[4],
        status=row[5],
        scans=scans,
        pickup_start=db_datetime(row[6]) if row[6] is not None else None,
        pickup_end=db_datetime(row[7]) if row[7] is not None else None,
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
        logo=bytes(merchant.label_logo) or None,
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
