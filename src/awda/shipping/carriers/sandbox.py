"""The ``sandbox`` carrier: offline and deterministic, for demos, development and tests.

It answers like a real carrier without a network: a tracking number derived from the return
number, pickup slots, and webhooks signed like a real provider's
(``X-Sandbox-Signature: t=<unix time>,v1=<HMAC-SHA256 hex of "<t>.<body>">``). A parcel
moves only when someone says so (``awda sandbox advance``, or the staff API), which builds
the webhook with :meth:`SandboxCarrier.build_webhook` and sends it down the same ingestion
path a real carrier's delivery takes.

Settings: ``webhook_secret`` (required for webhooks), ``timezone`` (pickup slots; default
Asia/Riyadh), ``tolerance_seconds`` (how old a signed timestamp may be; default 300).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from datetime import time as day_time
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from awda.shipping.carriers.base import (
    Address,
    MalformedWebhook,
    PickupRequest,
    PickupResult,
    PickupSlot,
    ShipmentRequest,
    ShipmentResult,
    TrackingStatus,
    TrackingUpdate,
    WebhookEvent,
    WebhookRejected,
)

SIGNATURE_HEADER = "x-sandbox-signature"

# What the sandbox "says" at each step, as a carrier's own words would read.
DESCRIPTIONS: Mapping[TrackingStatus, str] = {
    TrackingStatus.LABEL_CREATED: "Shipment information received",
    TrackingStatus.FIRST_SCAN: "Parcel received from the sender",
    TrackingStatus.IN_TRANSIT: "Departed the sorting facility",
    TrackingStatus.OUT_FOR_DELIVERY: "Out for delivery",
    TrackingStatus.DELIVERED: "Delivered to the warehouse",
    TrackingStatus.EXCEPTION: "Delivery attempt failed: address not accessible",
    TrackingStatus.RETURNED_TO_SENDER: "Returned to the sender",
}
CODES: Mapping[TrackingStatus, str] = {
    TrackingStatus.LABEL_CREATED: "SBX00",
    TrackingStatus.FIRST_SCAN: "SBX10",
    TrackingStatus.IN_TRANSIT: "SBX20",
    TrackingStatus.OUT_FOR_DELIVERY: "SBX30",
    TrackingStatus.DELIVERED: "SBX40",
    TrackingStatus.EXCEPTION: "SBX90",
    TrackingStatus.RETURNED_TO_SENDER: "SBX95",
}
SLOTS = ((day_time(9), day_time(12)), (day_time(12), day_time(15)), (day_time(15), day_time(18)))


def tracking_number_for(reference: str, salt: str = "") -> str:
    """The sandbox's tracking number for a shipment reference: ``SBX`` + 12 digits."""
    digest = hashlib.sha256(f"{salt}:{reference}".encode()).hexdigest()
    return "SBX" + str(int(digest[:16], 16))[-12:].rjust(12, "0")


