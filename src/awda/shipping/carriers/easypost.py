"""EasyPost: return labels, courier pickups, trackers and signed webhooks (REST API v2).

Settings (an account's decrypted settings):

- ``api_key`` (required for API calls): sent as the HTTP Basic user name, as EasyPost asks.
- ``webhook_secret`` (required for webhooks): the secret given to EasyPost when the webhook
  was created; EasyPost signs every event with it.
- ``carrier_accounts`` (optional): comma-separated EasyPost carrier account ids to rate-shop;
  all the account's carriers when empty.
- ``label_format`` (optional): ``PNG`` (EasyPost's default), ``PDF`` or ``ZPL``.
- ``pickup_timezone`` (optional, default ``UTC``): the zone pickup windows are offered in.
- ``base_url`` (default ``https://api.easypost.com/v2/``).

What EasyPost documents and this adapter relies on:

- Returns (https://docs.easypost.com/docs/shipments/returns): a return is created with
  ``is_return: true`` and the addresses *as the outbound parcel had them* (``to_address`` =
  the shopper, ``from_address`` = the merchant); EasyPost swaps them on the label itself.
- EasyPost documents no idempotency key, so nothing is sent as one. Creating a shipment is
  not retried (a repeat only leaves an unbought shipment behind, which costs nothing); buying
  one is: a shipment carries one label, so a repeated buy either buys it or is refused, and
  after a refusal the shipment is read back for the label the first attempt bought. Pickup
  purchases are handled the same way.
- Webhooks (https://docs.easypost.com/docs/webhooks): HMAC-SHA256 of the raw body, keyed
  with the NFKD-normalised secret, sent as ``X-Hmac-Signature: hmac-sha256-hex=<hex>``. The
  documented scheme carries no timestamp, so there is nothing to bound replays with here; a
  replayed event has the same ``evt_…`` id and is dropped as a duplicate on receipt.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from datetime import time as day_time
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx

from awda.core.money import Money
from awda.shipping.carriers.base import (
    Address,
    CarrierError,
    MalformedWebhook,
    Parcel,
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
from awda.shipping.carriers.http import CarrierHttp

DEFAULT_BASE_URL = "https://api.easypost.com/v2/"
SIGNATURE_HEADER = "x-hmac-signature"
SIGNATURE_PREFIX = "hmac-sha256-hex="

# EasyPost's tracker statuses (https://docs.easypost.com/docs/trackers) in Awda's words.
# ``in_transit`` becomes ``first_scan`` for the earliest such scan of a parcel (see
# :func:`tracker_updates`). ``unknown`` means "no carrier information yet", so it must not
# count as a scan: anything ranked above label_created records the parcel's first scan.
STATUS_MAP: Mapping[str, TrackingStatus] = {
    "unknown": TrackingStatus.LABEL_CREATED,
    "pre_transit": TrackingStatus.LABEL_CREATED,
    "in_transit": TrackingStatus.IN_TRANSIT,
    "out_for_delivery": TrackingStatus.OUT_FOR_DELIVERY,
    # Held at a carrier counter for the merchant to collect: the last leg, not a delivery.
    "available_for_pickup": TrackingStatus.OUT_FOR_DELIVERY,
    "delivered": TrackingStatus.DELIVERED,
    "return_to_sender": TrackingStatus.RETURNED_TO_SENDER,
    "failure": TrackingStatus.EXCEPTION,
    "error": TrackingStatus.EXCEPTION,
    "cancelled": TrackingStatus.EXCEPTION,
}

# EasyPost has no pickup-slot API (a pickup is a window the carrier picks a time in), so the
# adapter offers the same three windows as the other carriers, in the account's zone.
PICKUP_WINDOWS = (
    (day_time(9), day_time(12)),
    (day_time(12), day_time(15)),
    (day_time(15), day_time(18)),
)
CM_PER_INCH = Decimal("2.54")
GRAMS_PER_OUNCE = Decimal("28.349523125")


def status_for(status: str) -> TrackingStatus:
    """Awda's status for an EasyPost tracking status; one it doesn't know moves nothing."""
    return STATUS_MAP.get(status.strip().lower(), TrackingStatus.LABEL_CREATED)


def rate_cost(amount: object, currency: object) -> tuple[int | None, str]:
    """A rate's price as (minor units, currency), rounded half-even; (None, "") if unreadable."""
    try:
        money = Money.from_decimal(Decimal(str(amount)), str(currency).strip().upper())
    except (InvalidOperation, ValueError, TypeError):
        return None, ""
    return money.minor, money.currency


