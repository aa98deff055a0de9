"""API shapes for shipping: carrier accounts, parcels, scans, pickups."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Schema
from pydantic import ConfigDict, Field

from awda.shipping.carriers.base import TrackingStatus
from awda.shipping.models import CarrierAccount, Pickup, Shipment, TrackingEvent


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class CarrierAccountIn(_In):
    carrier: str = Field(min_length=1, max_length=40, examples=["sandbox", "easypost"])
    name: str = Field(min_length=1, max_length=80)
    # Credentials and options of the adapter; stored encrypted and never returned.
    settings: dict[str, str] = Field(default_factory=dict, max_length=40)
    methods: list[str] = Field(default_factory=lambda: ["label", "qr_dropoff", "pickup"])
    priority: int = Field(default=100, ge=0, le=1000)


class CarrierAccountOut(Schema):
    id: int
    carrier: str
    name: str
    methods: list[str]
    priority: int
    active: bool
    webhook_path: str  # where the carrier posts tracking updates (put your host before it)

    @classmethod
    def of(cls, account: CarrierAccount) -> CarrierAccountOut:
        return cls(
            id=account.pk,
            carrier=account.carrier,
            name=account.name,
            methods=list(account.methods),
            priority=account.priority,
            active=account.active,
            webhook_path=f"/hooks/carriers/{account.public_id}/",
        )


class ScanOut(Schema):
    status: str
    occurred_at: datetime
    carrier_status: str
    description: str
    location: str
    source: str

    @classmethod
    def of(cls, event: TrackingEvent) -> ScanOut:
        return cls(
            status=event.status,
            occurred_at=event.occurred_at,
            carrier_status=event.carrier_status,
            description=event.description,
            location=event.location,
            source=event.source,
        )


class PickupOut(Schema):
    confirmation: str
    window_start: datetime
    window_end: datetime
    status: str

    @classmethod
    def of(cls, pickup: Pickup) -> PickupOut:
        return cls(
            confirmation=pickup.confirmation,
            window_start=pickup.window_start,
            window_end=pickup.window_end,
            status=pickup.status,
        )


class ShipmentOut(Schema):
    id: int
    carrier: str
    direction: str
    method: str
    tracking_number: str
    qr_payload: str
    status: str
    status_at: datetime
    first_scan_at: datetime | None
    delivered_at: datetime | None
    cost_minor: int | None
    cost_currency: str
    scans: list[ScanOut]
    pickups: list[PickupOut]

    @classmethod
    def of(cls, shipment: Shipment) -> ShipmentOut:
        return cls(
            id=shipment.pk,
            carrier=shipment.carrier,
            direction=shipment.direction,
            method=shipment.method,
            tracking_number=shipment.tracking_number,
            qr_payload=shipment.qr_payload,
            status=shipment.status,
            status_at=shipment.status_at,
            first_scan_at=shipment.first_scan_at,
            delivered_at=shipment.delivered_at,
            cost_minor=shipment.cost_minor,
            cost_currency=shipment.cost_currency,
            scans=[ScanOut.of(e) for e in shipment.events.all()],
            pickups=[PickupOut.of(p) for p in shipment.pickups.order_by("pk")],
        )


class SlotOut(Schema):
    start: datetime
    end: datetime


class SlotQuery(Schema):
    day: date


class PickupIn(_In):
    start: datetime  # one of the slots /pickup-slots offered


class AdvanceIn(_In):
    to: TrackingStatus
