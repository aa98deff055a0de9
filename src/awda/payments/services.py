"""Refunds to the original payment: reserved once, sent once, reconciled after a crash.

``request_refund`` reserves the money in one transaction: the order's payments are locked in
primary-key order, the amount is split across them (``rules.split_refund``) and counted as
refunded on each — the database refuses more than a payment captured — and a ``Refund`` row
per part records the gateway idempotency key. The same caller key returns the same rows.

``execute_refund`` then talks to the gateway with no transaction open. It first claims the
row (a compare-and-swap on ``claimed_until``), so two workers never ask at once; it marks
the row ``sent`` and commits *before* the call, so a worker killed after the gateway acted
leaves a trace; and a row found ``sent`` is reconciled with ``find_refund`` before the
gateway is asked again. A refusal puts the refund into review with the gateway's words and
gives the reserved amount back to the payment.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from awda.core import clock
from awda.core.db import lock_keys
from awda.core.errors import DomainError, InvalidInput
from awda.core.money import Money
from awda.core.outbox import record_event
from awda.merchants.models import Merchant
from awda.orders.models import PaymentMethod
from awda.orders.services import count_refund_on_payments, lock_order_payments
from awda.payments.gateways import ADAPTERS, build_gateway
from awda.payments.gateways.base import (
    Gateway,
    GatewayError,
    RefundRequest,
    RefundResult,
)
from awda.payments.gateways.base import RefundStatus as GatewayStatus
from awda.payments.models import (
    BankPayout,
    GatewayAccount,
    PayoutFile,
    PayoutStatus,
    Refund,
    RefundStatus,
)
from awda.payments.payouts import (
    PayoutBatch,
    PayoutLine,
    render_csv,
    render_pain001,
    validate_batch,
)
from awda.payments.rules import NotRefundable, split_refund

CLAIM_SECONDS = 120  # longer than the HTTP client's worst case (retries with backoff)


class RefundNotPossible(DomainError):
    code = "not_refundable"
    status = 422
    default_message = _("The order's payments can't take this refund back.")


def connect_gateway(
    *, merchant: Merchant, gateway: str, name: str, settings: Mapping[str, str]
) -> GatewayAccount:
    """Add the merchant's account with a gateway; its settings are encrypted at rest."""
    if gateway not in ADAPTERS:
        raise InvalidInput(_("Unknown payment gateway."), field="gateway")
    with transaction.atomic():
        GatewayAccount.objects.filter(merchant=merchant, gateway=gateway, active=True).update(
            active=False
        )
        return GatewayAccount.objects.create(
            merchant=merchant,
            gateway=gateway,
            name=name.strip() or gateway,
            settings=json.dumps({str(k): str(v) for k, v in settings.items()}),
        )


@contextlib.contextmanager
def _using(account: GatewayAccount) -> Iterator[Gateway]:
    adapter = build_gateway(account.gateway, json.loads(account.settings or "{}"))
    try:
        yield adapter
    finally:
        adapter.close()


def request_refund(
    *,
    merchant: Merchant,
    order_id: int,
    amount: Money,
    idempotency_key: str,
    reference: str,
) -> list[Refund]:
    """Reserve ``amount`` across the order's card and wallet payments (most recent first).

    Once per ``idempotency_key``: a repeat returns the first call's rows. Cash-on-delivery
    payments are refunded by bank transfer, not through a gateway, so they take no part.
    """
    if not idempotency_key or len(idempotency_key) > 80:
        raise InvalidInput(_("An idempotency key of 1 to 80 characters is required."))
    existing = _parts(merchant.pk, idempotency_key)
    if existing:
        return existing
    now = clock.now()
    try:
        with transaction.atomic():
            lock_keys([f"refund:{merchant.pk}:{idempotency_key}"])
            existing = _parts(merchant.pk, idempotency_key)
            if existing:
                return existing
            payments = [
                p
                for p in lock_order_payments(merchant_id=merchant.pk, order_id=order_id)
                if p.currency == amount.currency and p.method != PaymentMethod.CASH_ON_DELIVERY
            ]
            try:
                parts = split_refund(
                    [(p.pk, p.captured_minor - p.refunded_minor) for p in payments], amount.minor
                )
            except NotRefundable:
                raise RefundNotPossible(
                    details={
                        "amount_minor": amount.minor,
                        "refundable_minor": sum(
                            p.captured_minor - p.refunded_minor for p in payments
                        ),
                    }
                ) from None
            count_refund_on_payments(parts=parts)
            by_id = {p.pk: p for p in payments}
            refunds = Refund.objects.bulk_create(
                [
                    Refund(
                        merchant=merchant,
                        payment_id=payment_id,
                        gateway=by_id[payment_id].gateway,
                        amount_minor=part,
                        currency=amount.currency,
                        idempotency_key=f"{idempotency_key}:p{payment_id}",
                        request_key=idempotency_key,
                        reference=reference,
                        created_at=now,
                    )
                    for payment_id, part in parts
                ]
            )
            record_event(
                "RefundRequested",
                {
                    "refund_ids": [r.pk for r in refunds],
                    "reference": reference,
                    "amount_minor": amount.minor,
                    "currency": amount.currency,
                },
                merchant_id=merchant.pk,
                aggregate_type="order",
                aggregate_id=order_id,
            )
            return refunds
    except IntegrityError:
        # Another caller with the same key won the race (SQLite has no advisory lock).
        existing = _parts(merchant.pk, idempotency_key)
        if existing:
            return existing
        raise


