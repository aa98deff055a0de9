"""Stripe: refunds, Checkout Sessions as payment links, and signed webhooks (REST API v1).

Settings (an account's decrypted settings):

- ``secret_key`` (required for API calls): ``sk_live_…`` / ``sk_test_…`` or a restricted key
  with refund and Checkout write access; sent as a Bearer token.
- ``webhook_secret`` (required for webhooks): the endpoint's signing secret, ``whsec_…``.
- ``tolerance_seconds`` (default 300, Stripe's own default): how old a signed timestamp may be.
- ``success_url`` (optional): where Checkout sends the shopper after paying, when the
  payment link request names none.
- ``api_version`` (optional): pinned as ``Stripe-Version``; the account's default otherwise.
- ``base_url`` (default ``https://api.stripe.com/``).

What Stripe documents and this adapter relies on:

- Refunds (https://docs.stripe.com/api/refunds/create): ``POST /v1/refunds``, form-encoded,
  naming the payment as ``payment_intent`` (a ``pi_…`` reference) or ``charge`` (``ch_…``,
  ``py_…``); ``amount`` in the currency's smallest unit; ``metadata[…]``. The attempt's
  idempotency key is sent as ``Idempotency-Key`` (https://docs.stripe.com/api/idempotent_requests):
  Stripe answers a repeat with the first answer, so the create is retried like a read, and
  it is also kept as ``metadata[awda_idempotency_key]`` so :meth:`find_refund` can recognise
  the refund in ``GET /v1/refunds?payment_intent=…`` (or ``charge=…``) once Stripe's
  24-hour key memory has gone.
- Amounts (https://docs.stripe.com/currencies): Stripe's smallest unit is not always ISO's.
  Zero-decimal currencies (JPY, KRW, …) are sent as is; BHD, JOD, KWD, OMR and TND are sent
  in thousandths but must end in 0 ("round amounts to the nearest ten"); every other
  currency is sent in hundredths, including ISK, which ISO gives no decimals. A refund Stripe
  can't take exactly (KWD 1.235) is refused here with ``code="amount_not_supported"`` rather
  than rounded: moving a different amount than was decided is not this adapter's call.
- Refund statuses (https://docs.stripe.com/api/refunds/object#refund_object-status): see
  ``STATUS_MAP``; ``failure_reason`` is kept as the failure message.
- Errors (https://docs.stripe.com/api/errors): ``{"error": {"type", "code", "message"}}``;
  the error carries Stripe's ``code`` (``charge_already_refunded``, ``amount_too_large``) and
  ``message``. 409 (another request with the same key still in flight) may be retried.
- Payment links: Stripe Payment Links need a Price (and so a Product) per amount and never
  expire; a Checkout Session (https://docs.stripe.com/api/checkout/sessions/create,
  ``mode=payment`` with inline ``price_data``) needs neither and expires after 24 hours, which
  suits a one-off price difference. The link id is the session id (``cs_…``).
- Webhooks (https://docs.stripe.com/webhooks#verify-manually): ``Stripe-Signature:
  t=<unix>,v1=<hex>[,v1=…]``, each v1 an HMAC-SHA256 of ``"<t>.<raw body>"`` keyed with the
  endpoint secret; any v1 may match (during a secret roll Stripe signs with both).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
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

DEFAULT_BASE_URL = "https://api.stripe.com/"
SIGNATURE_HEADER = "stripe-signature"
KEY_METADATA = "awda_idempotency_key"
LIST_PAGE_SIZE = 100
LIST_MAX_PAGES = 10

# https://docs.stripe.com/currencies#zero-decimal and #three-decimal
ZERO_DECIMAL = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
        "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    }
)  # fmt: skip
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

# A status Stripe may add later reads as PENDING: nothing is concluded from a word we
# don't know, and the refund is looked at again.
STATUS_MAP: Mapping[str, RefundStatus] = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELLED,
}
REFUND_EVENTS = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
)


def status_for(status: str) -> RefundStatus:
    return STATUS_MAP.get(status.strip().lower(), RefundStatus.PENDING)


def stripe_exponent(currency: str) -> int:
    """Digits of Stripe's smallest unit for ``currency`` (which is not always ISO's)."""
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def to_stripe_amount(amount_minor: int, currency: str) -> int:
    """Awda's minor units as Stripe's, exactly, or a GatewayError saying why it can't be."""
    code = currency.upper()
    try:
        shift = stripe_exponent(code) - exponent(code)
    except ValueError as exc:
        raise GatewayError(str(exc), code="unknown_currency") from exc
    if shift >= 0:
        amount = amount_minor * 10**shift
    elif amount_minor % 10**-shift:
        raise GatewayError(
            f"Stripe takes {code} in whole units; {amount_minor} minor units is not one",
            code="amount_not_supported",
        )
    else:
        amount = amount_minor // 10**-shift
    if code in THREE_DECIMAL and amount % 10:
        raise GatewayError(
            f"Stripe only moves {code} in multiples of 10 of its smallest unit (an amount"
            f" ending in 0); {amount} can't be refunded or charged exactly through Stripe",
            code="amount_not_supported",
        )
    return amount


