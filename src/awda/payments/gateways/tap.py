"""Tap Payments (Gulf): refunds, invoices as payment links, and hashstring-signed webhooks.

Settings (an account's decrypted settings):

- ``secret_key`` (required): ``sk_live_…`` / ``sk_test_…``, sent as a Bearer token. Tap
  signs webhooks with the same key, so it also verifies them.
- ``post_url`` (optional): Awda's webhook URL for this account, sent as ``post.url`` with
  every refund and invoice so Tap reports their outcome there.
- ``link_expiry_days`` (default 7): how long an invoice (payment link) can be paid.
- ``find_window_days`` (default 120): how far back :meth:`TapGateway.find_refund` lists.
- ``base_url`` (default ``https://api.tap.company/v2/``).

What Tap documents and this adapter relies on:

- Refunds (https://developers.tap.company/docs/refunds,
  https://developers.tap.company/reference/create-a-refund): ``POST /v2/refunds/`` with
  ``charge_id``, ``amount`` (a decimal in the currency's major unit, up to 3 places for
  BHD/KWD/OMR, 2 for others: sent here as an exact JSON number built from the minor units,
  never through a float), ``currency``, ``reason`` (``requested_by_customer``),
  ``description``, ``reference.merchant``, ``metadata`` and ``post.url``; ``GET
  /v2/refunds/{id}``; ``POST /v2/refunds/list`` (a period in epoch milliseconds, ``limit``,
  ``starting_after``).
- Tap documents no idempotency key for refunds, so the create is sent once and never
  retried blindly; the attempt's key travels as ``reference.merchant`` and
  ``metadata.awda_idempotency_key``, and :meth:`TapGateway.find_refund` lists the account's
  refunds of the last ``find_window_days`` and matches the charge and the key.
- Statuses (docs/refunds, "Refund Response Statuses" and "Refund Logic V2"): see
  ``STATUS_MAP``. TIMEDOUT and UNKNOWN read as PENDING: Tap has not said the money stayed
  put, so the refund is looked at again rather than tried twice.
- Errors: ``{"errors": [{"code", "description"}]}``; the first error's code becomes the
  GatewayError's (``tap_<code>``), the descriptions its message.
- Payment links: an invoice (https://developers.tap.company/reference/create-an-invoice),
  ``POST /v2/invoices/`` in ``PAY`` mode (the payment page opens directly), not dispatched by
  Tap (Awda sends its own messages); its ``url`` is the link and its ``inv_…`` id the link id.
  A charge with a redirect would also give a URL, but it expires with the session and needs
  the shopper's name; an invoice has its own expiry. Tap requires a customer: the request's
  email and phone are sent, and the reference stands in for a first name (the request carries
  no name).
- Webhooks (https://developers.tap.company/docs/webhook): no timestamp; a ``hashstring``
  header holding the hex HMAC-SHA256, keyed with the secret key, of
  ``x_id{id}x_amount{amount}x_currency{currency}x_gateway_reference{reference.gateway}``
  ``x_payment_reference{reference.payment}x_status{status}x_created{transaction.created}``
  for charges, authorizations and refunds, and of
  ``x_id{id}x_amount{amount}x_currency{currency}x_updated{updated}x_status{status}``
  ``x_created{created}`` for invoices, the amount written with the currency's decimals
  (``1.500`` KWD, ``10.00`` SAR). A replay carries the same object in the same state and is
  dropped as a duplicate of its event id (``<object id>:<status>``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from awda.core.money import exponent
from awda.payments.gateways.base import (
    GatewayError,
    GatewayEvent,
    MalformedWebhook,
    PaymentLink,
    PaymentLinkRequest,
    RefundRequest,
    RefundResult,
    RefundStatus,
    WebhookRejected,
)
from awda.payments.gateways.http import GatewayHttp

DEFAULT_BASE_URL = "https://api.tap.company/v2/"
SIGNATURE_HEADER = "hashstring"
KEY_METADATA = "awda_idempotency_key"
LIST_PAGE_SIZE = 50
LIST_MAX_PAGES = 20
DAY_MS = 86_400_000

STATUS_MAP: Mapping[str, RefundStatus] = {
    "INITIATED": RefundStatus.PENDING,
    "PENDING": RefundStatus.PENDING,
    "IN_PROGRESS": RefundStatus.PENDING,
    "ACCEPTED": RefundStatus.PENDING,
    "TIMEDOUT": RefundStatus.PENDING,
    "TIMED_OUT": RefundStatus.PENDING,
    "UNKNOWN": RefundStatus.PENDING,
    "REFUNDED": RefundStatus.SUCCEEDED,
    "SUCCEEDED": RefundStatus.SUCCEEDED,
    "FAILED": RefundStatus.FAILED,
    "DECLINED": RefundStatus.FAILED,
    "RESTRICTED": RefundStatus.FAILED,
    "RESTRICRTED": RefundStatus.FAILED,  # sic, as the refunds page spells it
    "CANCELLED": RefundStatus.CANCELLED,
    "CANCELED": RefundStatus.CANCELLED,
}

# Country calling codes of the markets Tap serves, longest first, to split an E.164 number
# into Tap's ``country_code`` and ``number``.
CALLING_CODES = ("966", "965", "971", "973", "974", "968", "962", "961", "964", "20")


def status_for(status: str) -> RefundStatus:
    return STATUS_MAP.get(status.strip().upper(), RefundStatus.PENDING)


def tap_amount(amount_minor: int, currency: str) -> Decimal:
    """Minor units as Tap's major-unit decimal, with the currency's places (KWD 1235 → 1.235)."""
    try:
        places = exponent(currency.upper())
    except ValueError as exc:
        raise GatewayError(str(exc), code="unknown_currency") from exc
    return Decimal(amount_minor).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def minor_from_tap(amount: object, currency: str) -> int:
    """Tap's decimal amount as minor units; ValueError unless it is a whole number of them."""
    if isinstance(amount, bool) or not isinstance(amount, (int, str, Decimal)):
        raise ValueError(f"not a decimal amount: {amount!r}")
    try:
        scaled = Decimal(amount).scaleb(exponent(currency.upper()))
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal amount: {amount!r}") from exc
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} is not a whole number of minor units")
    return int(scaled)


