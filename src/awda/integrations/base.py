"""The store connector interface: what every platform (Shopify, WooCommerce, Zid…) does for
Awda, and the plain data that crosses it.

Connectors are plain classes built from a connection's decrypted settings; they import
nothing from the database, so each is tested against recorded payloads alone. All their
HTTP goes through ``core.http.RemoteHttp`` (timeouts, retries, the store's own words on a
failure). Mapping never raises on a quirk of the payload: it imports what is there and
returns the quirks as ``Issue`` rows for staff.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Protocol

import httpx

from awda.core.http import RemoteHttp
from awda.core.money import exponent
from awda.orders.services import OrderData


class WebhookRejected(Exception):
    """The delivery is not signed by the store (missing or wrong signature): nothing stored."""


class MalformedWebhook(Exception):
    """The body can't be read (not JSON, not an order): nothing stored, a 400 with this text."""


class StoreError(Exception):
    """A call to the store failed: its own words, a code, and whether a retry may help."""

    def __init__(self, message: str, *, code: str = "store_error", retryable: bool = False):
        super().__init__(message)
        self.code = code
        self.retryable = retryable


@dataclass(frozen=True)
class Issue:
    """Something in a payload that didn't add up or couldn't be imported as sent."""

    code: str  # total_mismatch, fractional_quantity, refund_exceeds_captured, …
    field: str = ""
    expected: str = ""
    actual: str = ""
    detail: str = ""


@dataclass(frozen=True)
class VariantRef:
    """Where a SKU lives in the store, for pushing stock back."""

    sku: str
    product_ref: str
    variant_ref: str = ""


@dataclass(frozen=True)
class MappedOrder:
    """A store order as Awda stores it (``data`` None when nothing could be imported)."""

    external_id: str
    data: OrderData | None
    issues: tuple[Issue, ...] = ()
    variants: tuple[VariantRef, ...] = ()


@dataclass(frozen=True)
class Delivery:
    """A verified webhook delivery: the store's event id, its topic and the parsed body."""

    event_id: str
    topic: str
    payload: Any


@dataclass(frozen=True)
class RefundLine:
    line_ref: str  # the store's line item id
    quantity: int
    amount_minor: int


@dataclass(frozen=True)
class RefundPush:
    """Record in the store a refund Awda already paid (no money moves through the store)."""

    key: str  # Awda's idempotency key, written into the refund's note to find it again
    order_ref: str  # the store's order id
    return_number: str
    currency: str
    amount_minor: int
    lines: Sequence[RefundLine] = ()
    shipping_address: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RestockPush:
    key: str
    sku: str
    product_ref: str
    variant_ref: str
    quantity: int  # units back on the shelf (> 0)


@dataclass(frozen=True)
class NotePush:
    key: str
    order_ref: str
    note: str
    tags: Sequence[str] = ()


@dataclass(frozen=True)
class ReplacementLine:
    """One item of an exchange's replacement, named by the store's own ids (``StoreVariant``)."""

    sku: str
    title: str
    quantity: int
    unit_price_minor: int
    paid_minor: int  # what the line costs after the returned items' credit (0 when covered)
    product_ref: str = ""
    variant_ref: str = ""


@dataclass(frozen=True)
class ReplacementPush:
    """An exchange's replacement order for the store to send: its items, how much the
    returned items paid (``credit_minor``) and what the courier collects in cash."""

    key: str  # Awda's idempotency key, written into the store's order to find it again
    number: str  # Awda's replacement order number
    original_ref: str  # the store's id of the order it replaces
    original_number: str
    currency: str
    placed_at: datetime
    total_minor: int
    credit_minor: int
    collect_minor: int
    lines: Sequence[ReplacementLine]
    customer_ref: str = ""  # the store's customer id, when the order came with one
    email: str = ""
    phone: str = ""
    country: str = ""
    shipping_address: Mapping[str, str] = field(default_factory=dict)

    @property
    def note(self) -> str:
        """What staff in the store read: which items to send, and what to collect."""
        items = ", ".join(f"{line.sku or line.title} × {line.quantity}" for line in self.lines)
        collect = (
            f"; collect {format_minor(self.collect_minor, self.currency)} {self.currency}"
            " on delivery"
            if self.collect_minor
            else "; nothing to collect"
        )
        return (
            f"Awda exchange {self.number} for order {self.original_number}: send {items}"
            f"{collect} ({self.key})"
        )


@dataclass(frozen=True)
class GiftCardPush:
    """Store credit Awda granted, issued as the store's own gift card (Shopify)."""

    key: str
    code: str  # 16 letters and digits, derived from the key (the same on a retry)
    currency: str
    amount_minor: int
    reference: str  # the return (or grant) the credit came from
    expires_on: date | None = None
    customer_ref: str = ""

    @property
    def note(self) -> str:
        return f"Awda store credit {self.reference} ({self.key})"


