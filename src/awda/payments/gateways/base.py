"""The one interface every payment gateway adapter speaks (DESIGN.md §6).

Adapters are plain classes built from a merchant's decrypted gateway settings; they import
nothing from Django, so each is tested against recorded responses alone, and their HTTP goes
through ``awda.core.http.RemoteHttp`` (timeouts, retries, idempotency keys). The payments
services own the database: they call an adapter outside any transaction and record what it
answered, and they reconcile a refund whose outcome is unknown (a crash or timeout after the
call) with :meth:`Gateway.find_refund` before ever asking for it again.

Amounts are integer minor units of ``currency`` (SAR 2 decimals, KWD 3, JPY 0), converted
to what each gateway expects (Stripe and Moyasar take minor units, Tap a decimal string) by
the adapter, exactly, never through a float.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol


class RefundStatus(enum.StrEnum):
    PENDING = "pending"  # accepted, money not yet moved (some gateways settle later)
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # refused or reversed; ``failure_message`` says why
    CANCELLED = "cancelled"


class GatewayError(Exception):
    """The gateway refused or failed a call; ``message`` is the gateway's own words.

    ``retryable``: timeouts, connection errors, 429 and 5xx that survived the adapter's own
    retries — the outcome is unknown or temporary, so reconcile (``find_refund``) and try
    again later. Not retryable: the gateway said no (e.g. amount above what is refundable,
    payment not captured); the resolution goes to review with this message.
    """

    def __init__(
        self, message: str, *, code: str = "gateway_error", retryable: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable


class WebhookRejected(Exception):
    """An inbound webhook failed verification; nothing of it may be stored (answer 401)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedWebhook(Exception):
    """A verified webhook whose body can't be read (answer 400)."""


@dataclass(frozen=True, slots=True)
class RefundRequest:
    payment_reference: str  # the gateway's id of the original payment (pi_…, chg_…, a uuid)
    amount_minor: int
    currency: str
    # Sent to the gateway (header or metadata) so a repeated call makes one refund, and used
    # by find_refund to recognise it: one key per resolution attempt, never reused for
    # another amount.
    idempotency_key: str
    reason: str = ""  # free text for the merchant's gateway dashboard
    metadata: Mapping[str, str] = field(default_factory=dict)  # return number, resolution id


@dataclass(frozen=True, slots=True)
class RefundResult:
    refund_id: str
    status: RefundStatus
    amount_minor: int
    currency: str
    payment_reference: str = ""
    failure_message: str = ""
    created_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PaymentLinkRequest:
    """Ask the shopper to pay a price difference (an exchange for a dearer item)."""

    amount_minor: int
    currency: str
    description: str
    reference: str  # the return number or exchange id
    customer_email: str = ""
    customer_phone: str = ""
    success_url: str = ""
    idempotency_key: str = ""


@dataclass(frozen=True, slots=True)
class PaymentLink:
    link_id: str
    url: str
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GatewayEvent:
    """A verified webhook, read: its id for deduplication and what it says."""

    event_id: str
    kind: str  # the gateway's event type, e.g. "charge.refunded", "refund.updated"
    refund: RefundResult | None = None  # a refund's new state, when the event is about one
    paid_link_id: str = ""  # a payment link that was paid, when the event is about one
    paid_card_last4: str = ""  # the card that paid it, when the gateway says


def card_last4(masked: object) -> str:
    """The last four digits of a masked card number as a gateway shows it
    ("4111-11XX-XXXX-1111"), or "" when it shows none."""
    if not isinstance(masked, str) or not masked[-4:].isdigit():
        return ""
    return masked[-4:]


class Gateway(Protocol):
    """What every adapter implements. ``settings`` holds the account's decrypted
    credentials and options; each adapter documents the keys it reads."""

    code: ClassVar[str]  # "sandbox", "stripe", "tap", "moyasar"
    supports_payment_links: ClassVar[bool]

    def refund(self, request: RefundRequest) -> RefundResult: ...

    def fetch_refund(self, *, refund_id: str) -> RefundResult: ...

    def find_refund(self, *, payment_reference: str, idempotency_key: str) -> RefundResult | None:
        """The refund an earlier call with this key made, if the gateway has it (used after a
        crash or timeout between the call and our commit), else None."""
        ...

    def create_payment_link(self, request: PaymentLinkRequest) -> PaymentLink: ...

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes) -> None:
        """Raise :class:`WebhookRejected` unless signed by this account (lower-case headers)."""
        ...

    def parse_webhook(self, *, body: bytes) -> GatewayEvent: ...

    def close(self) -> None: ...