class SandboxCarrier:
    code: ClassVar[str] = "sandbox"
    supports_pickup: ClassVar[bool] = True
    supports_webhooks: ClassVar[bool] = True
    supports_paperless: ClassVar[bool] = True

    def __init__(self, settings: Mapping[str, str], **_ignored: Any) -> None:
        self.secret = str(settings.get("webhook_secret", ""))
        self.zone = ZoneInfo(str(settings.get("timezone") or "Asia/Riyadh"))
        self.tolerance = int(settings.get("tolerance_seconds") or 300)
        # Two sandbox accounts never hand out the same number for the same reference.
        self.salt = str(settings.get("account_salt", ""))

    # -- shipments ------------------------------------------------------------------------

    def create_return_shipment(self, request: ShipmentRequest) -> ShipmentResult:
        number = tracking_number_for(request.reference, self.salt)
        return ShipmentResult(
            tracking_number=number,
            carrier_shipment_id=f"sbx_shp_{number[3:]}",
            # What a drop-off point scans to find the parcel: its tracking number.
            qr_payload=number,
            cost_minor=0,
            raw={"reference": request.reference, "method": request.method},
        )

    def create_outbound_shipment(self, request: ShipmentRequest) -> ShipmentResult:
        # Another number than the return parcel's: the reference names the outbound parcel.
        number = tracking_number_for(f"{request.reference}:outbound", self.salt)
        return ShipmentResult(
            tracking_number=number,
            carrier_shipment_id=f"sbx_shp_{number[3:]}",
            qr_payload=number,
            cost_minor=0,
            raw={"reference": request.reference, "direction": "outbound"},
        )

    def cancel_shipment(self, *, tracking_number: str, carrier_shipment_id: str) -> None:
        return None

    def close(self) -> None:
        return None

    # -- pickups --------------------------------------------------------------------------

    def pickup_slots(self, *, address: Address, day: date) -> Sequence[PickupSlot]:
        if day.weekday() == 4:  # Friday: no collections, as with most Gulf carriers
            return []
        return [
            PickupSlot(
                start=datetime.combine(day, start, self.zone).astimezone(UTC),
                end=datetime.combine(day, end, self.zone).astimezone(UTC),
            )
            for start, end in SLOTS
        ]

    def schedule_pickup(self, request: PickupRequest) -> PickupResult:
        stamp = request.slot.start.astimezone(UTC).strftime("%Y%m%d%H")
        return PickupResult(
            confirmation=f"SBXPU-{request.tracking_number[3:]}-{stamp}", slot=request.slot
        )

    def cancel_pickup(self, *, confirmation: str) -> None:
        return None

    # -- tracking -------------------------------------------------------------------------

    def fetch_tracking(self, *, tracking_number: str) -> Sequence[TrackingUpdate]:
        # A sandbox parcel moves only through webhooks; polling learns nothing new.
        return []

    def build_webhook(
        self,
        *,
        tracking_number: str,
        status: TrackingStatus,
        occurred_at: datetime,
        reference: str = "",
        location: str = "Riyadh",
        now: float | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """The headers and body the sandbox would POST for a parcel reaching ``status``."""
        event_id = (
            "sbx_evt_"
            + hashlib.sha256(
                f"{tracking_number}:{status}:{occurred_at.isoformat()}".encode()
            ).hexdigest()[:24]
        )
        body = json.dumps(
            {
                "id": event_id,
                "type": "tracking.updated",
                "tracking_number": tracking_number,
                "reference": reference,
                "status": str(status),
                "code": CODES[status],
                "description": DESCRIPTIONS[status],
                "location": location,
                "occurred_at": occurred_at.astimezone(UTC).isoformat(),
            },
            separators=(",", ":"),
        ).encode()
        stamp = str(int(now if now is not None else time.time()))
        return {SIGNATURE_HEADER: f"t={stamp},v1={self._sign(stamp, body)}"}, body

    def _sign(self, stamp: str, body: bytes) -> str:
        return hmac.new(self.secret.encode(), stamp.encode() + b"." + body, "sha256").hexdigest()

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, now: float | None = None
    ) -> None:
        if not self.secret:
            raise WebhookRejected("no webhook secret is set for this account")
        header = headers.get(SIGNATURE_HEADER, "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        stamp, signature = parts.get("t", ""), parts.get("v1", "")
        if not stamp.isdigit() or not signature:
            raise WebhookRejected("missing or malformed signature header")
        age = (now if now is not None else time.time()) - int(stamp)
        if abs(age) > self.tolerance:
            raise WebhookRejected("signature timestamp outside the tolerance")
        if not hmac.compare_digest(self._sign(stamp, body), signature):
            raise WebhookRejected("signature does not match")

    def parse_webhook(self, *, body: bytes) -> WebhookEvent:
        try:
            data = json.loads(body)
            status = TrackingStatus(data["status"])
            occurred_at = datetime.fromisoformat(data["occurred_at"])
            update = TrackingUpdate(
                tracking_number=str(data["tracking_number"]),
                status=status,
                occurred_at=occurred_at.astimezone(UTC),
                carrier_status=str(data.get("code", "")),
                description=str(data.get("description", "")),
                location=str(data.get("location", "")),
            )
            return WebhookEvent(
                event_id=str(data["id"]),
                tracking_number=update.tracking_number,
                updates=[update],
                kind=str(data.get("type", "")),
                reference=str(data.get("reference", "")),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise MalformedWebhook(f"unreadable sandbox event: {exc}") from exc