def tracker_updates(tracker: Mapping[str, Any]) -> list[TrackingUpdate]:
    """The scans of an EasyPost Tracker object, in EasyPost's order.

    The earliest ``in_transit`` scan (by time, then by position) is the parcel's first scan.
    EasyPost sends a tracker's whole history every time, so the same scan is marked the same
    way in every webhook and poll, and stores once downstream.
    """
    number = str(tracker.get("tracking_code") or "").strip()
    if not number:
        raise ValueError("tracker has no tracking_code")
    details = tracker.get("tracking_details") or []
    if not isinstance(details, list):
        raise ValueError("tracking_details is not a list")
    return _with_first_scan([_detail_update(number, detail) for detail in details])


class EasyPostCarrier:
    code: ClassVar[str] = "easypost"
    supports_pickup: ClassVar[bool] = True
    supports_webhooks: ClassVar[bool] = True
    supports_paperless: ClassVar[bool] = False

    def __init__(
        self,
        settings: Mapping[str, str],
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_key = str(settings.get("api_key") or "").strip()
        self.secret = str(settings.get("webhook_secret") or "")
        self.carrier_accounts = [
            account.strip()
            for account in str(settings.get("carrier_accounts") or "").split(",")
            if account.strip()
        ]
        self.label_format = str(settings.get("label_format") or "").strip().upper()
        self.pickup_timezone = str(settings.get("pickup_timezone") or "UTC")
        self.http = CarrierHttp(
            base_url=str(settings.get("base_url") or DEFAULT_BASE_URL),
            carrier="EasyPost",
            auth=(self.api_key, ""),
            transport=transport,
            sleep=sleep,
        )

    # -- shipments ------------------------------------------------------------------------

    def create_return_shipment(self, request: ShipmentRequest) -> ShipmentResult:
        self._require_key()
        shipment: dict[str, Any] = {
            "is_return": True,
            # As the outbound parcel had them: EasyPost swaps the two for a return.
            "to_address": _address(request.shopper),
            "from_address": _address(request.merchant),
            "parcel": _parcel(request.parcel),
            "reference": request.reference,
        }
        if self.carrier_accounts:
            shipment["carrier_accounts"] = list(self.carrier_accounts)
        if self.label_format:
            shipment["options"] = {"label_format": self.label_format}
        created = _object(self.http.request("POST", "shipments", json={"shipment": shipment}))
        shipment_id = str(created.get("id") or "")
        if not shipment_id:
            raise CarrierError("EasyPost answered a shipment without an id", code="bad_response")
        rate = _cheapest(created.get("rates"))
        if rate is None:
            raise CarrierError(
                "EasyPost offered no rate for this return"
                + _messages_suffix(created.get("messages")),
                code="no_rates",
            )
        bought = self._buy_shipment(shipment_id, str(rate["id"]))
        tracking_number = str(bought.get("tracking_code") or "").strip()
        if not tracking_number:
            raise CarrierError(
                f"EasyPost bought shipment {shipment_id} but gave no tracking code",
                code="bad_response",
            )
        label = _part(bought, "postage_label")
        selected = _part(bought, "selected_rate") or rate
        cost_minor, cost_currency = rate_cost(selected.get("rate"), selected.get("currency"))
        tracker = _part(bought, "tracker")
        return ShipmentResult(
            tracking_number=tracking_number,
            carrier_shipment_id=shipment_id,
            carrier_label_url=str(label.get("label_url") or ""),
            carrier_label_format=_label_format(str(label.get("label_file_type") or "")),
            qr_payload=tracking_number,
            cost_minor=cost_minor,
            cost_currency=cost_currency,
            raw={
                "shipment_id": shipment_id,
                "rate_id": str(selected.get("id") or ""),
                "carrier": str(selected.get("carrier") or ""),
                "service": str(selected.get("service") or ""),
                "tracker_id": str(tracker.get("id") or ""),
                "public_url": str(tracker.get("public_url") or ""),
            },
        )

    def _buy_shipment(self, shipment_id: str, rate_id: str) -> Mapping[str, Any]:
        path = f"shipments/{quote(shipment_id, safe='')}"
        try:
            # Safe to repeat: a shipment carries one label, so a second buy can't buy twice.
            response = self.http.request(
                "POST", f"{path}/buy", json={"rate": {"id": rate_id}}, retry_writes=True
            )
        except CarrierError as refused:
            if refused.retryable:
                raise
            # A repeat of a buy that had gone through is refused; the label is on the shipment.
            existing = _object(self.http.request("GET", path))
            if existing.get("postage_label") and existing.get("tracking_code"):
                return existing
            raise
        return _object(response)

    def close(self) -> None:
        self.http.close()

    def cancel_shipment(self, *, tracking_number: str, carrier_shipment_id: str) -> None:
        """Ask EasyPost to refund the label (``POST /shipments/{id}/refund``)."""
        self._require_key()
        if not carrier_shipment_id:
            raise CarrierError(
                f"EasyPost refunds a label by its shipment id; {tracking_number} has none",
                code="unsupported",
            )
        response = self.http.request(
            "POST", f"shipments/{quote(carrier_shipment_id, safe='')}/refund", retry_writes=True
        )
        if "rejected" in _refund_statuses(_json(response)):
            raise CarrierError(
                f"EasyPost rejected the refund of the label {tracking_number}",
                code="refund_rejected",
            )

    # -- pickups --------------------------------------------------------------------------

    def pickup_slots(self, *, address: Address, day: date) -> Sequence[PickupSlot]:
        if day.weekday() == 6:  # carriers don't collect on Sundays
            return []
        zone = ZoneInfo(self.pickup_timezone)
        return [
            PickupSlot(
                start=datetime.combine(day, start, zone).astimezone(UTC),
                end=datetime.combine(day, end, zone).astimezone(UTC),
            )
            for start, end in PICKUP_WINDOWS
        ]

    def schedule_pickup(self, request: PickupRequest) -> PickupResult:
        """Create a pickup for the parcel's shipment and buy its cheapest pickup rate."""
        self._require_key()
        if not request.carrier_shipment_id:
            raise CarrierError(
                "EasyPost books a pickup for a shipment id; this parcel has none",
                code="unsupported",
            )
        pickup = {
            "reference": request.reference,
            "min_datetime": _utc_text(request.slot.start),
            "max_datetime": _utc_text(request.slot.end),
            "shipment": {"id": request.carrier_shipment_id},
            "address": _address(request.address),
            "is_account_address": False,
            "instructions": f"Return parcel {request.reference}",
        }
        created = _object(self.http.request("POST", "pickups", json={"pickup": pickup}))
        pickup_id = str(created.get("id") or "")
        if not pickup_id:
            raise CarrierError("EasyPost answered a pickup without an id", code="bad_response")
        rate = _cheapest(created.get("pickup_rates"))
        if rate is None:
            raise CarrierError(
                "EasyPost offered no pickup for this window"
                + _messages_suffix(created.get("messages")),
                code="no_pickup_rates",
            )
        bought = self._buy_pickup(pickup_id, rate)
        return PickupResult(
            confirmation=pickup_id,
            slot=_confirmed_window(bought) or request.slot,
            raw={
                "pickup_id": pickup_id,
                "confirmation": str(bought.get("confirmation") or ""),
                "carrier": str(rate.get("carrier") or ""),
                "service": str(rate.get("service") or ""),
                "status": str(bought.get("status") or ""),
            },
        )

    def _buy_pickup(self, pickup_id: str, rate: Mapping[str, Any]) -> Mapping[str, Any]:
        path = f"pickups/{quote(pickup_id, safe='')}"
        choice = {"carrier": rate.get("carrier"), "service": rate.get("service")}
        try:
            # As with labels: a pickup is bought once, so a repeat can't book twice.
            response = self.http.request("POST", f"{path}/buy", json=choice, retry_writes=True)
        except CarrierError as refused:
            if refused.retryable:
                raise
            existing = _object(self.http.request("GET", path))
            if str(existing.get("status") or "") == "scheduled":
                return existing
            raise
        return _object(response)

    def cancel_pickup(self, *, confirmation: str) -> None:
        self._require_key()
        self.http.request(
            "POST", f"pickups/{quote(confirmation, safe='')}/cancel", retry_writes=True
        )

    # -- tracking -------------------------------------------------------------------------

    def fetch_tracking(self, *, tracking_number: str) -> Sequence[TrackingUpdate]:
        """The parcel's scans from its tracker, creating the tracker if EasyPost has none."""
        self._require_key()
        listed = _object(
            self.http.request("GET", "trackers", params={"tracking_code": tracking_number})
        )
        trackers = [t for t in listed.get("trackers") or [] if isinstance(t, dict)]
        if trackers:
            tracker: Mapping[str, Any] = max(trackers, key=lambda t: str(t.get("updated_at") or ""))
        else:
            tracker = _object(
                self.http.request(
                    "POST", "trackers", json={"tracker": {"tracking_code": tracking_number}}
                )
            )
        try:
            return tracker_updates(tracker)
        except (ValueError, TypeError, KeyError) as exc:
            raise CarrierError(f"unreadable EasyPost tracker: {exc}", code="bad_response") from exc

    # -- webhooks -------------------------------------------------------------------------

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes) -> None:
        if not self.secret:
            raise WebhookRejected("no webhook secret is set for this account")
        given = headers.get(SIGNATURE_HEADER, "").strip().lower()
        if not given:
            raise WebhookRejected("missing X-Hmac-Signature header")
        # EasyPost keys the HMAC with the NFKD form of the secret: "é" typed as one code
        # point would otherwise never match what EasyPost computed.
        key = unicodedata.normalize("NFKD", self.secret).encode("utf-8")
        expected = SIGNATURE_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8")):
            raise WebhookRejected("signature does not match")

    def parse_webhook(self, *, body: bytes) -> WebhookEvent:
        try:
            event = json.loads(body)
        except ValueError as exc:
            raise MalformedWebhook(f"EasyPost event is not JSON: {exc}") from exc
        if not isinstance(event, dict):
            raise MalformedWebhook("EasyPost event is not a JSON object")
        event_id = event.get("id")
        if not isinstance(event_id, str) or not event_id:
            raise MalformedWebhook("EasyPost event has no id")
        result = event.get("result")
        if not isinstance(result, dict):
            raise MalformedWebhook("EasyPost event has no result object")
        kind = str(event.get("description") or "")
        if result.get("object") != "Tracker":
            # Refunds, batches, reports …: acknowledged, nothing to track.
            return WebhookEvent(
                event_id=event_id,
                tracking_number=str(result.get("tracking_code") or ""),
                updates=[],
                kind=kind,
            )
        try:
            updates = tracker_updates(result)
        except (ValueError, TypeError, KeyError) as exc:
            raise MalformedWebhook(f"unreadable EasyPost tracker: {exc}") from exc
        return WebhookEvent(
            event_id=event_id,
            tracking_number=str(result["tracking_code"]).strip(),
            updates=updates,
            kind=kind,
        )

    # -- helpers --------------------------------------------------------------------------

    def _require_key(self) -> None:
        if not self.api_key:
            raise CarrierError("no EasyPost API key is set for this account", code="not_configured")


