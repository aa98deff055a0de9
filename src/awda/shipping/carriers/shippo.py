"""Shippo: return labels, tracking and signed webhooks over Shippo's REST API.

Settings (an account's decrypted settings):

- ``api_token`` (required for API calls): sent as ``Authorization: ShippoToken <token>``.
- ``webhook_secret`` (required for webhooks): the HMAC secret Shippo signs webhooks with.
- ``carrier`` (optional): the Shippo carrier token (``usps``, ``ups``, ``fedex`` …) used by
  :meth:`ShippoCarrier.fetch_tracking`, which is handed a bare tracking number; a number
  written ``carrier:number`` (``usps:9205…``) names its own carrier instead.
- ``carrier_accounts`` (optional): comma-separated Shippo carrier account ids to rate-shop.
- ``label_file_type`` (optional, default ``PDF_4x6``).
- ``api_version`` (optional, default ``2018-02-08``): sent as ``Shippo-API-Version`` so the
  shapes read here don't change under the account.
- ``tolerance_seconds`` (optional, default 300): how old a signed webhook may be.
- ``base_url`` (default ``https://api.goshippo.com/``).

What Shippo documents and this adapter relies on:

- Returns (https://docs.goshippo.com/docs/shipments/returns): ``extra.is_return: true`` with
  the addresses as the outbound parcel had them (``address_from`` = the merchant,
  ``address_to`` = the shopper); Shippo swaps them on the label itself.
- No idempotency key is documented, so label purchases (``POST /transactions/``) are never
  repeated by the adapter; a purchase still queued after a short wait is reported, not redone.
- Webhooks (https://docs.goshippo.com/docs/tracking/webhooksecurity): of the three documented
  protections (IP allowlist, a token in the URL's query, HMAC), only HMAC can be checked from
  the headers and body this interface passes: ``Shippo-Auth-Signature: t=<unix time>,v1=<hex
  HMAC-SHA256 of "<t>.<body>">``. Shippo enables HMAC per account on request.
- Pickups (``POST /pickups/``) exist for USPS and DHL Express only, and Shippo offers no way
  to cancel one by API; Awda re-books a pickup by cancelling the old one first, so this
  adapter does not offer pickups (``supports_pickup = False``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import quote

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

DEFAULT_BASE_URL = "https://api.goshippo.com/"
DEFAULT_API_VERSION = "2018-02-08"
SIGNATURE_HEADER = "shippo-auth-signature"
CARRIER_TOKEN = re.compile(r"^[a-z0-9_]+$")

# Shippo's tracking statuses (https://docs.goshippo.com/docs/tracking/tracking) in Awda's
# words. UNKNOWN is what Shippo says before the carrier has the parcel (the recorded USPS
# history opens with two of them), so it must not count as a scan.
STATUS_MAP: Mapping[str, TrackingStatus] = {
    "UNKNOWN": TrackingStatus.LABEL_CREATED,
    "PRE_TRANSIT": TrackingStatus.LABEL_CREATED,
    "TRANSIT": TrackingStatus.IN_TRANSIT,
    "DELIVERED": TrackingStatus.DELIVERED,
    "RETURNED": TrackingStatus.RETURNED_TO_SENDER,
    "FAILURE": TrackingStatus.EXCEPTION,
}
# Substatus codes that say more than TRANSIT does. The rest (package_accepted,
# package_departed, delayed, package_held …) stay in transit.
TRANSIT_SUBSTATUS_MAP: Mapping[str, TrackingStatus] = {
    "out_for_delivery": TrackingStatus.OUT_FOR_DELIVERY,
    # Waiting at a carrier counter for the merchant to collect: the last leg.
    "pickup_available": TrackingStatus.OUT_FOR_DELIVERY,
    "delivery_attempted": TrackingStatus.EXCEPTION,
    "notice_left": TrackingStatus.EXCEPTION,
    "address_issue": TrackingStatus.EXCEPTION,
    "contact_carrier": TrackingStatus.EXCEPTION,
    "location_inaccessible": TrackingStatus.EXCEPTION,
    "package_damaged": TrackingStatus.EXCEPTION,
    "return_to_sender": TrackingStatus.RETURNED_TO_SENDER,
}
PENDING_TRANSACTION = frozenset({"QUEUED", "WAITING"})


def status_for(status: str, substatus: str = "") -> TrackingStatus:
    """Awda's status for a Shippo status and substatus code; unknown ones move nothing."""
    base = STATUS_MAP.get(status.strip().upper(), TrackingStatus.LABEL_CREATED)
    if base == TrackingStatus.IN_TRANSIT:
        return TRANSIT_SUBSTATUS_MAP.get(substatus.strip().lower(), base)
    return base


