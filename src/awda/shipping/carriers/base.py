"""The one interface every carrier adapter speaks (DESIGN.md §5).

Adapters are plain classes built from a carrier account's decrypted settings; they know
nothing of Django models, so each can be tested against recorded responses alone. The
shipping services own the database side: they call an adapter outside any transaction and
store what it answers.

Statuses are normalised to :class:`TrackingStatus`; each adapter maps its carrier's codes and
keeps the carrier's own code and words next to them for staff.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Protocol, runtime_checkable


class TrackingStatus(enum.StrEnum):
    """Where a parcel is, in the words every carrier is mapped to (stable values)."""

    LABEL_CREATED = "label_created"
    FIRST_SCAN = "first_scan"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"


# How far along each status is; a late-arriving older event never moves a parcel back.
STATUS_RANK: Mapping[TrackingStatus, int] = {
    TrackingStatus.LABEL_CREATED: 0,
    TrackingStatus.FIRST_SCAN: 1,
    TrackingStatus.IN_TRANSIT: 2,
    TrackingStatus.OUT_FOR_DELIVERY: 3,
    TrackingStatus.EXCEPTION: 3,
    TrackingStatus.DELIVERED: 4,
    TrackingStatus.RETURNED_TO_SENDER: 4,
}


class CarrierError(Exception):
    """The carrier refused or failed a call; ``message`` is the carrier's own words.

    ``retryable`` is True for timeouts, connection errors, 429 and 5xx answers that survived
    the adapter's own retries: the job that called may try again later.
    """

    def __init__(
        self, message: str, *, code: str = "carrier_error", retryable: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable


class WebhookRejected(Exception):
    """An inbound webhook failed verification (bad or missing signature, stale timestamp).

    Nothing of it may be stored; the view answers 401 with ``reason``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedWebhook(Exception):
    """A verified webhook whose body can't be read (not JSON, missing fields); answered 400."""


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    line1: str
    city: str
    country: str  # ISO 3166-1 alpha-2
    phone: str = ""
    email: str = ""
    line2: str = ""
    district: str = ""
    region: str = ""
    postcode: str = ""
    company: str = ""


@dataclass(frozen=True, slots=True)
class Parcel:
    weight_grams: int = 1000
    length_cm: int = 30
    width_cm: int = 20
    height_cm: int = 10
    description: str = "Return"
    # Declared value for customs/insurance, minor units of ``currency``.
    value_minor: int = 0
    currency: str = ""
    pieces: int = 1


@dataclass(frozen=True, slots=True)
class ShipmentRequest:
    """A return parcel from the shopper to the merchant's return address."""

    reference: str  # the return number (RMA); carriers print it and echo it in webhooks
    shopper: Address
    merchant: Address
    parcel: Parcel
    method: str  # "label" (print at home), "qr" (paperless drop-off), "pickup"
    # Sent to carriers that accept one, so a retried create makes one shipment.
    idempotency_key: str = ""


@dataclass(frozen=True, slots=True)
class ShipmentResult:
    tracking_number: str
    carrier_shipment_id: str = ""  # the carrier's own id of the shipment, for later calls
    # The carrier's own label when it makes one (awda renders its own either way).
    carrier_label: bytes = b""
    carrier_label_format: str = ""  # "pdf", "png", "zpl"
    carrier_label_url: str = ""
    # What a drop-off point scans; carriers without paperless returns get the tracking number.
    qr_payload: str = ""
    cost_minor: int | None = None
    cost_currency: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PickupSlot:
    start: datetime  # aware
    end: datetime  # aware


@dataclass(frozen=True, slots=True)
class PickupRequest:
    reference: str  # the return number
    tracking_number: str
    carrier_shipment_id: str
    address: Address
    slot: PickupSlot
    parcel: Parcel
    idempotency_key: str = ""


@dataclass(frozen=True, slots=True)
class PickupResult:
    confirmation: str  # the carrier's pickup id / GUID, needed to cancel
    slot: PickupSlot
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TrackingUpdate:
    """One scan or status change of one parcel."""

    tracking_number: str
    status: TrackingStatus
    occurred_at: datetime  # aware
    carrier_status: str = ""  # the carrier's code, e.g. "PU", "SH014", "TRANSIT"
    description: str = ""  # the carrier's words
    location: str = ""


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified inbound webhook, read: its id for deduplication and the updates it carries.

    ``event_id`` is the provider's id of the delivery where it has one. Some providers send
    the same update again under a new id (Shippo); the updates themselves are deduplicated
    downstream by (parcel, status, time, carrier code), so such a repeat counts once.
    """

    event_id: str
    tracking_number: str
    updates: Sequence[TrackingUpdate]
    kind: str = ""  # the provider's event type, e.g. "tracker.updated", "track_updated"
    reference: str = ""  # the shipment's reference (return number) when the body carries it


class Carrier(Protocol):
    """What every adapter implements.

    ``settings`` holds the account's decrypted credentials and options (API key, account
    number, test mode …); each adapter documents the keys it reads.
    """

    code: ClassVar[str]  # "sandbox", "easypost", "shippo", "smsa", "aramex"
    supports_pickup: ClassVar[bool]
    supports_webhooks: ClassVar[bool]
    supports_paperless: ClassVar[bool]

    def create_return_shipment(self, request: ShipmentRequest) -> ShipmentResult: ...

    def cancel_shipment(self, *, tracking_number: str, carrier_shipment_id: str) -> None: ...

    def pickup_slots(self, *, address: Address, day: date) -> Sequence[PickupSlot]: ...

    def schedule_pickup(self, request: PickupRequest) -> PickupResult: ...

    def cancel_pickup(self, *, confirmation: str) -> None: ...

    def fetch_tracking(self, *, tracking_number: str) -> Sequence[TrackingUpdate]: ...

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes) -> None:
        """Raise :class:`WebhookRejected` unless the body is signed by this account's secret.

        ``headers`` keys are lower-case.
        """
        ...

    def parse_webhook(self, *, body: bytes) -> WebhookEvent:
        """Read a verified body; raise :class:`MalformedWebhook` when it can't be read."""
        ...

    def close(self) -> None:
        """Release the adapter's connections (its HTTP pool)."""
        ...


@runtime_checkable
class ShipsToShopper(Protocol):
    """An adapter that can also send a parcel the other way: from the merchant's return
    address to the shopper (rejected items sent back). Optional: the services check for it
    (``isinstance``) and leave the parcel to staff when the account's carrier can't."""

    def create_outbound_shipment(self, request: ShipmentRequest) -> ShipmentResult:
        """The same request as a return parcel's (``merchant`` the sender, ``shopper`` the
        addressee here); ``reference`` and ``idempotency_key`` name the outbound parcel."""
        ...