def _detail_update(number: str, detail: object) -> TrackingUpdate:
    if not isinstance(detail, dict):
        raise ValueError("a tracking detail is not an object")
    status = str(detail.get("status") or "unknown").strip().lower()
    parts = (status, str(detail.get("status_detail") or ""), str(detail.get("carrier_code") or ""))
    return TrackingUpdate(
        tracking_number=number,
        status=status_for(status),
        occurred_at=_utc(detail.get("datetime")),
        carrier_status=":".join(p.strip() for p in parts if p.strip()),
        description=str(detail.get("message") or detail.get("description") or "").strip(),
        location=_place(detail.get("tracking_location")),
    )


def _with_first_scan(updates: list[TrackingUpdate]) -> list[TrackingUpdate]:
    moving = [i for i, u in enumerate(updates) if u.status == TrackingStatus.IN_TRANSIT]
    if moving:
        first = min(moving, key=lambda i: (updates[i].occurred_at, i))
        updates[first] = dataclasses.replace(updates[first], status=TrackingStatus.FIRST_SCAN)
    return updates


def _utc(value: object) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a tracking detail has no datetime")
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:  # EasyPost's times are UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _place(location: object) -> str:
    if not isinstance(location, dict):
        return ""
    parts = (str(location.get(k) or "").strip() for k in ("city", "state", "zip", "country"))
    return ", ".join(p for p in parts if p)