def hashstring(payload: Mapping[str, Any], secret_key: str) -> str:
    """The ``hashstring`` Tap sends with ``payload`` (a decoded webhook body), per its docs."""
    currency = str(payload.get("currency") or "")
    amount = _amount_text(payload.get("amount"), currency)
    fields = f"x_id{_text(payload.get('id'))}x_amount{amount}x_currency{currency}"
    if str(payload.get("object") or "").lower() == "invoice":
        fields += (
            f"x_updated{_text(payload.get('updated'))}x_status{_text(payload.get('status'))}"
            f"x_created{_text(payload.get('created'))}"
        )
    else:
        reference = _part(payload, "reference")
        fields += (
            f"x_gateway_reference{_text(reference.get('gateway'))}"
            f"x_payment_reference{_text(reference.get('payment'))}"
            f"x_status{_text(payload.get('status'))}"
            f"x_created{_text(_part(payload, 'transaction').get('created'))}"
        )
    return hmac.new(secret_key.encode(), fields.encode(), hashlib.sha256).hexdigest()


def refund_result(refund: Mapping[str, Any]) -> RefundResult:
    """A Tap refund object, read; ValueError (or KeyError/TypeError) if it can't be."""
    refund_id = refund["id"]
    if not isinstance(refund_id, str) or not refund_id:
        raise ValueError("refund has no id")
    currency = str(refund["currency"]).upper()
    status = status_for(str(refund.get("status") or ""))
    response = _part(refund, "response")
    failure = ""
    if status in (RefundStatus.FAILED, RefundStatus.CANCELLED):
        failure = str(response.get("message") or refund.get("status") or "").strip()
    return RefundResult(
        refund_id=refund_id,
        status=status,
        amount_minor=minor_from_tap(refund["amount"], currency),
        currency=currency,
        payment_reference=str(refund.get("charge_id") or ""),
        failure_message=failure,
        created_at=_moment(refund.get("created")),
        raw=_plain(refund),
    )


