"""Exchange use cases: hold stock, issue the replacement, settle the price difference.

The life of an exchange, driven by its return (``returns.services`` calls these in its own
transactions, with the return row locked, and refers to it by id and number):

- ``open_exchange`` — the return is requested: the new variants' units are reserved
  (``catalog.reserve_stock``, rows locked in primary-key order; the database refuses more
  than is on hand) and the policy's terms are written down. Out of stock is an error on the
  item's ``exchange_sku``, and the return is not created.
- ``release_exchange`` — the return is rejected, cancelled or expires: reserved units go
  back on offer. An exchange already shipped whose items now never come back is charged
  by payment link for their value, or sent to review where it can't be (cash on delivery).
- ``issue_exchange`` — the refund timing came (or the approval, for an instant exchange):
  the replacement order is created once (``orders.create_replacement_order``) and the
  price difference settled once, by key: a payment link (the replacement held until paid),
  cash collected on delivery, a refund, a bank transfer or store credit.
- ``record_originals`` — the warehouse has the parcel: items missing or wrong after their
  replacement shipped are charged or reviewed as above.
- ``send_payment_link`` / ``mark_exchange_paid`` — the gateway side of a link (outside any
  transaction), and its payment, which releases a held replacement.

Each step is exactly once: the exchange row is locked and its status compared before
anything moves, and every money call carries its own idempotency key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from awda.catalog.errors import OutOfStock
from awda.catalog.models import Variant
from awda.catalog.services import StockTake, consume_stock, release_stock, reserve_stock
from awda.core import clock
from awda.core.db import lock_keys
from awda.core.errors import DomainError, InvalidInput
from awda.core.money import Money
from awda.core.outbox import record_event
from awda.exchanges.models import (
    DifferenceHandling,
    Exchange,
    ExchangeLine,
    ExchangePayment,
    ExchangeStatus,
    Originals,
    PaymentPurpose,
    PaymentStatus,
    ReservationStatus,
    StockReservation,
    UnreturnedAction,
)
from awda.merchants.models import Merchant
from awda.orders.models import PaymentMethod
from awda.orders.services import (
    PaymentData,
    ReplacementLine,
    cancel_replacement_order,
    create_replacement_order,
    price_replacement,
    release_replacement_order,
)
from awda.payments.gateways.base import GatewayError, PaymentLinkRequest
from awda.payments.services import (
    PaymentLinksUnavailable,
    create_payment_link,
    finish_gateway_webhook,
    payment_link_account,
    reconcile_reported_refund,
    request_bank_payout,
    request_refund,
    stored_gateway_event,
)
from awda.wallet.services import grant_store_credit

HIGHER = ("charge_link", "collect_on_delivery")
LOWER = ("refund_difference", "credit_difference")


@dataclass(frozen=True)
class LineRequest:
    """One returned item to exchange, as the return knows it."""

    field: str  # where an error about it points, e.g. "items.0.exchange_sku"
    return_item_id: int
    order_line_id: int
    variant_id: int
    quantity: int
    credit_minor: int  # what the returned units count towards the new ones (their refund)


@dataclass(frozen=True)
class Terms:
    """The policy's exchange terms for the return's items, merged by the return."""

    price_higher: str = "charge_link"
    price_lower: str = "refund_difference"
    instant: bool = False
    instant_max_minor: int = 0


@dataclass(frozen=True)
class Issued:
    """What ``issue_exchange`` did: ``replayed`` when it had been done before; ``declined``
    says why an instant exchange waits for the return instead."""

    exchange: Exchange
    replayed: bool = False
    declined: str = ""


def exchange_key(return_id: int) -> str:
    return f"return-{return_id}-exchange"


def _payload(ex: Exchange, **extra: Any) -> dict[str, Any]:
    return {
        "exchange_id": ex.pk,
        "return_id": ex.return_id,
        "reference": ex.reference,
        "status": ex.status,
        "currency": ex.currency,
        **extra,
    }


def _event(name: str, ex: Exchange, **extra: Any) -> None:
    record_event(
        name,
        _payload(ex, **extra),
        merchant_id=ex.merchant_id,
        aggregate_type="exchange",
        aggregate_id=ex.pk,
    )


def _lock(return_id: int) -> Exchange | None:
    return (
        Exchange.objects.select_for_update()
        .select_related("merchant", "order", "customer")
        .filter(return_id=return_id)
        .first()
    )


# -- opening: stock held ------------------------------------------------------------------------


def open_exchange(
    *,
    merchant: Merchant,
    return_id: int,
    reference: str,
    order_id: int,
    customer_id: int,
    currency: str,
    lines: Sequence[LineRequest],
    terms: Terms,
) -> Exchange:
    """Reserve the new items' stock and write the exchange, in the transaction that creates
    its return. Raises ``OutOfStock`` on the first item (``field``) whose variant hasn't
    enough units left; nothing is held then."""
    if not lines:
        raise InvalidInput(_("Choose at least one item to exchange."), field="items")
    if terms.price_higher not in HIGHER or terms.price_lower not in LOWER:
        raise InvalidInput(_("Unknown price difference handling."), field="terms")
    variants = {
        v.pk: v
        for v in Variant.objects.for_merchant(merchant).filter(
            pk__in=[line.variant_id for line in lines]
        )
    }
    wants: dict[int, int] = defaultdict(int)
    for line in lines:
        wants[line.variant_id] += line.quantity
    now = clock.now()
    with transaction.atomic():
        try:
            takes = reserve_stock(merchant_id=merchant.pk, wants=wants)
        except OutOfStock as exc:
            sku = exc.details.get("sku")
            field = next(
                (li.field for li in lines if variants[li.variant_id].sku == sku), lines[0].field
            )
            raise OutOfStock(field=field, details=exc.details) from None
        value = price_replacement(
            original_order_id=order_id,
            lines=[
                ReplacementLine(
                    variant_id=li.variant_id,
                    quantity=li.quantity,
                    unit_price_minor=variants[li.variant_id].price_minor,
                    replaces_line_id=li.order_line_id,
                )
                for li in lines
            ],
        )
        credit = sum(li.credit_minor for li in lines)
        ex = Exchange.objects.create(
            merchant=merchant,
            return_id=return_id,
            reference=reference,
            order_id=order_id,
            customer_id=customer_id,
            currency=currency,
            idempotency_key=exchange_key(return_id),
            price_higher=terms.price_higher,
            price_lower=terms.price_lower,
            # The cap guards what ships before anything comes back: the replacement's value.
            instant_allowed=terms.instant and 0 < value <= terms.instant_max_minor,
            replacement_value_minor=value,
            credit_minor=credit,
            difference_minor=value - credit,
            created_at=now,
        )
        ExchangeLine.objects.bulk_create(
            [
                ExchangeLine(
                    merchant=merchant,
                    exchange=ex,
                    return_item_id=li.return_item_id,
                    order_line_id=li.order_line_id,
                    variant_id=li.variant_id,
                    quantity=li.quantity,
                    unit_price_minor=variants[li.variant_id].price_minor,
                    credit_minor=li.credit_minor,
                )
                for li in lines
            ]
        )
        StockReservation.objects.bulk_create(
            [
                StockReservation(
                    merchant=merchant,
                    exchange=ex,
                    stock_id=take.stock_id,
                    variant_id=take.variant_id,
                    quantity=take.quantity,
                    created_at=now,
                )
                for take in takes
            ]
        )
        return ex


def _settle_reservations(ex: Exchange, to: str, now: datetime) -> None:
    held = list(ex.reservations.filter(status=ReservationStatus.RESERVED).order_by("stock_id"))
    if not held:
        return
    takes = [StockTake(r.stock_id, r.variant_id, r.quantity) for r in held]
    if to == ReservationStatus.CONSUMED:
        consume_stock(takes=takes)
    else:
        release_stock(takes=takes)
    StockReservation.objects.filter(pk__in=[r.pk for r in held]).update(status=to, settled_at=now)


# -- issuing: the replacement and the difference ------------------------------------------------


def _instant_refusal(ex: Exchange, customer_risky: bool) -> str:
    """Why this exchange may not ship before its items come back ("" when it may)."""
    if not ex.instant_allowed:
        return "not_allowed"
    if customer_risky:
        return "risk"  # an earlier return of this customer arrived missing or wrong
    # One instant exchange open per customer at a time: the lock makes two approvals of the
    # same customer's returns take turns here instead of both seeing "none open".
    lock_keys([f"instant-exchange:{ex.merchant_id}:{ex.customer_id}"])
    others = Exchange.objects.filter(customer_id=ex.customer_id).exclude(pk=ex.pk)
    if others.filter(originals=Originals.NOT_BACK).exists():
        return "risk"  # an earlier exchange's items never came back
    if (
        others.filter(instant=True, originals=Originals.AWAITING)
        .exclude(status=ExchangeStatus.CANCELLED)
        .exists()
    ):
        return "open_instant"
    return ""


def _handling(ex: Exchange, *, payout_iban: str) -> str:
    if ex.difference_minor > 0:
        return ex.price_higher
    if ex.difference_minor == 0:
        return DifferenceHandling.NONE
    if ex.price_lower == "credit_difference":
        return DifferenceHandling.STORE_CREDIT
    if ex.order.payment_method == PaymentMethod.CASH_ON_DELIVERY:
        # Cash on delivery: nothing to refund to, so a bank transfer where the shopper gave
        # an account, else store credit.
        return DifferenceHandling.BANK_TRANSFER if payout_iban else DifferenceHandling.STORE_CREDIT
    return DifferenceHandling.REFUND


def _difference_lines(ex: Exchange, amount: int) -> list[tuple[int, int]]:
    """The refunded difference counted against the exchanged lines, by their credit (largest
    remainder, so no line gets more than it gave)."""
    lines = list(ex.lines.order_by("pk"))
    parts = Money(amount, ex.currency).allocate([li.credit_minor for li in lines])
    by_line: dict[int, int] = defaultdict(int)
    for line, part in zip(lines, parts, strict=True):
        by_line[line.order_line_id] += part.minor
    return sorted((line_id, minor) for line_id, minor in by_line.items() if minor)


def _give_back_difference(
    ex: Exchange,
    handling: str,
    payout_iban: str,
    payout_name: str,
    credit_valid_for: timedelta | None,
) -> str:
    """Send the shopper the difference of a cheaper replacement; returns how it went."""
    amount = Money(-ex.difference_minor, ex.currency)
    key = f"return-{ex.return_id}-exchange"
    if handling == DifferenceHandling.REFUND:
        try:
            request_refund(
                merchant=ex.merchant,
                order_id=ex.order_id,
                amount=amount,
                idempotency_key=f"{key}-difference",
                reference=ex.reference,
                lines=_difference_lines(ex, amount.minor),
            )
            return handling
        except DomainError:
            # The order's payments can't take it back (refunded elsewhere meanwhile): the
            # shopper still gets the money, as store credit.
            handling = DifferenceHandling.STORE_CREDIT
    if handling == DifferenceHandling.BANK_TRANSFER:
        request_bank_payout(
            merchant=ex.merchant,
            amount=amount,
            creditor_name=payout_name or ex.customer.name,
            creditor_iban=payout_iban,
            idempotency_key=f"{key}-transfer",
            reference=ex.reference,
            lines=_difference_lines(ex, amount.minor),
        )
        return handling
    grant_store_credit(
        merchant=ex.merchant,
        customer=ex.customer,
        amount=amount,
        idempotency_key=f"{key}-credit",
        reference=ex.reference,
        actor="system",
        valid_for=credit_valid_for,
    )
    return DifferenceHandling.STORE_CREDIT


def _ask_payment(ex: Exchange, purpose: str, amount: int, now: datetime) -> ExchangePayment:
    payment = ExchangePayment.objects.create(
        merchant_id=ex.merchant_id,
        exchange=ex,
        purpose=purpose,
        amount_minor=amount,
        currency=ex.currency,
        idempotency_key=f"{ex.idempotency_key}-{purpose}",
        created_at=now,
    )
    # The link is an HTTP call: a job makes it after commit (``send_payment_link``).
    _event("ExchangePaymentRequested", ex, payment_id=payment.pk, purpose=purpose)
    return payment


def issue_exchange(
    *,
    return_id: int,
    instant: bool = False,
    customer_risky: bool = False,
    shortfall_minor: int = 0,
    originals_expected: bool = True,
    payout_iban: str = "",
    payout_name: str = "",
    credit_valid_for: timedelta | None = None,
) -> Issued | None:
    """Create the replacement order and settle the difference, once (None: no exchange).

    A cheaper replacement's difference given as store credit lasts ``credit_valid_for``
    (the policy's term for store credit, as the return's own credit), or never.

    ``instant``: at approval, before the items come back — only when the policy allowed
    it, ``customer_risky`` is false and the customer has no other instant exchange whose
    items are still out (else ``declined`` says why and nothing changes).
    ``shortfall_minor``: the value of exchanged items already found missing, wrong or not
    acceptable; then nothing ships and the exchange goes to review. Runs in the caller's
    transaction, with the return locked.
    """
    with transaction.atomic():
        ex = _lock(return_id)
        if ex is None:
            return None
        if ex.status != ExchangeStatus.RESERVED:
            return Issued(ex, replayed=True)
        if instant:
            declined = _instant_refusal(ex, customer_risky)
            if declined:
                return Issued(ex, declined=declined)
        now = clock.now()
        if shortfall_minor or ex.originals == Originals.NOT_BACK:
            ex.unreturned_minor = max(ex.unreturned_minor, shortfall_minor)
            _to_review(ex, "originals_not_back", now)
            return Issued(ex)
        handling = _handling(ex, payout_iban=payout_iban)
        held = handling == DifferenceHandling.CHARGE_LINK
        order = create_replacement_order(
            merchant_id=ex.merchant_id,
            original_order_id=ex.order_id,
            number=f"{ex.reference}-X",
            lines=[
                ReplacementLine(
                    variant_id=li.variant_id,
                    quantity=li.quantity,
                    unit_price_minor=li.unit_price_minor,
                    replaces_line_id=li.order_line_id,
                )
                for li in ex.lines.order_by("pk")
            ],
            exchange_credit_minor=ex.credit_minor,
            collect_on_delivery=handling == DifferenceHandling.COLLECT_ON_DELIVERY,
            held=held,
            reference=ex.reference,
        )
        if held:
            # Reserved, not yet gone: a replacement never paid for gives its units back.
            _ask_payment(ex, PaymentPurpose.DIFFERENCE, ex.difference_minor, now)
        else:
            _settle_reservations(ex, ReservationStatus.CONSUMED, now)
        if ex.difference_minor < 0:
            handling = _give_back_difference(
                ex, handling, payout_iban, payout_name, credit_valid_for
            )
        ex.status = ExchangeStatus.AWAITING_PAYMENT if held else ExchangeStatus.ISSUED
        ex.difference_handling = handling
        ex.replacement_order = order
        ex.instant = instant
        ex.issued_at = now
        if not originals_expected:
            ex.originals = Originals.KEPT
        ex.save(
            update_fields=[
                "status",
                "difference_handling",
                "replacement_order",
                "instant",
                "issued_at",
                "originals",
            ]
        )
        _event(
            "ExchangeIssued",
            ex,
            replacement_order_id=order.pk,
            replacement_order_number=order.number,
            replacement_value_minor=ex.replacement_value_minor,
            difference_minor=ex.difference_minor,
            difference_handling=handling,
            collect_on_delivery_minor=order.collect_on_delivery_minor,
            instant=instant,
        )
        return Issued(ex)


def _to_review(ex: Exchange, reason: str, now: datetime, message: str = "") -> None:
    """Nothing more ships: a person decides. Held stock goes back on offer and a held
    replacement is withdrawn (the store never had it)."""
    if ex.status == ExchangeStatus.AWAITING_PAYMENT and ex.replacement_order_id:
        cancel_replacement_order(order_id=ex.replacement_order_id)
        ExchangePayment.objects.filter(
            exchange=ex, status__in=[PaymentStatus.PENDING, PaymentStatus.SENT]
        ).update(status=PaymentStatus.CANCELLED)
    _settle_reservations(ex, ReservationStatus.RELEASED, now)
    if ex.status in (ExchangeStatus.RESERVED, ExchangeStatus.AWAITING_PAYMENT):
        ex.status = ExchangeStatus.REVIEW
    ex.originals = Originals.NOT_BACK if reason == "originals_not_back" else ex.originals
    ex.note = reason
    ex.save(update_fields=["status", "originals", "note", "unreturned_minor"])
    _event("ExchangeNeedsReview", ex, reason=reason, message=message[:500])


# -- the return closes, or its parcel arrives ----------------------------------------------------


def release_exchange(*, return_id: int) -> Exchange | None:
    """The return was rejected, cancelled or expired: reserved units go back on offer and a
    replacement still held for its payment is withdrawn. A replacement already sent whose
    items now never come back is charged or reviewed (``_not_back``)."""
    with transaction.atomic():
        ex = _lock(return_id)
        if ex is None:
            return None
        now = clock.now()
        if ex.status in (ExchangeStatus.RESERVED, ExchangeStatus.AWAITING_PAYMENT):
            if ex.replacement_order_id:
                cancel_replacement_order(order_id=ex.replacement_order_id)
            ExchangePayment.objects.filter(
                exchange=ex, status__in=[PaymentStatus.PENDING, PaymentStatus.SENT]
            ).update(status=PaymentStatus.CANCELLED)
            _settle_reservations(ex, ReservationStatus.RELEASED, now)
            ex.status, ex.closed_at = ExchangeStatus.CANCELLED, now
            ex.save(update_fields=["status", "closed_at"])
            _event("ExchangeCancelled", ex)
        elif ex.status == ExchangeStatus.ISSUED and ex.originals == Originals.AWAITING:
            _not_back(ex, ex.credit_minor, now)
        return ex


def record_originals(*, return_id: int, shortfall_minor: int, rejected: bool = False) -> None:
    """The warehouse has the parcel: ``shortfall_minor`` is the value of exchanged items
    missing, wrong or short (``rejected``: refused at inspection). Nothing short: the
    originals are back. Otherwise a replacement already sent is charged (or reviewed; always
    reviewed when ``rejected``), and one not yet sent is stopped for review."""
    with transaction.atomic():
        ex = _lock(return_id)
        if ex is None or ex.unreturned_action or ex.status == ExchangeStatus.CANCELLED:
            return
        now = clock.now()
        if not shortfall_minor:
            if ex.originals == Originals.AWAITING:
                ex.originals = Originals.BACK
                ex.save(update_fields=["originals"])
            return
        if ex.status == ExchangeStatus.ISSUED:
            _not_back(ex, shortfall_minor, now, review=rejected)
        elif ex.status in (ExchangeStatus.RESERVED, ExchangeStatus.AWAITING_PAYMENT):
            ex.unreturned_minor = shortfall_minor
            _to_review(ex, "originals_not_back", now)


def _not_back(ex: Exchange, amount: int, now: datetime, *, review: bool = False) -> None:
    """A replacement went out and (some of) the items it replaced won't come back: ask the
    shopper to pay for them by link, or where that can't work (cash on delivery, no gateway
    for links) leave it to a person."""
    ex.originals = Originals.NOT_BACK
    ex.unreturned_minor = amount
    chargeable = (
        not review
        and amount > 0
        and ex.order.payment_method != PaymentMethod.CASH_ON_DELIVERY
        and payment_link_account(merchant_id=ex.merchant_id) is not None
    )
    ex.unreturned_action = UnreturnedAction.CHARGE if chargeable else UnreturnedAction.REVIEW
    ex.save(update_fields=["originals", "unreturned_minor", "unreturned_action"])
    if chargeable:
        _ask_payment(ex, PaymentPurpose.UNRETURNED, amount, now)
    else:
        _event(
            "ExchangeNeedsReview",
            ex,
            reason="rejected" if review else "not_returned",
            amount_minor=amount,
        )


# -- payment links -------------------------------------------------------------------------------


def send_payment_link(*, payment_id: int) -> ExchangePayment:
    """Ask the gateway for the payment's link (no transaction open) and say so once.

    A gateway that can't answer now raises (the job retries; the key makes a retry ask for
    the same link); one that says no sends the exchange to review with its words.
    """
    payment = ExchangePayment.objects.select_related("exchange", "exchange__customer").get(
        pk=payment_id
    )
    if payment.status != PaymentStatus.PENDING:
        return payment
    ex = payment.exchange
    description = (
        f"Exchange {ex.reference}: price difference"
        if payment.purpose == PaymentPurpose.DIFFERENCE
        else f"Exchange {ex.reference}: items not returned"
    )
    try:
        gateway, link = create_payment_link(
            merchant_id=payment.merchant_id,
            request=PaymentLinkRequest(
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                description=description,
                reference=ex.reference,
                customer_email=ex.customer.email,
                customer_phone=ex.customer.phone,
                idempotency_key=payment.idempotency_key,
            ),
        )
    except GatewayError as exc:
        if exc.retryable:
            raise
        return _link_failed(payment, exc.message)
    except PaymentLinksUnavailable as exc:
        return _link_failed(payment, str(exc.message))
    with transaction.atomic():
        sent = ExchangePayment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
            status=PaymentStatus.SENT, gateway=gateway, link_id=link.link_id[:200], url=link.url
        )
        if sent:
            _event(
                "ExchangePaymentLinkSent",
                ex,
                payment_id=payment.pk,
                purpose=payment.purpose,
                amount_minor=payment.amount_minor,
                url=link.url,
            )
    payment.refresh_from_db()
    return payment


def _link_failed(payment: ExchangePayment, message: str) -> ExchangePayment:
    with transaction.atomic():
        ex = _lock(payment.exchange.return_id)
        failed = ExchangePayment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
            status=PaymentStatus.FAILED, failure_message=message[:500]
        )
        if failed and ex is not None:
            if payment.purpose == PaymentPurpose.DIFFERENCE:
                _to_review(ex, "payment_link_failed", clock.now(), message)
            else:
                ex.unreturned_action = UnreturnedAction.REVIEW
                ex.save(update_fields=["unreturned_action"])
                _event("ExchangeNeedsReview", ex, reason="payment_link_failed", message=message)
    payment.refresh_from_db()
    return payment


def mark_exchange_paid(
    *, merchant_id: int, link_id: str, card_last4: str = ""
) -> ExchangePayment | None:
    """The gateway says the link ``link_id`` was paid (a webhook, or the sandbox's own event):
    a held replacement goes to the store, once. None when no exchange made that link."""
    found = (
        ExchangePayment.objects.filter(merchant_id=merchant_id, link_id=link_id)
        .values_list("pk", "exchange__return_id")
        .first()
    )
    if found is None or not link_id:
        return None
    payment_id, return_id = found
    with transaction.atomic():
        # The exchange before its payments, as everywhere.
        ex = _lock(return_id)
        payment = ExchangePayment.objects.select_for_update().get(pk=payment_id)
        if ex is None or payment.status == PaymentStatus.PAID:
            return payment
        now = clock.now()
        payment.status, payment.paid_at = PaymentStatus.PAID, now
        payment.save(update_fields=["status", "paid_at"])
        if payment.purpose == PaymentPurpose.UNRETURNED:
            _event("ExchangeCharged", ex, payment_id=payment.pk, amount_minor=payment.amount_minor)
        elif ex.status == ExchangeStatus.AWAITING_PAYMENT and ex.replacement_order_id:
            release_replacement_order(
                order_id=ex.replacement_order_id,
                payment=PaymentData(
                    gateway=payment.gateway,
                    reference=payment.link_id,
                    method=PaymentMethod.CARD,
                    captured_minor=payment.amount_minor,
                    card_last4=card_last4,
                ),
            )
            _settle_reservations(ex, ReservationStatus.CONSUMED, now)
            ex.status = ExchangeStatus.ISSUED
            ex.save(update_fields=["status"])
            _event(
                "ExchangeDifferencePaid",
                ex,
                payment_id=payment.pk,
                amount_minor=payment.amount_minor,
                replacement_order_number=ex.replacement_order.number
                if ex.replacement_order
                else "",
            )
        else:
            # Paid after the exchange closed (cancelled, or stopped for review): the money
            # came in all the same; a person gives it back or ships.
            _event("ExchangeNeedsReview", ex, reason="paid_after_close")
        return payment


def process_payment_webhook(*, webhook_id: int) -> str:
    """Apply a stored gateway delivery (``payments.receive_gateway_webhook``) once: a paid
    link marks its exchange paid; a refund the gateway says changed is reconciled with the
    gateway now (``payments.reconcile_reported_refund``), not at the next hourly pass.
    Returns what became of it (kept on the row).

    Here rather than in payments, which sits below exchanges and can't call them; the
    delivery's row is locked, so two jobs for it apply it once (and ``mark_exchange_paid``
    is once per link on its own). A refund is reconciled after that transaction, as the
    gateway is asked again (a reconciliation claims an open refund first, so two never ask
    at once); a job lost in between leaves the delivery unprocessed, for the sweep.
    """
    with transaction.atomic():
        stored = stored_gateway_event(webhook_id=webhook_id)
        if stored is None:
            return "done"
        event = stored.event
        if event is not None and event.refund is not None and not event.paid_link_id:
            reported = event.refund
        else:
            if event is None:
                outcome = stored.error
            elif not event.paid_link_id:
                outcome = f"ignored: {event.kind or 'nothing to do'}"
            elif mark_exchange_paid(
                merchant_id=stored.merchant_id,
                link_id=event.paid_link_id,
                card_last4=event.paid_card_last4,
            ):
                outcome = f"paid: {event.paid_link_id}"
            else:
                outcome = f"unknown link {event.paid_link_id}"
            finish_gateway_webhook(webhook_id=stored.webhook_id, outcome=outcome)
            return outcome[:300]
    outcome = reconcile_reported_refund(account_id=stored.account_id, reported=reported)
    finish_gateway_webhook(webhook_id=stored.webhook_id, outcome=outcome)
    return outcome