def _address(address: Address) -> dict[str, str]:
    street2 = ", ".join(p for p in (address.line2, address.district) if p)
    fields = {
        "name": address.name,
        "company": address.company,
        "street1": address.line1,
        "street2": street2,
        "city": address.city,
        "state": address.region,
        "zip": address.postcode,
        "country": address.country,
        "phone": address.phone,
        "email": address.email,
    }
    return {key: value for key, value in fields.items() if value}


def _parcel(parcel: Parcel) -> dict[str, float]:
    # EasyPost measures in inches and ounces, to one decimal place.
    def inches(cm: int) -> float:
        return float((Decimal(cm) / CM_PER_INCH).quantize(Decimal("0.1")))

    return {
        "length": inches(parcel.length_cm),
        "width": inches(parcel.width_cm),
        "height": inches(parcel.height_cm),
        "weight": float((Decimal(parcel.weight_grams) / GRAMS_PER_OUNCE).quantize(Decimal("0.1"))),
    }


def _cheapest(rates: object) -> Mapping[str, Any] | None:
    priced: list[tuple[Decimal, str, Mapping[str, Any]]] = []
    for rate in rates if isinstance(rates, list) else []:
        if not isinstance(rate, dict) or not rate.get("id"):
            continue
        try:
            priced.append((Decimal(str(rate.get("rate"))), str(rate["id"]), rate))
        except InvalidOperation:
            continue
    if not priced:
        return None
    # Ties go to the lower id, so the same offer always buys the same rate.
    return min(priced, key=lambda p: (p[0], p[1]))[2]