def _parts(merchant_id: int, request_key: str) -> list[Refund]:
    return list(
        Refund.objects.filter(merchant_id=merchant_id, request_key=request_key).order_by("pk")
    )


def execute_refund(*, refund_id: int) -> Refund:
    """Send one reserved refund to its gateway (or learn what became of an earlier send).

    Raises GatewayError when the outcome is still unknown (the job retries later).
    """
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status in (RefundStatus.SUCCEEDED, RefundStatus.REVIEW):
        return refund
    now = clock.now()
    claimed = Refund.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        pk=refund.pk,
        status__in=[RefundStatus.PENDING, RefundStatus.SENT],
    ).update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
    if not claimed:
        refund.refresh_from_db()
        return refund  # another worker has it, or it is settled
    account = GatewayAccount.objects.filter(
        merchant_id=refund.merchant_id, gateway=refund.gateway, active=True
    ).first()
    if account is None:
        return _to_review(refund, "no active account for this payment's gateway")
    with _using(account) as gateway:
        if refund.status == RefundStatus.SENT:
            # Asked before and the answer was lost (a crash, a timeout): ask what happened.
            found = gateway.find_refund(
                payment_reference=refund.payment.reference,
                idempotency_key=refund.idempotency_key,
            )
            if found is not None:
                return _settle(refund, found)
        # Committed before the call: if this worker dies after the gateway acted, the next
        # attempt sees "sent" and reconciles instead of refunding again.
        Refund.objects.filter(pk=refund.pk).update(
            status=RefundStatus.SENT, attempts=F("attempts") + 1
        )
        refund.status = RefundStatus.SENT
        try:
            result = gateway.refund(
                RefundRequest(
                    payment_reference=refund.payment.reference,
                    amount_minor=refund.amount_minor,
                    currency=refund.currency,
                    idempotency_key=refund.idempotency_key,
                    reason="return",
                    metadata={"reference": refund.reference},
                )
            )
        except GatewayError as exc:
            if exc.retryable:
                Refund.objects.filter(pk=refund.pk).update(claimed_until=None)
                raise
            return _to_review(refund, exc.message)
    return _settle(refund, result)


def _settle(refund: Refund, result: RefundResult) -> Refund:
    if result.status in (GatewayStatus.FAILED, GatewayStatus.CANCELLED):
        return _to_review(refund, result.failure_message or f"refund {result.status}")
    now = clock.now()
    with transaction.atomic():
        done = result.status == GatewayStatus.SUCCEEDED
        updated = Refund.objects.filter(pk=refund.pk, status=RefundStatus.SENT).update(
            status=RefundStatus.SUCCEEDED if done else RefundStatus.SENT,
            gateway_refund_id=result.refund_id[:200],
            settled_at=now if done else None,
            claimed_until=None,
        )
        if updated and done:
            record_event(
                "RefundIssued",
                {
                    "refund_id": refund.pk,
                    "reference": refund.reference,
                    "amount_minor": refund.amount_minor,
                    "currency": refund.currency,
                    "card_last4": refund.payment.card_last4,
                },
                merchant_id=refund.merchant_id,
                aggregate_type="refund",
                aggregate_id=refund.pk,
            )
    refund.refresh_from_db()
    return refund


def _to_review(refund: Refund, message: str) -> Refund:
    """The gateway said no: staff decide, and the payment gets the reserved amount back."""
    with transaction.atomic():
        updated = Refund.objects.filter(
            pk=refund.pk, status__in=[RefundStatus.PENDING, RefundStatus.SENT]
        ).update(status=RefundStatus.REVIEW, failure_message=message[:500], claimed_until=None)
        if updated:
            count_refund_on_payments(parts=[(refund.payment_id, -refund.amount_minor)])
            record_event(
                "RefundNeedsReview",
                {"refund_id": refund.pk, "reference": refund.reference, "message": message[:500]},
                merchant_id=refund.merchant_id,
                aggregate_type="refund",
                aggregate_id=refund.pk,
            )
    refund.refresh_from_db()
    return refund


# -- bank transfers (cash-on-delivery refunds) ---------------------------------------------------