class StoreHttp:
    """A connector's client for its store's API: made on first use (the webhook path never
    calls the store) from ``_http_options``, closed with the connector."""

    _http: RemoteHttp | None = None
    _transport: httpx.BaseTransport | None = None

    def _http_options(self) -> dict[str, Any]:
        """``RemoteHttp``'s base_url, carrier (the store's name in errors), headers, auth."""
        raise NotImplementedError

    @property
    def http(self) -> RemoteHttp:
        if self._http is None:
            self._http = RemoteHttp(
                error=StoreError, transport=self._transport, **self._http_options()
            )
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


class Connector(Protocol):
    """One store platform. Methods that call the store raise ``StoreError``."""

    platform: str

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]
    ) -> Delivery:
        """Check the signature (``WebhookRejected``), then read the body
        (``MalformedWebhook``); ``headers`` by lower-case name."""
        ...

    def map_order(self, payload: Any) -> MappedOrder:
        """The store's order as ``OrderData`` with what didn't add up."""
        ...

    def fetch_orders(self, *, since: datetime) -> Iterator[Any]:
        """Every order created since ``since``, page by page through the store's list API
        (raw payloads, for ``map_order``); an order that can't be fetched is yielded as a
        ``StoreError`` so the rest still come."""
        ...

    def find_refund(self, push: RefundPush) -> str | None:
        """The store's id of a refund recorded earlier under ``push.key``, if any."""
        ...

    def push_refund(self, push: RefundPush) -> str:
        """Record the refund; returns the store's refund id."""
        ...

    def push_restock(self, push: RestockPush) -> str:
        """Put units back into the store's stock; returns what the store calls it."""
        ...

    def push_note(self, push: NotePush) -> str:
        """Tag or annotate the order."""
        ...

    def find_replacement_order(self, push: ReplacementPush) -> str | None:
        """What an earlier ``create_replacement_order`` under ``push.key`` left, if findable."""
        ...

    def create_replacement_order(self, push: ReplacementPush) -> str:
        """The exchange's order in the store (or, where the store's API can't make one as
        Awda priced it, a note on the original saying what to send); returns its id."""
        ...

    def close(self) -> None: ...


# -- helpers shared by the connectors -----------------------------------------------------


def sign_base64_hmac(body: bytes, secret: str) -> str:
    """Base64 of the body's HMAC-SHA256 with the webhook secret: how Shopify
    (``X-Shopify-Hmac-Sha256``) and WooCommerce (``X-WC-Webhook-Signature``) sign."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signed_delivery(
    *,
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    signature_header: str,
    id_header: str,
    topic_header: str,
) -> Delivery:
    """A delivery signed with ``sign_base64_hmac``: its signature checked in constant time,
    then its event id (required) and topic read from the named headers (lower case)."""
    given = headers.get(signature_header, "")
    if not given:
        raise WebhookRejected(f"no {signature_header} header")
    if not secret or not hmac.compare_digest(
        given.encode(), sign_base64_hmac(body, secret).encode()
    ):
        raise WebhookRejected("the signature does not match the body")
    event_id = headers.get(id_header, "")
    if not event_id:
        raise MalformedWebhook(f"no {id_header} header")
    return Delivery(event_id, headers.get(topic_header, ""), read_json(body))


def unknown_currency(external_id: str, currency: str, field: str) -> MappedOrder | None:
    """The order refused with its flag when ``currency`` is not one Awda knows, else None."""
    try:
        to_minor(0, currency)
    except ValueError:
        return MappedOrder(external_id, None, (Issue("unknown_currency", field, "", currency),))
    return None


def read_json(body: bytes) -> Any:
    """The body as JSON, or ``MalformedWebhook`` saying where it stops making sense."""
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise MalformedWebhook("the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise MalformedWebhook(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def decimal_of(value: Any) -> Decimal | None:
    """A number as the store sent it (string, int or float), exactly as written: floats go
    through ``repr`` (10.799999999999999 stays that, to be rounded once, half-even)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def to_minor(value: Any, currency: str) -> int:
    """Money in minor units, rounded half-even to the currency's exponent (SAR 2, KWD 3):
    "223.56000086523000" → 22356; an unreadable value is 0 (the caller flags it)."""
    number = decimal_of(value)
    if number is None:
        return 0
    exp = exponent(currency)
    return int((number * (Decimal(10) ** exp)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def format_minor(minor: int, currency: str) -> str:
    """Minor units as the decimal string stores take ("12.30")."""
    exp = exponent(currency)
    return f"{Decimal(minor).scaleb(-exp):.{exp}f}"


def parse_time(value: Any, *, naive_tz: Any = UTC) -> datetime | None:
    """An ISO 8601 / "YYYY-MM-DD HH:MM:SS" time; one without an offset is in ``naive_tz``."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=naive_tz)


def whole_quantity(value: Any) -> tuple[int, Decimal | None]:
    """(units, the fraction as sent when it isn't whole); unreadable → (0, None)."""
    number = decimal_of(value)
    if number is None:
        return 0, None
    if number == number.to_integral_value():
        return int(number), None
    return 1, number


def text(value: Any, limit: int = 200) -> str:
    return "" if value is None else str(value).strip()[:limit]
