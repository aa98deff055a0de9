"""Outbound webhooks' pure rules: the public event names, signatures, the retry schedule and
which addresses a delivery may reach. No database, no network."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

# -- public event names -------------------------------------------------------------------------
# The internal event (a past-tense fact of the outbox) each public name stands for. The
# public names are a contract with merchants' code: add names, never rename or remove one.


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    sources: tuple[str, ...]


EVENT_TYPES: tuple[EventType, ...] = (
    EventType("return.requested", "A shopper or the API created a return.", ("ReturnRequested",)),
    EventType(
        "return.approved", "A return was approved (automatically or by staff).", ("ReturnApproved",)
    ),
    EventType("return.rejected", "A return was rejected.", ("ReturnRejected",)),
    EventType(
        "return.cancelled", "A return was cancelled before its parcel moved.", ("ReturnCancelled",)
    ),
    EventType(
        "return.expired", "An approved return was never shipped in time.", ("ReturnExpired",)
    ),
    EventType("return.completed", "Every item of a return is settled.", ("ReturnCompleted",)),
    EventType(
        "label.issued", "The carrier issued the return's label or QR code.", ("LabelIssued",)
    ),
    EventType(
        "shipment.updated",
        "A parcel's tracking status changed (first scan, in transit, delivered...).",
        ("ShipmentUpdated",),
    ),
    EventType("item.received", "The warehouse received a return's parcel.", ("ReturnReceived",)),
    EventType(
        "item.inspected", "The warehouse decided every item of a return.", ("ReturnInspected",)
    ),
    EventType(
        "refund.issued",
        "Money went back: a card or wallet refund confirmed, or a bank transfer paid.",
        ("RefundIssued", "BankTransferPaid"),
    ),
    EventType(
        "credit.issued", "Store credit was granted (bonus included).", ("StoreCreditGranted",)
    ),
    EventType(
        "exchange.created", "A replacement order was made for an exchange.", ("ExchangeIssued",)
    ),
    EventType("stock.moved", "A variant's stock changed at a location.", ("StockMoved",)),
    EventType(
        "product.flagged",
        "A product is returned far more often than its category (the analytics' flag).",
        ("ProductFlagged",),
    ),
)

# A test delivery (``POST …/test``); not subscribable, always sent when asked.
TEST_EVENT = "webhook.test"

PUBLIC_NAMES: frozenset[str] = frozenset(t.name for t in EVENT_TYPES)
PUBLIC_NAME_FOR: Mapping[str, str] = {source: t.name for t in EVENT_TYPES for source in t.sources}


def public_data(event: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an internal event's payload a merchant's server sees: named fields only,
    so nothing added to an internal payload later (a secret, an IBAN) leaks by default."""
    build = _DATA.get(event)
    return build(payload) if build else {}


