"""Moyasar (Saudi Arabia): refunds, invoices as payment links, and webhooks.

Settings (an account's decrypted settings):

- ``secret_key`` (required): ``sk_live_…`` / ``sk_test_…``, sent as the HTTP Basic user name
  with an empty password, as Moyasar asks.
- ``webhook_secret`` (required for webhooks): the "Secret Token" entered when the webhook was
  added in the Moyasar dashboard; Moyasar puts it in every delivery's body.
- ``callback_url`` (optional): sent as an invoice's ``callback_url``.
- ``link_expiry_days`` (default 7): how long an invoice (payment link) can be paid.
- ``base_url`` (default ``https://api.moyasar.com/v1/``).

What Moyasar documents and this adapter relies on (https://docs.moyasar.com/):

- A refund is an action on the payment, not an object of its own: ``POST
  /v1/payments/{id}/refund`` with ``amount`` in the smallest unit (halalas), answered with
  the payment, whose ``refunded`` is the running total refunded and ``refunded_at`` the
  last refund's time. It is settled when answered: a refund here is SUCCEEDED or an error.
  The refund id this adapter gives is therefore ``<payment id>:<refunded before>:<after>``,
  which names one refund of the payment and lets :meth:`MoyasarGateway.fetch_refund` check it
  against the payment (``GET /v1/payments/{id}``).
- Moyasar documents no idempotency key for refunds (``given_id`` exists only for creating
  payments), so a refund is sent once, never retried blindly. The payment is read first;
  when the answer is lost (timeout, 5xx) it is read again: refunded total moved by exactly
  this amount → the refund went through (SUCCEEDED); unmoved → the original retryable error;
  moved by anything else → ``ambiguous_refund``, for a person.
- For the same reason :meth:`MoyasarGateway.find_refund` can only be sure when the payment
  shows nothing refunded (then no refund was made: None); otherwise a person decides
  (``ambiguous_refund``), because Moyasar keeps no per-refund record to match a key against.
- Errors: ``{"type", "message", "errors"}``; ``type`` becomes the GatewayError's code.
- Payment links: an invoice (``POST /v1/invoices``: ``amount``, ``currency``,
  ``description``, ``success_url``, ``callback_url``, ``expired_at``, ``metadata``); its
  ``url`` is the link. A payment of an invoice carries its ``invoice_id``, so a
  ``payment_paid`` webhook names the paid link.
- Webhooks (https://docs.moyasar.com/api/other/webhooks/webhook-reference): the body is
  ``{"id", "type", "created_at", "secret_token", "live", "data": <payment>}``. There is no
  signature: the secret token in the body is compared, in constant time, with the account's.
  A ``payment_refunded`` event carries only the payment's running total, so it names no
  refund of Awda's; the refund call's own answer already settled it.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

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
    card_last4,
)
from awda.payments.gateways.http import GatewayHttp

DEFAULT_BASE_URL = "https://api.moyasar.com/v1/"


class MoyasarGateway:
    code: ClassVar[str] = "moyasar"
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
        self.webhook_secret = str(settings.get("webhook_secret") or "")
        self.callback_url = str(settings.get("callback_url") or "").strip()
        self.link_expiry_days = int(settings.get("link_expiry_days") or 7)
        self._clock = clock
        self.http = GatewayHttp(
            base_url=str(settings.get("base_url") or DEFAULT_BASE_URL),
            gateway="Moyasar",
            refusal=_refusal,
            auth=(self.secret_key, ""),
            transport=transport,
            sleep=sleep,
        )

    # -- refunds --------------------------------------------------------------------------

    def refund(self, request: RefundRequest) -> RefundResult:
        self._require_key()
        if request.amount_minor <= 0:
            raise GatewayError("a refund must be of a positive amount", code="invalid_amount")
        payment = self._payment(request.payment_reference)
        currency = str(payment.get("currency") or "").upper()
        if currency != request.currency.upper():
            raise GatewayError(
                f"payment {request.payment_reference} is in {currency or 'no currency'},"
                f" not {request.currency.upper()}",
                code="currency_mismatch",
            )
        before = _refunded(payment)
        path = f"payments/{quote(request.payment_reference, safe='')}/refund"
        try:
            # No idempotency key: sent once (RemoteHttp never repeats an unkeyed write).
            answer = _object(self.http.request("POST", path, json={"amount": request.amount_minor}))
        except GatewayError as failed:
            if not failed.retryable:
                raise  # Moyasar said no
            return self._after_lost_answer(request, before, failed)
        return _result(answer, request.amount_minor)

    def _after_lost_answer(
        self, request: RefundRequest, before: int, failed: GatewayError
    ) -> RefundResult:
        """Whether a refund whose answer never came went through, read off the payment."""
        try:
            payment = self._payment(request.payment_reference)
        except GatewayError:
            raise failed from None  # still unknown: reconcile later
        after = _refunded(payment)
        if after == before + request.amount_minor:
            return _result(payment, request.amount_minor)
        if after == before:
            raise failed
        raise GatewayError(
            f"Moyasar's answer to a refund of {request.amount_minor} was lost, and the"
            f" payment's refunded total went from {before} to {after}; check payment"
            f" {request.payment_reference} in the Moyasar dashboard",
            code="ambiguous_refund",
        )

    def fetch_refund(self, *, refund_id: str) -> RefundResult:
        self._require_key()
        try:
            payment_id, before_text, after_text = refund_id.rsplit(":", 2)
            before, after = int(before_text), int(after_text)
        except ValueError:
            raise GatewayError(f"not a Moyasar refund id: {refund_id}", code="not_found") from None
        payment = self._payment(payment_id)
        refunded = _refunded(payment)
        if refunded >= after:
            found = _result(payment, after - before, refund_id=refund_id)
            # refunded_at is the latest refund's time: this one's only if none came after.
            return found if refunded == after else dataclasses.replace(found, created_at=None)
        # Refunded totals only grow; one below this refund's means it is not there.
        return RefundResult(
            refund_id=refund_id,
            status=RefundStatus.FAILED,
            amount_minor=after - before,
            currency=str(payment.get("currency") or "").upper(),
            payment_reference=payment_id,
            failure_message=f"Moyasar shows {refunded} refunded on the payment, not {after}",
            raw=_summary(payment),
        )

    def find_refund(self, *, payment_reference: str, idempotency_key: str) -> RefundResult | None:
        self._require_key()
        payment = self._payment(payment_reference)
        refunded = _refunded(payment)
        if refunded == 0:
            return None
        raise GatewayError(
            f"Moyasar shows {refunded} refunded on payment {payment_reference} and keeps no"
            f" record of which request made it; whether attempt {idempotency_key} is among"
            " it must be checked in the Moyasar dashboard",
            code="ambiguous_refund",
        )

    def _payment(self, payment_id: str) -> Mapping[str, Any]:
        return _object(self.http.request("GET", f"payments/{quote(payment_id, safe='')}"))

    # -- payment links --------------------------------------------------------------------

    def create_payment_link(self, request: PaymentLinkRequest) -> PaymentLink:
        self._require_key()
        if request.amount_minor <= 0:
            raise GatewayError(
                "a payment link must be for a positive amount", code="invalid_amount"
            )
        expires = datetime.fromtimestamp(self._clock(), UTC) + timedelta(days=self.link_expiry_days)
        body: dict[str, Any] = {
            "amount": request.amount_minor,
            "currency": request.currency.upper(),
            "description": request.description or request.reference,
            "expired_at": expires.isoformat().replace("+00:00", "Z"),
            "metadata": {"awda_reference": request.reference},
        }
        if request.idempotency_key:
            body["metadata"]["awda_idempotency_key"] = request.idempotency_key
        if request.success_url:
            body["success_url"] = request.success_url
        if self.callback_url:
            body["callback_url"] = self.callback_url
        invoice = _object(self.http.request("POST", "invoices", json=body))
        link_id, url = str(invoice.get("id") or ""), str(invoice.get("url") or "")
        if not link_id or not url:
            raise GatewayError(
                "Moyasar answered an invoice without an id or url", code="bad_response"
            )
        return PaymentLink(
            link_id=link_id,
            url=url,
            raw={"status": invoice.get("status"), "expired_at": invoice.get("expired_at")},
        )

    # -- webhooks -------------------------------------------------------------------------

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes) -> None:
        if not self.webhook_secret:
            raise WebhookRejected("no webhook secret is set for this account")
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise WebhookRejected("body is not a JSON object; nothing to check")
        token = data.get("secret_token")
        if not isinstance(token, str) or not token:
            raise WebhookRejected("missing secret_token")
        if not hmac.compare_digest(
            token.encode("utf-8", "surrogatepass"), self.webhook_secret.encode()
        ):
            raise WebhookRejected("secret token does not match")

    def parse_webhook(self, *, body: bytes) -> GatewayEvent:
        try:
            event = json.loads(body)
        except ValueError as exc:
            raise MalformedWebhook(f"Moyasar event is not JSON: {exc}") from exc
        if not isinstance(event, dict):
            raise MalformedWebhook("Moyasar event is not an object")
        event_id, kind, payment = event.get("id"), event.get("type"), event.get("data")
        if not isinstance(event_id, str) or not event_id or not isinstance(kind, str) or not kind:
            raise MalformedWebhook("Moyasar event has no id or type")
        if not isinstance(payment, dict) or not payment.get("id"):
            raise MalformedWebhook("Moyasar event has no payment in data")
        invoice_id = payment.get("invoice_id")
        if kind == "payment_paid" and isinstance(invoice_id, str) and invoice_id:
            source = payment.get("source")
            return GatewayEvent(
                event_id=event_id,
                kind=kind,
                paid_link_id=invoice_id,
                paid_card_last4=card_last4(source.get("number"))
                if isinstance(source, dict)
                else "",
            )
        return GatewayEvent(event_id=event_id, kind=kind)

    def close(self) -> None:
        self.http.close()

    def _require_key(self) -> None:
        if not self.secret_key:
            raise GatewayError(
                "no Moyasar secret key is set for this account", code="not_configured"
            )


def _result(payment: Mapping[str, Any], amount: int, *, refund_id: str = "") -> RefundResult:
    """The refund of ``amount`` that brought ``payment`` to its refunded total."""
    payment_id = str(payment.get("id") or "")
    after = _refunded(payment)
    if not payment_id or after < amount:
        raise GatewayError(
            "Moyasar answered a refund its payment does not show", code="bad_response"
        )
    return RefundResult(
        refund_id=refund_id or f"{payment_id}:{after - amount}:{after}",
        status=RefundStatus.SUCCEEDED,
        amount_minor=amount,
        currency=str(payment.get("currency") or "").upper(),
        payment_reference=payment_id,
        created_at=_moment(payment.get("refunded_at")),
        raw=_summary(payment),
    )


def _refunded(payment: Mapping[str, Any]) -> int:
    value = payment.get("refunded", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise GatewayError(
            f"Moyasar answered an unreadable refunded total: {value!r}", code="bad_response"
        )
    return value


def _summary(payment: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("id", "status", "amount", "currency", "refunded", "refunded_at", "invoice_id")
    return {key: payment.get(key) for key in keys}


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _refusal(response: httpx.Response) -> GatewayError:
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict) or not (data.get("message") or data.get("type")):
        return GatewayError(
            f"Moyasar answered HTTP {status}: {response.text[:300]}".strip(),
            code=f"http_{status}",
        )
    message = str(data.get("message") or f"Moyasar refused the request (HTTP {status})")
    details = data.get("errors")
    if isinstance(details, dict) and details:
        message += " (" + "; ".join(f"{k}: {_words(v)}" for k, v in details.items()) + ")"
    return GatewayError(message, code=str(data.get("type") or f"http_{status}"))


def _words(value: object) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _object(response: httpx.Response) -> Mapping[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise GatewayError(
            f"Moyasar answered something other than JSON: {response.text[:200]}",
            code="bad_response",
        ) from exc
    if not isinstance(data, dict):
        raise GatewayError("Moyasar answered something other than an object", code="bad_response")
    return data