class TapGateway:
    code: ClassVar[str] = "tap"
    supports_payment_links: ClassVar[bool] = True

    def __init__(
        self,
        settings: Mapping[str, str],
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        **_ignored: Any,
    ) -> None:
        self.secret_key = str(settings.get("secret_key") or "").strip()
        self.post_url = str(settings.get("post_url") or "").strip()
        self.link_expiry_days = int(settings.get("link_expiry_days") or 7)
        self.find_window_days = int(settings.get("find_window_days") or 120)
        self._clock = clock
        self.http = GatewayHttp(
            base_url=str(settings.get("base_url") or DEFAULT_BASE_URL),
            gateway="Tap",
            refusal=_refusal,
            headers={"Authorization": f"Bearer {self.secret_key}"},
            transport=transport,
            sleep=sleep,
        )

    # -- refunds --------------------------------------------------------------------------

    def refund(self, request: RefundRequest) -> RefundResult:
        self._require_key()
        if request.amount_minor <= 0:
            raise GatewayError("a refund must be of a positive amount", code="invalid_amount")
        currency = request.currency.upper()
        body: dict[str, Any] = {
            "charge_id": request.payment_reference,
            "amount": tap_amount(request.amount_minor, currency),
            "currency": currency,
            "reason": "requested_by_customer",
            "description": request.reason or "Refund",
            "reference": {"merchant": request.idempotency_key},
            "metadata": {**request.metadata, KEY_METADATA: request.idempotency_key},
        }
        if self.post_url:
            body["post"] = {"url": self.post_url}
        # No idempotency key: sent once (RemoteHttp never repeats an unkeyed write).
        response = self.http.request("POST", "refunds/", **_json(body))
        return self._read_refund(_object(response))

    def fetch_refund(self, *, refund_id: str) -> RefundResult:
        self._require_key()
        response = self.http.request("GET", f"refunds/{quote(refund_id, safe='')}")
        return self._read_refund(_object(response))

    def find_refund(self, *, payment_reference: str, idempotency_key: str) -> RefundResult | None:
        """The refund of this charge carrying this key, among the account's recent refunds."""
        self._require_key()
        now_ms = int(self._clock() * 1000)
        query: dict[str, Any] = {
            "period": {
                "date": {"from": now_ms - self.find_window_days * DAY_MS, "to": now_ms + DAY_MS}
            },
            "limit": LIST_PAGE_SIZE,
        }
        for _page in range(LIST_MAX_PAGES):
            # A search, not a change: safe to repeat.
            response = self.http.request("POST", "refunds/list", retry_writes=True, **_json(query))
            listed = _object(response)
            refunds = [
                r for r in listed.get("refunds") or listed.get("data") or [] if isinstance(r, dict)
            ]
            for refund in refunds:
                if refund.get("charge_id") == payment_reference and _carries_key(
                    refund, idempotency_key
                ):
                    return self._read_refund(refund)
            if not listed.get("has_more") or not refunds:
                return None
            query["starting_after"] = str(refunds[-1].get("id") or "")
        raise GatewayError(
            f"more than {LIST_PAGE_SIZE * LIST_MAX_PAGES} Tap refunds in the window;"
            " look for this one in the Tap dashboard",
            code="search_exhausted",
        )

    def _read_refund(self, refund: Mapping[str, Any]) -> RefundResult:
        try:
            return refund_result(refund)
        except (ValueError, TypeError, KeyError) as exc:
            raise GatewayError(f"unreadable Tap refund: {exc}", code="bad_response") from exc

    # -- payment links --------------------------------------------------------------------

    def create_payment_link(self, request: PaymentLinkRequest) -> PaymentLink:
        self._require_key()
        if request.amount_minor <= 0:
            raise GatewayError(
                "a payment link must be for a positive amount", code="invalid_amount"
            )
        if not (request.customer_email or request.customer_phone):
            raise GatewayError(
                "Tap needs the shopper's email or phone for an invoice", code="invalid_request"
            )
        currency = request.currency.upper()
        amount = tap_amount(request.amount_minor, currency)
        now_ms = int(self._clock() * 1000)
        expiry = now_ms + self.link_expiry_days * DAY_MS
        customer: dict[str, Any] = {"first_name": request.reference}
        if request.customer_email:
            customer["email"] = request.customer_email
        phone = _phone(request.customer_phone)
        if phone:
            customer["phone"] = phone
        body: dict[str, Any] = {
            "draft": False,
            "due": expiry,
            "expiry": expiry,
            "description": request.description or request.reference,
            "mode": "PAY",
            "currencies": [currency],
            "customer": customer,
            "order": {
                "amount": amount,
                "currency": currency,
                "items": [
                    {
                        "name": request.description or request.reference,
                        "description": request.description or request.reference,
                        "amount": amount,
                        "currency": currency,
                        "quantity": 1,
                    }
                ],
            },
            "notifications": {"channels": [], "dispatch": False},
            "reference": {"invoice": request.reference, "order": request.reference},
            "metadata": {"awda_reference": request.reference},
        }
        if request.idempotency_key:
            body["metadata"][KEY_METADATA] = request.idempotency_key
        if self.post_url:
            body["post"] = {"url": self.post_url}
        if request.success_url:
            body["redirect"] = {"url": request.success_url}
        invoice = _object(self.http.request("POST", "invoices/", **_json(body)))
        link_id, url = str(invoice.get("id") or ""), str(invoice.get("url") or "")
        if not link_id or not url:
            raise GatewayError("Tap answered an invoice without an id or url", code="bad_response")
        return PaymentLink(
            link_id=link_id, url=url, raw={"status": invoice.get("status"), "expiry": expiry}
        )

    # -- webhooks -------------------------------------------------------------------------

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes) -> None:
        if not self.secret_key:
            raise WebhookRejected("no Tap secret key is set for this account")
        posted = headers.get(SIGNATURE_HEADER, "").strip().lower()
        if not posted:
            raise WebhookRejected("missing hashstring header")
        try:
            payload = _decode(body)
        except ValueError as exc:
            # What is signed is read from the body; a body that can't be read can't be checked.
            raise WebhookRejected("body is not a JSON object; nothing to check") from exc
        # Header values may hold any character; compare_digest takes only ASCII str.
        if not hmac.compare_digest(
            hashstring(payload, self.secret_key).encode(), posted.encode("utf-8", "surrogatepass")
        ):
            raise WebhookRejected("signature does not match")

    def parse_webhook(self, *, body: bytes) -> GatewayEvent:
        try:
            payload = _decode(body)
        except ValueError as exc:
            raise MalformedWebhook(f"Tap webhook is not a JSON object: {exc}") from exc
        object_id, status = payload.get("id"), payload.get("status")
        if not isinstance(object_id, str) or not object_id or not isinstance(status, str):
            raise MalformedWebhook("Tap webhook has no id or status")
        kind = f"{str(payload.get('object') or '').lower()}.{status.lower()}"
        event_id = f"{object_id}:{status.upper()}"
        if kind.startswith("refund."):
            try:
                refund = refund_result(payload)
            except (ValueError, TypeError, KeyError) as exc:
                raise MalformedWebhook(f"unreadable Tap refund: {exc}") from exc
            return GatewayEvent(event_id=event_id, kind=kind, refund=refund)
        if kind == "invoice.paid":
            return GatewayEvent(event_id=event_id, kind=kind, paid_link_id=object_id)
        return GatewayEvent(event_id=event_id, kind=kind)

    def close(self) -> None:
        self.http.close()

    def _require_key(self) -> None:
        if not self.secret_key:
            raise GatewayError("no Tap secret key is set for this account", code="not_configured")


