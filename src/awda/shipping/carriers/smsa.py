"""SMSA Express: returns as C2B ("pickup return") shipments on SMSA's eCommerce REST API.

Written from SMSA's eCom API documentation (the reference page served with the API,
https://ecomapis.smsaexpress.com; sandbox https://ecomapis-sandbox.azurewebsites.net),
sections "Create C2B (Pickup Return) Shipment", "Query C2B (Pickup Return) Shipment",
"Cancel Reverse Pickup Shipments", "Track Single Shipment" and "Get Status Lookup".
Every call carries the account's key in an ``apikey`` header.

How SMSA's model maps onto ours:

* A C2B shipment *is* the collection: SMSA sends a courier to ``PickupAddress`` (the
  shopper) and delivers to ``ReturnToAddress`` (the merchant). There is no separate pickup
  booking and no way to choose a time, so :meth:`SmsaCarrier.schedule_pickup` only confirms
  the shipment exists, and cancelling the pickup cancels the C2B shipment.
* The answer names a shipment AWB (``sawb``) and one AWB per parcel (``waybills[].awb``,
  each with its label as base64 PDF). The first parcel's AWB is the tracking number and
  what a drop-off counter scans; ``sawb`` is kept as the carrier's shipment id.
* SMSA documents no webhook signature (status pushes are set up by hand with SMSA), so
  webhooks are refused and SMSA parcels are polled.

Settings: ``api_key`` (required); ``base_url`` (default production, or the sandbox when
``test_mode`` is true); ``service_code`` (default ``EDCR``, the C2B service in SMSA's
sample); ``retail_id`` (``SMSARetailID``, default ``0``); ``timezone`` (scan times without
an offset, ship dates and pickup windows; default Asia/Riyadh); ``pickup_window`` (default
``09:00-18:00``) and ``pickup_days`` (default every day but Friday) for the slots offered.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from datetime import time as day_time
from typing import Any, ClassVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx

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

PRODUCTION_URL = "https://ecomapis.smsaexpress.com"
SANDBOX_URL = "https://ecomapis-sandbox.azurewebsites.net"

# SMSA's scan codes (``Scans[].ScanType``). The first group is in SMSA's own documentation
# (the tracking samples and the "Get Status Lookup" sample); the rest are codes SMSA's
# status lookup (GET /api/track/statuslookup) returns as listed by public integrations,
# and should be checked against a live lookup when an account is set up.
SCAN_STATUS: Mapping[str, TrackingStatus] = {
    # documented
    "DL": TrackingStatus.DELIVERED,  # Delivered
    "OD": TrackingStatus.OUT_FOR_DELIVERY,  # Out for Delivery
    "HOP": TrackingStatus.IN_TRANSIT,  # Shipment Departed SMSA Sorting Facility
    "AF": TrackingStatus.IN_TRANSIT,  # Arrived Delivery Facility
    "CC": TrackingStatus.IN_TRANSIT,  # Processing for Consignee Collection
    "CR": TrackingStatus.IN_TRANSIT,  # Customs Released
    "DE": TrackingStatus.EXCEPTION,  # Delivery Exception
    # from the status lookup as published by integrators
    "PU": TrackingStatus.FIRST_SCAN,  # Shipment Picked up from the shipper
    "RTOPS": TrackingStatus.FIRST_SCAN,  # Collected from Retail (a drop-off)
    "ST41": TrackingStatus.IN_TRANSIT,  # At SMSA Retail Center
    "HIP": TrackingStatus.IN_TRANSIT,  # Shipment Received at SMSA Sorting Facility
    "SOP": TrackingStatus.IN_TRANSIT,  # Shipment Departed SMSA Origin Facility
    "DF": TrackingStatus.IN_TRANSIT,  # Departed Facility
    "ST44": TrackingStatus.IN_TRANSIT,  # At SMSA Facility
    "IC": TrackingStatus.IN_TRANSIT,  # Arrived at Destination Country - clearance
    "POD": TrackingStatus.DELIVERED,  # Proof of Delivery
    "DEX03": TrackingStatus.EXCEPTION,  # Shipment Has Undeliverable Address
    "DEX08": TrackingStatus.EXCEPTION,  # Delivery Attempted - Customer Not Available
    "DEX14": TrackingStatus.EXCEPTION,  # Under Return Process To SMSA Facility
    "DEX93": TrackingStatus.EXCEPTION,  # Attempted Delivery - Unable To Collect Charges
    "UTI": TrackingStatus.EXCEPTION,  # On Hold - Attempting Customer Address Validation
    "CD": TrackingStatus.EXCEPTION,  # Clearance Delay
    # A return parcel sent back to its sender went back to the shopper: the return failed.
    "RTS": TrackingStatus.RETURNED_TO_SENDER,  # Returned To Shipper
    "RTO": TrackingStatus.RETURNED_TO_SENDER,  # Return To Origin
    "DATA": TrackingStatus.LABEL_CREATED,  # Data Entry Process
}

# Statuses that mean SMSA holds the parcel: the first of them is the return's first scan.
_IN_HAND = frozenset(
    {
        TrackingStatus.FIRST_SCAN,
        TrackingStatus.IN_TRANSIT,
        TrackingStatus.OUT_FOR_DELIVERY,
        TrackingStatus.DELIVERED,
    }
)
_CLIENT_ERRORS = (400, 401, 403, 404, 405, 409, 415, 422)
_OK = (200, 201, 202, 204)
_THREE_DECIMALS = frozenset({"BHD", "KWD", "OMR", "JOD", "IQD", "LYD", "TND"})
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Field lengths from the ShipmentAddress table of SMSA's documentation.
_LENGTHS = {"ContactName": (5, 150), "AddressLine1": (10, 100), "City": (3, 50)}


def statuses_for(codes: Sequence[str]) -> list[TrackingStatus]:
    """Map a parcel's scan codes, oldest first, to statuses.

    Only the first scan that shows SMSA holding the parcel is ``first_scan`` (a pickup, or
    the first facility scan of a parcel dropped off at a branch); a later pickup scan is in
    transit. A code not in the table is in transit once SMSA has the parcel and
    ``label_created`` before: an unknown code can then neither invent a first scan (which
    starts the refund clock) nor hide one already seen.
    """
    statuses: list[TrackingStatus] = []
    in_hand = False
    for code in codes:
        status = SCAN_STATUS.get(code.strip().upper())
        if status is None:
            status = TrackingStatus.IN_TRANSIT if in_hand else TrackingStatus.LABEL_CREATED
        elif status in (TrackingStatus.FIRST_SCAN, TrackingStatus.IN_TRANSIT):
            status = TrackingStatus.IN_TRANSIT if in_hand else TrackingStatus.FIRST_SCAN
        in_hand = in_hand or status in _IN_HAND
        statuses.append(status)
    return statuses


class SmsaCarrier:
    code: ClassVar[str] = "smsa"
    supports_pickup: ClassVar[bool] = True
    supports_webhooks: ClassVar[bool] = False
    supports_paperless: ClassVar[bool] = False

    def __init__(
        self,
        settings: Mapping[str, str],
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        api_key = str(settings.get("api_key") or "")
        self._configured = bool(api_key)
        test_mode = str(settings.get("test_mode") or "").lower() in {"1", "true", "yes", "on"}
        base_url = str(settings.get("base_url") or (SANDBOX_URL if test_mode else PRODUCTION_URL))
        self.service_code = str(settings.get("service_code") or "EDCR")
        self.retail_id = str(settings.get("retail_id") or "0")
        self.zone = ZoneInfo(str(settings.get("timezone") or "Asia/Riyadh"))
        self.window = _window(str(settings.get("pickup_window") or "09:00-18:00"))
        self.pickup_days = _days(str(settings.get("pickup_days") or "sat,sun,mon,tue,wed,thu"))
        self._now = clock or (lambda: datetime.now(UTC))
        self.http = CarrierHttp(
            base_url=base_url.rstrip("/"),
            carrier=self.code,
            headers={"apikey": api_key, "Accept": "application/json"},
            transport=transport,
            sleep=sleep,
        )

    # -- shipments ------------------------------------------------------------------------

    def create_return_shipment(self, request: ShipmentRequest) -> ShipmentResult:
        body = {
            "PickupAddress": _address(request.shopper),
            "ReturnToAddress": _address(request.merchant),
            "OrderNumber": request.reference[:50],
            "DeclaredValue": _declared_value(request.parcel),
            "Parcels": max(1, request.parcel.pieces),
            "ShipDate": self._now().astimezone(self.zone).strftime("%Y-%m-%dT%H:%M:%S"),
            "ShipmentCurrency": request.parcel.currency or "SAR",
            "SMSARetailID": self.retail_id,
            "WaybillType": "PDF",
            "Weight": round(max(request.parcel.weight_grams, 1) / 1000, 3),
            "WeightUnit": "KG",
            "ContentDescription": request.parcel.description or "Return",
            "ServiceCode": self.service_code,
        }
        # SMSA honours no idempotency key, so the create is sent once: a timeout leaves the
        # shipment's existence unknown and retrying blindly could book two couriers.
        data = self._json(self._call("POST", "/api/c2b/new", json=body))
        return _shipment_result(data)

    def query_return_shipment(self, *, awb: str) -> ShipmentResult:
        """What SMSA holds for a C2B shipment, its labels included (a lost label's reprint)."""
        data = self._json(self._call("GET", f"/api/c2b/query/{_segment(awb)}"))
        return _shipment_result(data)

    def cancel_shipment(self, *, tracking_number: str, carrier_shipment_id: str) -> None:
        self._cancel(carrier_shipment_id or tracking_number)

    def _cancel(self, awb: str) -> None:
        # Cancelling twice is harmless, so the call may be retried.
        response = self._call("POST", f"/api/c2b/cancel/{_segment(awb)}", retry=True)
        words = response.text.strip().strip('"').strip()
        lowered = words.lower()
        # SMSA answers 200 with a sentence either way; only this one means it worked.
        if "cancel" not in lowered or "success" not in lowered:
            raise CarrierError(
                f"SMSA did not confirm the cancellation: {words[:300] or '(empty answer)'}",
                code="not_cancelled",
            )

    # -- pickups --------------------------------------------------------------------------

    def pickup_slots(self, *, address: Address, day: date) -> Sequence[PickupSlot]:
        # SMSA publishes no slot API and takes no time with a C2B shipment: its courier comes
        # on the working day. One window per day, from the account's settings.
        if _WEEKDAYS[day.weekday()] not in self.pickup_days:
            return []
        start, end = self.window
        return [
            PickupSlot(
                start=datetime.combine(day, start, self.zone).astimezone(UTC),
                end=datetime.combine(day, end, self.zone).astimezone(UTC),
            )
        ]

    def schedule_pickup(self, request: PickupRequest) -> PickupResult:
        awb = request.carrier_shipment_id or request.tracking_number
        data = self._json(self._call("GET", f"/api/c2b/query/{_segment(awb)}"))
        if not isinstance(data, dict) or not (data.get("sawb") or data.get("waybills")):
            raise CarrierError(f"SMSA knows no C2B shipment {awb}", code="unknown_shipment")
        return PickupResult(
            confirmation=str(data.get("sawb") or awb),
            slot=request.slot,
            raw={"booked_with_shipment": True, "window_sent": False},
        )

    def cancel_pickup(self, *, confirmation: str) -> None:
        # The collection and the C2B shipment are one thing at SMSA.
        self._cancel(confirmation)

    # -- tracking -------------------------------------------------------------------------

    def fetch_tracking(self, *, tracking_number: str) -> Sequence[TrackingUpdate]:
        data = self._json(self._call("GET", f"/api/track/single/{_segment(tracking_number)}"))
        if not isinstance(data, dict):
            raise _malformed("a tracking answer that is not an object", data)
        scans = data.get("Scans") or []
        if not isinstance(scans, list):
            raise _malformed("Scans that are not a list", scans)
        read = []
        for scan in scans:
            try:
                read.append(
                    (
                        self._scan_time(scan),
                        str(scan.get("ScanType") or ""),
                        str(scan.get("ScanDescription") or ""),
                        str(scan.get("City") or ""),
                    )
                )
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise _malformed(f"an unreadable scan ({exc})", scan) from exc
        # SMSA lists the newest scan first; statuses are worked out oldest first.
        read.sort(key=lambda r: r[0])
        number = str(data.get("AWB") or tracking_number)
        return [
            TrackingUpdate(
                tracking_number=number,
                status=status,
                occurred_at=at,
                carrier_status=code,
                description=words,
                location=city,
            )
            for (at, code, words, city), status in zip(
                read, statuses_for([r[1] for r in read]), strict=True
            )
        ]

    def _scan_time(self, scan: Mapping[str, Any]) -> datetime:
        moment = datetime.fromisoformat(str(scan["ScanDateTime"]))
        if moment.tzinfo is None:
            offset = str(scan.get("ScanTimeZone") or "").strip()
            if offset:
                moment = datetime.fromisoformat(moment.isoformat() + offset)
            else:
                moment = moment.replace(tzinfo=self.zone)
        return moment.astimezone(UTC)

    # -- webhooks -------------------------------------------------------------------------

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes) -> None:
        raise WebhookRejected("webhooks not supported")

    def parse_webhook(self, *, body: bytes) -> WebhookEvent:
        raise MalformedWebhook("SMSA sends no webhooks that awda can verify")

    # -- HTTP -----------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, *, retry: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        if not self._configured:
            raise CarrierError("this SMSA account has no API key", code="not_configured")
        # 4xx answers are read here rather than in CarrierHttp: SMSA's validation errors are
        # ASP.NET problem details whose useful words sit in "title" and "errors".
        response = self.http.request(
            method, path, retry_writes=retry, expect=_OK + _CLIENT_ERRORS, **kwargs
        )
        if response.status_code >= 400:
            raise CarrierError(
                _smsa_words(response), code=f"http_{response.status_code}", retryable=False
            )
        return response

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise _malformed("an answer that is not JSON", response.text) from None

    def close(self) -> None:
        self.http.close()


