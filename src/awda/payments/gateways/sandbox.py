"""The ``sandbox`` gateway: offline and deterministic, for demos, development and tests.

It answers like a real gateway without a network. A refund succeeds at once with an id
derived from its idempotency key, so a repeated call returns the same refund, as Stripe
does; the same key with another amount is refused, as Stripe does too.

What the payment reference (or the ``refund_outcome`` setting, for every payment of the
account) asks for, so the payments services can be tested against each outcome:

- ``pay_fail…`` (``refund_outcome=fail``): refused, ``GatewayError(code="card_declined")``,
  not retryable; nothing is refunded.
- ``pay_timeout…`` (``timeout``): the refund is made, then the call fails as if the answer
  were lost (``code="unreachable"``, retryable). :meth:`SandboxGateway.find_refund` finds
  it, and repeating the call with the same key returns it, as Stripe replays an idempotent
  answer. This is how crash and timeout reconciliation is exercised.
- ``pay_pending…`` (``pending``): accepted as PENDING; :meth:`SandboxGateway.settle_refund`
  moves it on, and :meth:`SandboxGateway.build_webhook` tells the app, as a real gateway's
  ``refund.updated`` would.
- anything else (``succeeded``, the default): SUCCEEDED at once.

State: refunds live in a dict at module level, keyed by (payment reference, idempotency
key), shared by every sandbox account of the process and lost when it exits. That is what
lets ``find_refund`` answer after the adapter instance that made the refund is gone (a
fresh instance is built per call); it does not survive a restart, which a sandbox need not.
:func:`reset_sandbox` empties it (tests).

Payment links: ``https://sandbox.awda.invalid/pay/<id>`` (``.invalid`` never resolves).

Webhooks are signed like the sandbox carrier's and like Stripe's:
``X-Sandbox-Signature: t=<unix time>,v1=<HMAC-SHA256 hex of "<t>.<body>">``.

Settings: ``webhook_secret`` (required for webhooks), ``tolerance_seconds`` (how old a signed
timestamp may be; default 300), ``refund_outcome`` (see above; default: by reference).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

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

SIGNATURE_HEADER = "x-sandbox-signature"
LINK_BASE_URL = "https://sandbox.awda.invalid/pay/"
OUTCOMES = frozenset({"succeeded", "pending", "fail", "timeout"})

_lock = threading.Lock()
_refunds: dict[tuple[str, str], RefundResult] = {}


def reset_sandbox() -> None:
    """Forget every sandbox refund of this process."""
    with _lock:
        _refunds.clear()


def refund_id_for(payment_reference: str, idempotency_key: str) -> str:
    """The sandbox's refund id for a key: the same key always names the same refund."""
    digest = hashlib.sha256(f"{payment_reference}\n{idempotency_key}".encode()).hexdigest()
    return "sbx_re_" + digest[:24]