def _pick(payload: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {key: payload[key] for key in keys if key in payload}


def _return(payload: Mapping[str, Any]) -> dict[str, Any]:
    data = {"return_number": payload.get("number"), "status": payload.get("status")}
    data.update(_pick(payload, "from_status"))
    return data


def _requested(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_return(payload),
        **_pick(payload, "units", "refund_total_minor", "currency"),
        "items": [
            _pick(item, "line_ref", "quantity", "reason") for item in payload.get("items", ())
        ],
    }


def _inspected(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {**_return(payload), **_pick(payload, "accepted", "rejected")}


def _label(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "return_number": payload.get("number"),
        **_pick(payload, "tracking_number", "carrier", "method"),
    }


def _shipment(payload: Mapping[str, Any]) -> dict[str, Any]:
    latest = payload.get("latest") or {}
    return {
        **_pick(payload, "return_number", "tracking_number", "status", "previous_status"),
        "latest": _pick(latest, "status", "at", "description", "location"),
    }


def _refund(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {**_pick(payload, "reference", "amount_minor", "currency"), "method": "original_payment"}


def _transfer(payload: Mapping[str, Any]) -> dict[str, Any]:
    # The IBAN (even its last digits) stays out: the merchant's bank file has it.
    return {**_pick(payload, "reference", "amount_minor", "currency"), "method": "bank_transfer"}


def _credit(payload: Mapping[str, Any]) -> dict[str, Any]:
    # Never the wallet code: only its hash is kept, and the shopper's mail carries it.
    return _pick(
        payload,
        "reference",
        "amount_minor",
        "bonus_minor",
        "currency",
        "balance_minor",
        "expires_at",
    )


def _exchange(payload: Mapping[str, Any]) -> dict[str, Any]:
    return _pick(
        payload,
        "return_number",
        "reference",
        "replacement_order_number",
        "replacement_value_minor",
        "difference_minor",
        "difference_handling",
        "collect_on_delivery_minor",
        "instant",
        "currency",
    )


def _stock(payload: Mapping[str, Any]) -> dict[str, Any]:
    return _pick(payload, "sku", "location", "quantity", "on_hand_after", "reason", "reference")


def _flagged(payload: Mapping[str, Any]) -> dict[str, Any]:
    return _pick(
        payload,
        "external_id",
        "title",
        "sold_units",
        "returned_units",
        "return_rate",
        "lower_bound",
        "category_rate",
        "period_start",
        "period_end",
    )


_DATA: Mapping[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "ReturnRequested": _requested,
    "ReturnApproved": _return,
    "ReturnRejected": _return,
    "ReturnCancelled": _return,
    "ReturnExpired": _return,
    "ReturnCompleted": _return,
    "LabelIssued": _label,
    "ShipmentUpdated": _shipment,
    "ReturnReceived": _return,
    "ReturnInspected": _inspected,
    "RefundIssued": _refund,
    "BankTransferPaid": _transfer,
    "StoreCreditGranted": _credit,
    "ExchangeIssued": _exchange,
    "StockMoved": _stock,
    "ProductFlagged": _flagged,
}

# -- signatures ---------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under the subscription's secret."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Awda-Signature`` header: ``t=<timestamp>,v1=<hex>`` (Stripe's layout, so a
    receiver can accept two ``v1`` values while a secret is rotated)."""
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


# -- retries ------------------------------------------------------------------------------------

# The wait before each retry, after the first attempt failed: 8 attempts over ~45 hours.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# Consecutive failed attempts (across deliveries) that disable a subscription.
DISABLE_AFTER_FAILURES = 15


def retry_delay(
    failed_attempts: int, *, rand: Callable[[], float] = random.random
) -> timedelta | None:
    """The wait after ``failed_attempts`` failures, with up to +20% jitter so the retries of
    many deliveries to one recovering server don't arrive together; None when it's over."""
    if failed_attempts < 1 or failed_attempts > len(RETRY_DELAYS):
        return None
    base = RETRY_DELAYS[failed_attempts - 1]
    return base + base * 0.2 * rand()


def is_success(status_code: int) -> bool:
    return 200 <= status_code < 300


# -- where a delivery may go --------------------------------------------------------------------

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class UrlRefused(ValueError):
    """A target URL Awda won't post to; ``reason`` is a stable code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_url(url: str, *, allow_local: bool) -> str:
    """The URL's host when Awda may post to it (syntax only: the addresses its name
    resolves to are checked at each delivery, ``check_address``); else ``UrlRefused``."""
    if len(url) > 2000:
        raise UrlRefused("too_long")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UrlRefused("malformed") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in {"https", "http"} or not host:
        raise UrlRefused("malformed")
    if parts.username or parts.password:
        raise UrlRefused("credentials")  # they would be logged with the URL
    if port == 0:
        raise UrlRefused("malformed")
    local = host in LOCAL_HOSTS
    if local and not allow_local:
        raise UrlRefused("private_address")
    if parts.scheme != "https" and not local:
        raise UrlRefused("https_required")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host.endswith((".localhost", ".local", ".internal")):
            raise UrlRefused("private_address") from None
        return host
    check_address(str(address), allow_local=allow_local)
    return host


def check_address(address: str, *, allow_local: bool) -> None:
    """Refuse an address inside someone's network: private, loopback, link-local (the
    cloud metadata service at 169.254.169.254), multicast, reserved. Loopback is allowed
    only when ``allow_local`` (development and tests)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback and allow_local:
        return
    if (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    ):
        raise UrlRefused("private_address")