def rate_cost(amount: object, currency: object) -> tuple[int | None, str]:
    """A rate's price as (minor units, currency), rounded half-even; (None, "") if unreadable."""
    try:
        money = Money.from_decimal(Decimal(str(amount)), str(currency).strip().upper())
    except (InvalidOperation, ValueError, TypeError):
        return None, ""
    return money.minor, money.currency


def track_updates(track: Mapping[str, Any], *, tracking_number: str = "") -> list[TrackingUpdate]:
    """The scans of a Shippo Track object: its history, then its current status if new.

    Only the scan's own facts are read (status, substatus, time, words, place), never Shippo's
    object ids or timestamps of its records, which differ between two deliveries of the same
    update. The earliest in-transit scan (by time, then position) is the first scan.
    """
    number = str(track.get("tracking_number") or tracking_number).strip()
    if not number:
        raise ValueError("track has no tracking_number")
    history = track.get("tracking_history") or []
    if not isinstance(history, list):
        raise ValueError("tracking_history is not a list")
    entries = [entry for entry in history if entry is not None]
    current = track.get("tracking_status")
    if isinstance(current, dict):
        entries.append(current)
    updates: list[TrackingUpdate] = []
    seen: set[tuple[str, str, datetime]] = set()
    for entry in entries:
        update = _entry_update(number, entry)
        if update is None:
            continue
        key = (str(update.status), update.carrier_status, update.occurred_at)
        if key not in seen:  # the current status repeats the history's last entry
            seen.add(key)
            updates.append(update)
    return _with_first_scan(updates)