# -- helpers ------------------------------------------------------------------------------------


def _address(address: Address) -> dict[str, str]:
    body = {
        "ContactName": (address.company or address.name).strip(),
        "ContactPhoneNumber": address.phone,
        "Country": address.country.upper(),
        "City": address.city.strip(),
        "District": address.district,
        "PostalCode": address.postcode,
        "AddressLine1": address.line1.strip(),
        "AddressLine2": address.line2[:100],
    }
    for field, (shortest, longest) in _LENGTHS.items():
        if not shortest <= len(body[field]) <= longest:
            # Refused here with words staff can act on, rather than by SMSA's 400.
            raise CarrierError(
                f"SMSA needs {field} of {shortest}–{longest} characters, got {body[field]!r}",
                code="invalid_request",
            )
    return body


def _declared_value(parcel: Parcel) -> float:
    exponent = 3 if parcel.currency.upper() in _THREE_DECIMALS else 2
    # SMSA refuses a declared value under 0.1.
    return max(round(parcel.value_minor / 10**exponent, exponent), 0.1)


def _shipment_result(data: Any) -> ShipmentResult:
    if not isinstance(data, dict):
        raise _malformed("a shipment answer that is not an object", data)
    waybills = [w for w in data.get("waybills") or [] if isinstance(w, dict)]
    sawb = str(data.get("sawb") or "")
    awb = str(waybills[0].get("awb") or "") if waybills else ""
    if not (awb or sawb):
        raise _malformed("a shipment answer without an AWB", data)
    label = b""
    if waybills and waybills[0].get("awbFile"):
        try:
            label = base64.b64decode(str(waybills[0]["awbFile"]), validate=True)
        except (binascii.Error, ValueError):
            # The shipment exists by now: a bad label must not lose it (awda renders its own).
            label = b""
    raw = {k: v for k, v in data.items() if k != "waybills"}
    raw["waybills"] = [w.get("awb") for w in waybills]
    return ShipmentResult(
        tracking_number=awb or sawb,
        carrier_shipment_id=sawb or awb,
        carrier_label=label,
        carrier_label_format="pdf" if label else "",
        qr_payload=awb or sawb,
        raw=raw,
    )