def _confirmed_window(pickup: Mapping[str, Any]) -> PickupSlot | None:
    """The carrier's window when it is a real one (EasyPost may echo bare dates)."""
    try:
        start, end = _utc(pickup.get("min_datetime")), _utc(pickup.get("max_datetime"))
    except ValueError:
        return None
    return PickupSlot(start=start, end=end) if end > start else None


def _refund_statuses(data: object) -> set[str]:
    # POST /shipments/{id}/refund answers the Shipment (``refund_status``); POST /refunds a
    # list of Refund objects (``status``). Either is read.
    items = data if isinstance(data, list) else [data]
    statuses = set()
    for item in items:
        if isinstance(item, dict):
            statuses.add(str(item.get("refund_status") or item.get("status") or ""))
    return statuses


def _label_format(file_type: str) -> str:
    kind = file_type.lower()
    for marker, name in (("pdf", "pdf"), ("png", "png"), ("zpl", "zpl"), ("epl", "epl2")):
        if marker in kind:
            return name
    return ""


def _messages_suffix(messages: object) -> str:
    words = [
        ": ".join(str(m.get(k)) for k in ("carrier", "message") if m.get(k))
        for m in (messages if isinstance(messages, list) else [])
        if isinstance(m, dict)
    ]
    words = [w for w in words if w]
    return (": " + "; ".join(words))[:500] if words else ""


def _part(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise CarrierError(
            f"EasyPost answered something other than JSON: {response.text[:200]}",
            code="bad_response",
        ) from exc


def _object(response: httpx.Response) -> Mapping[str, Any]:
    data = _json(response)
    if not isinstance(data, dict):
        raise CarrierError("EasyPost answered something other than an object", code="bad_response")
    return data