class ShippoCarrier:
    code: ClassVar[str] = "shippo"
    supports_pickup: ClassVar[bool] = False
    supports_webhooks: ClassVar[bool] = True
    supports_paperless: ClassVar[bool] = False

    def __init__(
        self,
        settings: Mapping[str, str],
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        poll_attempts: int = 5,
    ) -> None:
        self.api_token = str(settings.get("api_token") or "").strip()
        self.secret = str(settings.get("webhook_secret") or "")
        self.carrier = str(settings.get("carrier") or "").strip().lower()
        self.carrier_accounts = [
            account.strip()
            for account in str(settings.get("carrier_accounts") or "").split(",")
            if account.strip()
        ]
        self.label_file_type = str(settings.get("label_file_type") or "PDF_4x6").strip()
        self.tolerance = int(settings.get("tolerance_seconds") or 300)
        self.poll_attempts = poll_attempts
        self._sleep = sleep
        self._clock = clock
        self.http = CarrierHttp(
            base_url=str(settings.get("base_url") or DEFAULT_BASE_URL),
            carrier="Shippo",
            headers={
                "Authorization": f"ShippoToken {self.api_token}",
                "Shippo-API-Version": str(settings.get("api_version") or DEFAULT_API_VERSION),
            },
            transport=transport,
            sleep=sleep,
        )

    # -- shipments ------------------------------------------------------------------------

    def create_return_shipment(self, request: ShipmentRequest) -> ShipmentResult:
        self._require_token()
        shipment: dict[str, Any] = {
            # As the outbound parcel had them: Shippo swaps the two for a return.
            "address_from": _address(request.merchant),
            "address_to": _address(request.shopper),
            "parcels": [_parcel(request.parcel)],
            "extra": {"is_return": True, "reference_1": request.reference[:50]},
            "metadata": request.reference[:100],
            "async": False,
        }
        if self.carrier_accounts:
            shipment["carrier_accounts"] = list(self.carrier_accounts)
        created = _object(self.http.request("POST", "shipments/", json=shipment))
        rate = _cheapest(created.get("rates"))
        if rate is None:
            raise CarrierError(
                "Shippo offered no rate for this return"
                + _messages_suffix(created.get("messages")),
                code="no_rates",
            )
        purchase = {
            "rate": str(rate["object_id"]),
            "label_file_type": self.label_file_type,
            "metadata": request.reference[:100],
            "async": False,
        }
        # Not repeated on failure: Shippo documents no idempotency key for purchases.
        bought = self._settled(_object(self.http.request("POST", "transactions/", json=purchase)))
        status = str(bought.get("status") or "")
        if status != "SUCCESS":
            raise CarrierError(
                f"Shippo could not buy the label ({status or 'no status'})"
                + _messages_suffix(bought.get("messages")),
                code="label_failed",
            )
        tracking_number = str(bought.get("tracking_number") or "").strip()
        transaction_id = str(bought.get("object_id") or "")
        if not tracking_number or not transaction_id:
            raise CarrierError(
                "Shippo bought a label without a tracking number", code="bad_response"
            )
        cost_minor, cost_currency = rate_cost(rate.get("amount"), rate.get("currency"))
        servicelevel = rate.get("servicelevel")
        token = servicelevel.get("token") if isinstance(servicelevel, dict) else ""
        return ShipmentResult(
            tracking_number=tracking_number,
            carrier_shipment_id=transaction_id,
            carrier_label_url=str(bought.get("label_url") or ""),
            carrier_label_format=_label_format(self.label_file_type),
            qr_payload=tracking_number,
            cost_minor=cost_minor,
            cost_currency=cost_currency,
            raw={
                "shipment_id": str(created.get("object_id") or ""),
                "transaction_id": transaction_id,
                "rate_id": str(rate["object_id"]),
                "provider": str(rate.get("provider") or ""),
                "servicelevel": str(token or ""),
                "carrier_account": str(rate.get("carrier_account") or ""),
                "tracking_url_provider": str(bought.get("tracking_url_provider") or ""),
            },
        )

    def _settled(self, transaction: Mapping[str, Any]) -> Mapping[str, Any]:
        """Wait (reading, never re-buying) for a purchase Shippo has queued."""
        transaction_id = str(transaction.get("object_id") or "")
        for attempt in range(self.poll_attempts):
            if (
                str(transaction.get("status") or "") not in PENDING_TRANSACTION
                or not transaction_id
            ):
                return transaction
            self._sleep(min(1.0 * (attempt + 1), 5.0))
            transaction = _object(
                self.http.request("GET", f"transactions/{quote(transaction_id, safe='')}")
            )
        if str(transaction.get("status") or "") in PENDING_TRANSACTION:
            raise CarrierError(
                f"Shippo is still buying the label (transaction {transaction_id}); "
                "it is not bought again so as not to pay twice",
                code="label_pending",
            )
        return transaction

    def close(self) -> None:
        self.http.close()

    def cancel_shipment(self, *, tracking_number: str, carrier_shipment_id: str) -> None:
        """Ask Shippo to refund the label (``POST /refunds/`` for its transaction)."""
        self._require_token()
        if not carrier_shipment_id:
            raise CarrierError(
                f"Shippo refunds a label by its transaction id; {tracking_number} has none",
                code="unsupported",
            )
        answer = _object(
            self.http.request(
                "POST",
                "refunds/",
                json={"transaction": carrier_shipment_id, "async": False},
                retry_writes=True,  # asking twice can't refund twice
            )
        )
        if str(answer.get("status") or "") == "ERROR":
            raise CarrierError(
                f"Shippo refused to refund the label {tracking_number}", code="refund_rejected"
            )

    # -- pickups (not offered: see the module's docstring) --------------------------------

    def pickup_slots(self, *, address: Address, day: date) -> Sequence[PickupSlot]:
        return []

    def schedule_pickup(self, request: PickupRequest) -> PickupResult:
        raise CarrierError("pickups are not offered through Shippo", code="unsupported")

    def cancel_pickup(self, *, confirmation: str) -> None:
        raise CarrierError("Shippo can't cancel a pickup by API", code="unsupported")

    # -- tracking -------------------------------------------------------------------------

    def fetch_tracking(self, *, tracking_number: str) -> Sequence[TrackingUpdate]:
        """``GET /tracks/{carrier}/{number}``; the carrier from ``carrier:number`` or settings."""
        self._require_token()
        carrier, number = self._carrier_and_number(tracking_number)
        track = _object(
            self.http.request("GET", f"tracks/{quote(carrier, safe='')}/{quote(number, safe='')}")
        )
        try:
            return track_updates(track, tracking_number=number)
        except (ValueError, TypeError, KeyError) as exc:
            raise CarrierError(f"unreadable Shippo track: {exc}", code="bad_response") from exc

    def _carrier_and_number(self, tracking_number: str) -> tuple[str, str]:
        carrier, sep, number = tracking_number.strip().partition(":")
        if not sep:
            carrier, number = self.carrier, tracking_number.strip()
        carrier = carrier.strip().lower()
        if not CARRIER_TOKEN.match(carrier) or not number.strip():
            raise CarrierError(
                "Shippo tracks by carrier and number: set the account's carrier or pass "
                "carrier:number",
                code="not_configured",
            )
        return carrier, number.strip()

    # -- webhooks -------------------------------------------------------------------------

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes) -> None:
        if not self.secret:
            raise WebhookRejected("no webhook secret is set for this account")
        stamp, signatures = "", []
        for piece in headers.get(SIGNATURE_HEADER, "").split(","):
            name, sep, value = piece.strip().partition("=")
            if sep and name == "t":
                stamp = value.strip()
            elif sep and name == "v1" and value.strip():
                signatures.append(value.strip().lower())
        if not stamp.isdigit() or not signatures:
            raise WebhookRejected("missing or malformed Shippo-Auth-Signature header")
        # Unix seconds; a millisecond stamp is read as such rather than as the far future.
        sent = int(stamp) / 1000 if int(stamp) > 10**11 else int(stamp)
        if abs(self._clock() - sent) > self.tolerance:
            raise WebhookRejected("signature timestamp outside the tolerance")
        expected = hmac.new(
            self.secret.encode("utf-8"), stamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        # Every v1 is tried: during a secret rotation a delivery may carry two.
        if not any(hmac.compare_digest(expected.encode(), s.encode()) for s in signatures):
            raise WebhookRejected("signature does not match")

    def parse_webhook(self, *, body: bytes) -> WebhookEvent:
        """Read a delivery: ``{"event": "track_updated", "test": …, "data": {<Track>}}``.

        Shippo's payload carries no delivery id, so the event id is a digest of the body: a
        plain retry is recognised as a duplicate on receipt, and a re-send of the same update
        in a different body still yields the very same scans, which store once downstream.
        """
        try:
            event = json.loads(body)
        except ValueError as exc:
            raise MalformedWebhook(f"Shippo event is not JSON: {exc}") from exc
        if not isinstance(event, dict):
            raise MalformedWebhook("Shippo event is not a JSON object")
        canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        event_id = "shippo:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        kind = str(event.get("event") or "")
        data = event.get("data")
        if kind != "track_updated":
            number = data.get("tracking_number") if isinstance(data, dict) else ""
            return WebhookEvent(
                event_id=event_id, tracking_number=str(number or ""), updates=[], kind=kind
            )
        if not isinstance(data, dict) or not str(data.get("tracking_number") or "").strip():
            raise MalformedWebhook("track_updated event without a track")
        try:
            updates = track_updates(data)
        except (ValueError, TypeError, KeyError) as exc:
            raise MalformedWebhook(f"unreadable Shippo track: {exc}") from exc
        metadata = data.get("metadata")
        return WebhookEvent(
            event_id=event_id,
            tracking_number=str(data["tracking_number"]).strip(),
            updates=updates,
            kind=kind,
            reference=metadata.strip() if isinstance(metadata, str) else "",
        )

    # -- helpers --------------------------------------------------------------------------

    def _require_token(self) -> None:
        if not self.api_token:
            raise CarrierError("no Shippo API token is set for this account", code="not_configured")


def _entry_update(number: str, entry: object) -> TrackingUpdate | None:
    if not isinstance(entry, dict):
        raise ValueError("a tracking entry is not an object")
    occurred_at = _utc(entry.get("status_date") or entry.get("object_created"))
    if occurred_at is None:  # "no information yet": nothing happened at any time
        return None
    status = str(entry.get("status") or "UNKNOWN").strip().upper()
    substatus = entry.get("substatus")
    sub_code = str(substatus.get("code") or "").strip() if isinstance(substatus, dict) else ""
    return TrackingUpdate(
        tracking_number=number,
        status=status_for(status, sub_code),
        occurred_at=occurred_at,
        carrier_status=f"{status}:{sub_code}" if sub_code else status,
        description=str(entry.get("status_details") or "").strip(),
        location=_place(entry.get("location")),
    )


def _with_first_scan(updates: list[TrackingUpdate]) -> list[TrackingUpdate]:
    moving = [i for i, u in enumerate(updates) if u.status == TrackingStatus.IN_TRANSIT]
    if moving:
        first = min(moving, key=lambda i: (updates[i].occurred_at, i))
        updates[first] = dataclasses.replace(updates[first], status=TrackingStatus.FIRST_SCAN)
    return updates


def _utc(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"unreadable time {value!r}")
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:  # Shippo states its times in UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _place(location: object) -> str:
    if not isinstance(location, dict):
        return ""
    parts = (str(location.get(k) or "").strip() for k in ("city", "state", "zip", "country"))
    return ", ".join(p for p in parts if p)


def _address(address: Address) -> dict[str, str]:
    fields = {
        "name": address.name,
        "company": address.company,
        "street1": address.line1,
        "street2": address.line2,
        "street3": address.district,
        "city": address.city,
        "state": address.region,
        "zip": address.postcode,
        "country": address.country,
        "phone": address.phone,
        "email": address.email,
    }
    return {key: value for key, value in fields.items() if value}


def _parcel(parcel: Parcel) -> dict[str, str]:
    # Shippo takes metric units as they are (distance_unit cm, mass_unit g).
    return {
        "length": str(parcel.length_cm),
        "width": str(parcel.width_cm),
        "height": str(parcel.height_cm),
        "distance_unit": "cm",
        "weight": str(parcel.weight_grams),
        "mass_unit": "g",
    }


def _cheapest(rates: object) -> Mapping[str, Any] | None:
    priced: list[tuple[Decimal, str, Mapping[str, Any]]] = []
    for rate in rates if isinstance(rates, list) else []:
        if not isinstance(rate, dict) or not rate.get("object_id"):
            continue
        try:
            priced.append((Decimal(str(rate.get("amount"))), str(rate["object_id"]), rate))
        except InvalidOperation:
            continue
    if not priced:
        return None
    # Ties go to the lower id, so the same offer always buys the same rate.
    return min(priced, key=lambda p: (p[0], p[1]))[2]


def _label_format(file_type: str) -> str:
    kind = file_type.lower()
    for marker in ("pdf", "png", "zpl"):
        if kind.startswith(marker):
            return marker
    return ""


def _messages_suffix(messages: object) -> str:
    words = []
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict):
            text = str(message.get("text") or message.get("message") or "").strip()
            source = str(message.get("source") or "").strip()
            if text:
                words.append(f"{source}: {text}" if source else text)
        elif isinstance(message, str) and message.strip():
            words.append(message.strip())
    return (": " + "; ".join(words))[:500] if words else ""


def _object(response: httpx.Response) -> Mapping[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise CarrierError(
            f"Shippo answered something other than JSON: {response.text[:200]}",
            code="bad_response",
        ) from exc
    if not isinstance(data, dict):
        raise CarrierError("Shippo answered something other than an object", code="bad_response")
    return data