def from_stripe_amount(amount: object, currency: str) -> int:
    """Stripe's amount as Awda's minor units; ValueError if it isn't a whole number of them."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValueError(f"not an integer amount: {amount!r}")
    code = currency.upper()
    shift = exponent(code) - stripe_exponent(code)
    if shift >= 0:
        return amount * 10**shift
    if amount % 10**-shift:
        raise ValueError(f"{amount} (Stripe's unit) is not a whole number of {code} minor units")
    return amount // 10**-shift


def refund_result(refund: Mapping[str, Any]) -> RefundResult:
    """A Stripe Refund object, read; ValueError (or KeyError/TypeError) if it can't be."""
    refund_id = refund["id"]
    if not isinstance(refund_id, str) or not refund_id:
        raise ValueError("refund has no id")
    currency = str(refund["currency"]).upper()
    status = status_for(str(refund.get("status") or ""))
    created = refund.get("created")
    return RefundResult(
        refund_id=refund_id,
        status=status,
        amount_minor=from_stripe_amount(refund["amount"], currency),
        currency=currency,
        payment_reference=_id(refund.get("payment_intent")) or _id(refund.get("charge")),
        failure_message=(
            str(refund.get("failure_reason") or "failed") if status == RefundStatus.FAILED else ""
        ),
        created_at=(
            datetime.fromtimestamp(created, UTC)
            if isinstance(created, int) and not isinstance(created, bool)
            else None
        ),
        raw=dict(refund),
    )