class SandboxGateway:
    code: ClassVar[str] = "sandbox"
    supports_payment_links: ClassVar[bool] = True

    def __init__(self, settings: Mapping[str, str], **_ignored: Any) -> None:
        self.secret = str(settings.get("webhook_secret") or "")
        self.tolerance = int(settings.get("tolerance_seconds") or 300)
        outcome = str(settings.get("refund_outcome") or "").strip().lower()
        if outcome and outcome not in OUTCOMES:
            raise GatewayError(
                f"refund_outcome must be one of {sorted(OUTCOMES)}, not {outcome!r}",
                code="not_configured",
            )
        self.outcome = outcome

    # -- refunds --------------------------------------------------------------------------

    def refund(self, request: RefundRequest) -> RefundResult:
        if request.amount_minor <= 0:
            raise GatewayError("a refund must be of a positive amount", code="invalid_amount")
        slot = (request.payment_reference, request.idempotency_key)
        outcome = self._outcome(request.payment_reference)
        with _lock:
            earlier = _refunds.get(slot)
            if earlier is not None:
                if (earlier.amount_minor, earlier.currency) != (
                    request.amount_minor,
                    request.currency,
                ):
                    raise GatewayError(
                        "This idempotency key was already used for a refund of another amount",
                        code="idempotency_error",
                    )
                return earlier
            if outcome == "fail":
                raise GatewayError(
                    "The card issuer declined the refund (sandbox)", code="card_declined"
                )
            result = RefundResult(
                refund_id=refund_id_for(*slot),
                status=RefundStatus.PENDING if outcome == "pending" else RefundStatus.SUCCEEDED,
                amount_minor=request.amount_minor,
                currency=request.currency,
                payment_reference=request.payment_reference,
                created_at=datetime.now(UTC),
                raw={"idempotency_key": request.idempotency_key, **request.metadata},
            )
            _refunds[slot] = result
        if outcome == "timeout":
            # The refund is made; only its answer is lost.
            raise GatewayError(
                "Sandbox did not answer: the refund was made but its answer was lost",
                code="unreachable",
                retryable=True,
            )
        return result

    def fetch_refund(self, *, refund_id: str) -> RefundResult:
        with _lock:
            for result in _refunds.values():
                if result.refund_id == refund_id:
                    return result
        raise GatewayError(f"No such refund: {refund_id}", code="not_found")

    def find_refund(self, *, payment_reference: str, idempotency_key: str) -> RefundResult | None:
        with _lock:
            return _refunds.get((payment_reference, idempotency_key))

    def settle_refund(
        self, *, refund_id: str, status: RefundStatus, failure_message: str = ""
    ) -> RefundResult:
        """Move a sandbox refund to ``status`` (what a real gateway does on its own)."""
        with _lock:
            for slot, result in _refunds.items():
                if result.refund_id == refund_id:
                    settled = dataclasses.replace(
                        result, status=status, failure_message=failure_message
                    )
                    _refunds[slot] = settled
                    return settled
        raise GatewayError(f"No such refund: {refund_id}", code="not_found")

    def _outcome(self, payment_reference: str) -> str:
        if self.outcome:
            return self.outcome
        for outcome in ("fail", "timeout", "pending"):
            if payment_reference.startswith(f"pay_{outcome}"):
                return outcome
        return "succeeded"

    # -- payment links --------------------------------------------------------------------

    def create_payment_link(self, request: PaymentLinkRequest) -> PaymentLink:
        if request.amount_minor <= 0:
            raise GatewayError(
                "a payment link must be for a positive amount", code="invalid_amount"
            )
        seed = request.idempotency_key or (
            f"{request.reference}\n{request.amount_minor}\n{request.currency}"
        )
        link_id = "sbx_link_" + hashlib.sha256(seed.encode()).hexdigest()[:20]
        return PaymentLink(
            link_id=link_id,
            url=LINK_BASE_URL + link_id,
            raw={
                "reference": request.reference,
                "amount_minor": request.amount_minor,
                "currency": request.currency,
            },
        )

    # -- webhooks -------------------------------------------------------------------------

    def build_webhook(
        self,
        *,
        refund: RefundResult | None = None,
        paid_link_id: str = "",
        paid_card_last4: str = "",
        now: float | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """The headers and body the sandbox would POST about a refund or a paid link (and
        the card that paid it)."""
        if (refund is None) == (not paid_link_id):
            raise ValueError("a sandbox webhook is about one refund or one paid link")
        payload: dict[str, Any]
        if refund is not None:
            payload = {
                "type": "refund.updated",
                "refund": {
                    "id": refund.refund_id,
                    "status": str(refund.status),
                    "amount_minor": refund.amount_minor,
                    "currency": refund.currency,
                    "payment_reference": refund.payment_reference,
                    "failure_message": refund.failure_message,
                },
            }
        else:
            payload = {"type": "payment_link.paid", "link_id": paid_link_id}
            if paid_card_last4:
                payload["card_last4"] = paid_card_last4
        # The same fact always gets the same event id, as a redelivery would.
        fact = json.dumps(payload, sort_keys=True).encode()
        payload = {"id": "sbx_evt_" + hashlib.sha256(fact).hexdigest()[:24], **payload}
        body = json.dumps(payload, separators=(",", ":")).encode()
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
        if not (stamp.isascii() and stamp.isdigit()) or not signature:
            raise WebhookRejected("missing or malformed signature header")
        age = (now if now is not None else time.time()) - int(stamp)
        if abs(age) > self.tolerance:
            raise WebhookRejected("signature timestamp outside the tolerance")
        # Header values may hold any character; compare_digest takes only ASCII str.
        if not hmac.compare_digest(
            self._sign(stamp, body).encode(), signature.encode("utf-8", "surrogatepass")
        ):
            raise WebhookRejected("signature does not match")

    def parse_webhook(self, *, body: bytes) -> GatewayEvent:
        try:
            data = json.loads(body)
            event_id, kind = str(data["id"]), str(data["type"])
            if kind == "payment_link.paid":
                return GatewayEvent(
                    event_id=event_id,
                    kind=kind,
                    paid_link_id=str(data["link_id"]),
                    paid_card_last4=card_last4(data.get("card_last4")),
                )
            if kind != "refund.updated":
                return GatewayEvent(event_id=event_id, kind=kind)
            refund = data["refund"]
            return GatewayEvent(
                event_id=event_id,
                kind=kind,
                refund=RefundResult(
                    refund_id=str(refund["id"]),
                    status=RefundStatus(refund["status"]),
                    amount_minor=_int(refund["amount_minor"]),
                    currency=str(refund["currency"]),
                    payment_reference=str(refund.get("payment_reference", "")),
                    failure_message=str(refund.get("failure_message", "")),
                    raw=refund,
                ),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise MalformedWebhook(f"unreadable sandbox event: {exc}") from exc

    def close(self) -> None:
        return None


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"not an integer amount: {value!r}")
    return value