def request_bank_payout(
    *,
    merchant: Merchant,
    amount: Money,
    creditor_name: str,
    creditor_iban: str,
    idempotency_key: str,
    reference: str,
) -> BankPayout:
    """Queue a refund by bank transfer for the merchant's next transfer file (once per key)."""
    existing = BankPayout.objects.filter(merchant=merchant, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    if amount.minor <= 0:
        raise InvalidInput(_("A transfer must be of a positive amount."), field="amount")
    try:
        with transaction.atomic():
            payout = BankPayout.objects.create(
                merchant=merchant,
                reference=reference,
                amount_minor=amount.minor,
                currency=amount.currency,
                creditor_name=creditor_name,
                creditor_iban=creditor_iban,
                idempotency_key=idempotency_key,
                created_at=clock.now(),
            )
            record_event(
                "BankPayoutRequested",
                {"payout_id": payout.pk, "reference": reference, "amount_minor": amount.minor},
                merchant_id=merchant.pk,
                aggregate_type="payout",
                aggregate_id=payout.pk,
            )
            return payout
    except IntegrityError:
        return BankPayout.objects.get(merchant=merchant, idempotency_key=idempotency_key)


class NothingToTransfer(DomainError):
    code = "nothing_to_transfer"
    status = 409
    default_message = _("No refunds are waiting for a bank transfer in this currency.")


class InvalidTransferFile(DomainError):
    code = "invalid_transfer_file"
    status = 422
    default_message = _("The transfer file can't be made: check the listed fields.")


def create_payout_file(
    *,
    merchant: Merchant,
    currency: str,
    debtor_name: str,
    debtor_iban: str,
    debtor_bic: str = "",
    requested_date: date | None = None,
) -> PayoutFile:
    """Put every waiting transfer in ``currency`` into one file, checked as the bank will."""
    now = clock.now()
    with transaction.atomic():
        waiting = list(
            BankPayout.objects.select_for_update()
            .filter(merchant=merchant, currency=currency, status=PayoutStatus.PENDING)
            .order_by("pk")
        )
        if not waiting:
            raise NothingToTransfer(details={"currency": currency})
        payout_file = PayoutFile(
            merchant=merchant,
            message_id=f"AWDA-{merchant.pk}-{now:%Y%m%d%H%M%S%f}"[:35],
            currency=currency,
            total_minor=sum(p.amount_minor for p in waiting),
            count=len(waiting),
            requested_date=requested_date or now.date(),
            created_at=now,
            debtor_name=debtor_name,
            debtor_iban=debtor_iban,
            debtor_bic=debtor_bic,
        )
        problems = validate_batch(_batch(payout_file, waiting))
        if problems:
            raise InvalidTransferFile(
                details={"problems": [{"field": p.field, "reason": p.reason} for p in problems]}
            )
        payout_file.save()
        BankPayout.objects.filter(pk__in=[p.pk for p in waiting]).update(
            status=PayoutStatus.BATCHED, file=payout_file
        )
        return payout_file


def _batch(payout_file: PayoutFile, payouts: list[BankPayout]) -> PayoutBatch:
    return PayoutBatch(
        message_id=payout_file.message_id,
        created_at=payout_file.created_at,
        debtor_name=payout_file.debtor_name,
        debtor_iban=payout_file.debtor_iban,
        debtor_bic=payout_file.debtor_bic,
        requested_date=payout_file.requested_date,
        lines=[
            PayoutLine(
                end_to_end_id=f"{p.reference}-{p.pk}".replace(" ", "")[:35],
                amount_minor=p.amount_minor,
                currency=p.currency,
                creditor_name=p.creditor_name,
                creditor_iban=p.creditor_iban,
                remittance=f"Refund {p.reference}"[:140],
            )
            for p in payouts
        ],
    )


def payout_file_content(*, payout_file: PayoutFile, fmt: str) -> bytes:
    """The file to upload to the bank: ``pain001`` (ISO 20022 XML) or ``csv``."""
    payouts = list(payout_file.payouts.order_by("pk"))
    batch = _batch(payout_file, payouts)
    if fmt == "csv":
        return render_csv(batch).encode("utf-8")
    return render_pain001(batch)


def mark_payout_file_paid(*, payout_file: PayoutFile) -> PayoutFile:
    """The bank executed the file: its transfers are paid (once)."""
    now = clock.now()
    with transaction.atomic():
        updated = PayoutFile.objects.filter(pk=payout_file.pk, paid_at__isnull=True).update(
            paid_at=now
        )
        if updated:
            paid = list(
                BankPayout.objects.select_for_update()
                .filter(file=payout_file, status=PayoutStatus.BATCHED)
                .order_by("pk")
            )
            BankPayout.objects.filter(pk__in=[p.pk for p in paid]).update(
                status=PayoutStatus.PAID, paid_at=now
            )
            for p in paid:
                record_event(
                    "BankTransferPaid",
                    {
                        "payout_id": p.pk,
                        "reference": p.reference,
                        "amount_minor": p.amount_minor,
                        "currency": p.currency,
                        "iban_last4": p.creditor_iban[-4:],
                    },
                    merchant_id=p.merchant_id,
                    aggregate_type="payout",
                    aggregate_id=p.pk,
                )
    payout_file.refresh_from_db()
    return payout_file