class StripeGateway:
    code: ClassVar[str] = "stripe"
    supports_payment_links: ClassVar[bool] = True

    def __init__(
        self,
        settings: Mapping[str, str],
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **_ignored: Any,
    ) -> None:
        self.secret_key = str(settings.get("secret_key") or "").strip()
        self.webhook_secret = str(settings.get("webhook_secret") or "").strip()
        self.tolerance = int(settings.get("tolerance_seconds") or 300)
        self.success_url = str(settings.get("success_url") or "").strip()
        headers = {"Authorization": f"Bearer {self.secret_key}"}
        api_version = str(settings.get("api_version") or "").strip()
        if api_version:
            headers["Stripe-Version"] = api_version
        self.http = GatewayHttp(
            base_url=str(settings.get("base_url") or DEFAULT_BASE_URL),
            gateway="Stripe",
            refusal=_refusal,
            headers=headers,
            transport=transport,
            sleep=sleep,
        )

    # -- refunds --------------------------------------------------------------------------

    def refund(self, request: RefundRequest) -> RefundResult:
        self._require_key()
        if request.amount_minor <= 0:
            raise GatewayError("a refund must be of a positive amount", code="invalid_amount")
        if not request.idempotency_key:
            raise GatewayError("a refund needs an idempotency key", code="invalid_request")
        form: dict[str, str] = {
            _target(request.payment_reference): request.payment_reference,
            "amount": str(to_stripe_amount(request.amount_minor, request.currency)),
            # Stripe's reason is a closed list; the merchant's words go in the metadata.
            "reason": "requested_by_customer",
        }
        for key, value in request.metadata.items():
            form[f"metadata[{key}]"] = str(value)[:500]
        if request.reason:
            form["metadata[awda_reason]"] = request.reason[:500]
        form[f"metadata[{KEY_METADATA}]"] = request.idempotency_key
        response = self.http.request(
            "POST", "v1/refunds", data=form, idempotency_key=request.idempotency_key
        )
        return self._read_refund(_object(response))

    def fetch_refund(self, *, refund_id: str) -> RefundResult:
        self._require_key()
        response = self.http.request("GET", f"v1/refunds/{quote(refund_id, safe='')}")
        return self._read_refund(_object(response))

    def find_refund(self, *, payment_reference: str, idempotency_key: str) -> RefundResult | None:
        """The refund whose ``metadata[awda_idempotency_key]`` is this key, newest first."""
        self._require_key()
        params = {_target(payment_reference): payment_reference, "limit": str(LIST_PAGE_SIZE)}
        for _page in range(LIST_MAX_PAGES):
            listed = _object(self.http.request("GET", "v1/refunds", params=params))
            refunds = [r for r in listed.get("data") or [] if isinstance(r, dict)]
            for refund in refunds:
                metadata = refund.get("metadata")
                if isinstance(metadata, dict) and metadata.get(KEY_METADATA) == idempotency_key:
                    return self._read_refund(refund)
            if not listed.get("has_more") or not refunds:
                return None
            params["starting_after"] = str(refunds[-1].get("id") or "")
        # Saying "not found" without having looked everywhere could refund twice.
        raise GatewayError(
            f"{payment_reference} has more than {LIST_PAGE_SIZE * LIST_MAX_PAGES} refunds;"
            " look for this one in the Stripe dashboard",
            code="search_exhausted",
        )

    def _read_refund(self, refund: Mapping[str, Any]) -> RefundResult:
        try:
            return refund_result(refund)
        except (ValueError, TypeError, KeyError) as exc:
            raise GatewayError(f"unreadable Stripe refund: {exc}", code="bad_response") from exc

    # -- payment links --------------------------------------------------------------------

    def create_payment_link(self, request: PaymentLinkRequest) -> PaymentLink:
        """A Checkout Session for the amount (see the module docstring for why)."""
        self._require_key()
        if request.amount_minor <= 0:
            raise GatewayError(
                "a payment link must be for a positive amount", code="invalid_amount"
            )
        form = {
            "mode": "payment",
            "line_items[0][quantity]": "1",
            "line_items[0][price_data][currency]": request.currency.lower(),
            "line_items[0][price_data][unit_amount]": str(
                to_stripe_amount(request.amount_minor, request.currency)
            ),
            "line_items[0][price_data][product_data][name]": (
                request.description or request.reference
            ),
            "client_reference_id": request.reference,
            "metadata[awda_reference]": request.reference,
            "payment_intent_data[metadata][awda_reference]": request.reference,
        }
        success_url = request.success_url or self.success_url
        if success_url:
            form["success_url"] = success_url
        if request.customer_email:
            form["customer_email"] = request.customer_email
        response = self.http.request(
            "POST",
            "v1/checkout/sessions",
            data=form,
            idempotency_key=request.idempotency_key,
        )
        session = _object(response)
        link_id, url = str(session.get("id") or ""), str(session.get("url") or "")
        if not link_id or not url:
            raise GatewayError(
                "Stripe answered a session without an id or url", code="bad_response"
            )
        return PaymentLink(
            link_id=link_id,
            url=url,
            raw={"expires_at": session.get("expires_at"), "status": session.get("status")},
        )

    # -- webhooks -------------------------------------------------------------------------

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, now: float | None = None
    ) -> None:
        if not self.webhook_secret:
            raise WebhookRejected("no webhook secret is set for this account")
        stamp, signatures = "", []
        for part in headers.get(SIGNATURE_HEADER, "").split(","):
            key, _, value = part.strip().partition("=")
            if key == "t":
                stamp = value
            elif key == "v1" and value:
                signatures.append(value)
        if not (stamp.isascii() and stamp.isdigit()) or not signatures:
            raise WebhookRejected("missing or malformed signature header")
        age = (now if now is not None else time.time()) - int(stamp)
        if abs(age) > self.tolerance:
            raise WebhookRejected("signature timestamp outside the tolerance")
        expected = hmac.new(
            self.webhook_secret.encode(), stamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        if not any(hmac.compare_digest(expected.encode(), _bytes(s)) for s in signatures):
            raise WebhookRejected("signature does not match")

    def parse_webhook(self, *, body: bytes) -> GatewayEvent:
        try:
            event = json.loads(body)
        except ValueError as exc:
            raise MalformedWebhook(f"Stripe event is not JSON: {exc}") from exc
        if not isinstance(event, dict):
            raise MalformedWebhook("Stripe event is not an object")
        event_id, kind = event.get("id"), event.get("type")
        if not isinstance(event_id, str) or not event_id or not isinstance(kind, str):
            raise MalformedWebhook("Stripe event has no id or type")
        data = event.get("data")
        subject = data.get("object") if isinstance(data, dict) else None
        if not isinstance(subject, dict):
            raise MalformedWebhook("Stripe event has no data.object")
        try:
            if kind in REFUND_EVENTS:
                return GatewayEvent(event_id=event_id, kind=kind, refund=refund_result(subject))
            if kind == "charge.refunded":
                return GatewayEvent(event_id=event_id, kind=kind, refund=_latest_refund(subject))
        except (ValueError, TypeError, KeyError) as exc:
            raise MalformedWebhook(f"unreadable Stripe refund: {exc}") from exc
        if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
            # A completed session paid by a delayed method (bank debit) is not paid yet;
            # its async_payment_succeeded event follows.
            paid = kind.endswith("succeeded") or subject.get("payment_status") in (
                "paid",
                "no_payment_required",
            )
            link_id = str(subject.get("id") or "")
            if not link_id:
                raise MalformedWebhook("Stripe checkout session has no id")
            return GatewayEvent(event_id=event_id, kind=kind, paid_link_id=link_id if paid else "")
        return GatewayEvent(event_id=event_id, kind=kind)

    def close(self) -> None:
        self.http.close()

    def _require_key(self) -> None:
        if not self.secret_key:
            raise GatewayError(
                "no Stripe secret key is set for this account", code="not_configured"
            )


def _target(payment_reference: str) -> str:
    """The refund parameter naming the payment: PaymentIntents are ``pi_…``, charges the rest."""
    return "payment_intent" if payment_reference.startswith("pi_") else "charge"


def _latest_refund(charge: Mapping[str, Any]) -> RefundResult | None:
    # Since API version 2022-11-15 a Charge no longer embeds its refunds unless expanded;
    # without them the event only says "something was refunded" and the services fetch.
    refunds = charge.get("refunds")
    listed = refunds.get("data") if isinstance(refunds, dict) else None
    items = [r for r in listed or [] if isinstance(r, dict)]
    if not items:
        return None
    latest = max(items, key=lambda r: (int(r.get("created") or 0), str(r.get("id") or "")))
    return refund_result(latest)


def _bytes(text: str) -> bytes:
    # Header values may hold any character; compare_digest takes only ASCII str.
    return text.encode("utf-8", "surrogatepass")


def _id(value: object) -> str:
    if isinstance(value, dict):  # an expanded object
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _refusal(response: httpx.Response) -> GatewayError:
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return GatewayError(
            f"Stripe answered HTTP {status}: {response.text[:300]}".strip(), code=f"http_{status}"
        )
    return GatewayError(
        str(error.get("message") or f"Stripe refused the request (HTTP {status})"),
        code=str(error.get("code") or error.get("type") or f"http_{status}"),
        # 409: a request with the same idempotency key is still being processed.
        retryable=status == 409,
    )


def _object(response: httpx.Response) -> Mapping[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise GatewayError(
            f"Stripe answered something other than JSON: {response.text[:200]}",
            code="bad_response",
        ) from exc
    if not isinstance(data, dict):
        raise GatewayError("Stripe answered something other than an object", code="bad_response")
    return data