def _carries_key(refund: Mapping[str, Any], key: str) -> bool:
    return key in (
        _part(refund, "reference").get("merchant"),
        _part(refund, "metadata").get(KEY_METADATA),
    )


def _amount_text(amount: object, currency: str) -> str:
    """The amount as Tap writes it into the hashstring: the currency's decimals."""
    if isinstance(amount, bool) or not isinstance(amount, (int, str, Decimal)):
        return _text(amount)
    try:
        places = exponent(currency.upper())
        return f"{Decimal(amount).quantize(Decimal(1).scaleb(-places)):f}"
    except (InvalidOperation, ValueError):
        return _text(amount)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _phone(number: str) -> dict[str, str] | None:
    digits = number.strip().replace(" ", "").replace("-", "")
    if not digits.startswith("+") or not digits[1:].isdigit():
        return None
    for code in CALLING_CODES:
        if digits[1:].startswith(code):
            return {"country_code": code, "number": digits[1 + len(code) :]}
    return None


def _moment(value: object) -> datetime | None:
    """Tap's epoch times: milliseconds in the API, seconds in some examples."""
    try:
        stamp = int(str(value))
        return datetime.fromtimestamp(stamp / 1000 if stamp > 10**11 else stamp, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _decode(body: bytes) -> dict[str, Any]:
    # Decimal, not float: the amount must be re-written exactly as Tap wrote it.
    data = json.loads(body, parse_float=Decimal)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


def _json(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Request arguments sending ``payload`` as JSON, Decimals as exact JSON numbers."""
    numbers: dict[str, str] = {}

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            token = f"@@decimal{len(numbers)}@@"
            numbers[f'"{token}"'] = f"{value:f}"
            return token
        if isinstance(value, Mapping):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(payload), separators=(",", ":"), ensure_ascii=False)
    for token, number in numbers.items():
        text = text.replace(token, number)
    return {"content": text.encode(), "headers": {"Content-Type": "application/json"}}


def _plain(value: Any) -> Any:
    """A decoded payload with its Decimals as strings, fit for a JSON column."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _part(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _refusal(response: httpx.Response) -> GatewayError:
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        data = None
    errors = data.get("errors") if isinstance(data, dict) else None
    items = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    if not items:
        words = data.get("message") if isinstance(data, dict) else None
        return GatewayError(
            str(words or f"Tap answered HTTP {status}: {response.text[:300]}").strip(),
            code=f"http_{status}",
        )
    message = "; ".join(str(e.get("description") or e.get("message") or "") for e in items)
    first = str(items[0].get("code") or "").strip()
    return GatewayError(
        message.strip("; ") or f"Tap refused the request (HTTP {status})",
        code=f"tap_{first}" if first else f"http_{status}",
    )


def _object(response: httpx.Response) -> Mapping[str, Any]:
    try:
        return _decode(response.content)
    except ValueError as exc:
        raise GatewayError(
            f"Tap answered something other than a JSON object: {response.text[:200]}",
            code="bad_response",
        ) from exc