def _smsa_words(response: httpx.Response, limit: int = 500) -> str:
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip() or response.reason_phrase
        return f"SMSA HTTP {response.status_code}: {text[:limit]}"
    parts: list[str] = []
    if isinstance(data, dict):
        for key in ("message", "Message", "title", "detail", "error"):
            if data.get(key):
                parts.append(str(data[key]))
        errors = data.get("errors")
        if isinstance(errors, dict):
            parts.extend(
                f"{field}: {'; '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                for field, msgs in errors.items()
            )
        elif errors:
            parts.append(str(errors))
    elif data:
        parts.append(str(data))
    return f"SMSA HTTP {response.status_code}: {' — '.join(parts)[:limit] or '(no details)'}"


def _malformed(what: str, data: Any) -> CarrierError:
    return CarrierError(f"SMSA sent {what}: {str(data)[:200]}", code="malformed_response")


def _segment(value: str) -> str:
    return quote(value.strip(), safe="")


def _window(text: str) -> tuple[day_time, day_time]:
    start, _, end = text.partition("-")
    return day_time.fromisoformat(start.strip()), day_time.fromisoformat(end.strip())


def _days(text: str) -> frozenset[str]:
    return frozenset(d.strip().lower()[:3] for d in text.split(",") if d.strip())
