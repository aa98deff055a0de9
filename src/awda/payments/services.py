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
import itertools
import json
import logging
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from awda.core import clock
from awda.core.db import lock_keys
from awda.core.errors import DomainError, InvalidInput
from awda.core.money import Money
from awda.core.outbox import NewEvent, record_event, record_events, record_many
from awda.merchants.models import Merchant
from awda.orders.models import LineRefundKind, Payment, PaymentMethod
from awda.orders.services import (
    LineCount,
    count_refund_on_payments,
    count_refunds_on_lines,
    lock_payments_of,
    release_line_refunds,
    save_refunded,
)
from awda.payments.gateways import ADAPTERS, build_gateway, gateway_class
from awda.payments.gateways.base import (
    Gateway,
    GatewayError,
    GatewayEvent,
    MalformedWebhook,
    PaymentLink,
    PaymentLinkRequest,
    RefundRequest,
    RefundResult,
    WebhookRejected,
)
from awda.payments.gateways.base import RefundStatus as GatewayStatus
from awda.payments.models import (
    BankPayout,
    GatewayAccount,
    GatewayWebhook,
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

log = logging.getLogger(__name__)

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
    data = {str(k): str(v) for k, v in settings.items()}
    if gateway == "sandbox":
        # The sandbox signs its own webhooks: it needs a secret nobody has to look up.
        data.setdefault("webhook_secret", secrets.token_urlsafe(32))
    with transaction.atomic():
        GatewayAccount.objects.filter(merchant=merchant, gateway=gateway, active=True).update(
            active=False
        )
        return GatewayAccount.objects.create(
            merchant=merchant,
            gateway=gateway,
            name=name.strip() or gateway,
            public_id=secrets.token_urlsafe(16),
            settings=json.dumps(data),
        )


@contextlib.contextmanager
def _using(account: GatewayAccount) -> Iterator[Gateway]:
    adapter = build_gateway(account.gateway, json.loads(account.settings or "{}"))
    try:
        yield adapter
    finally:
        adapter.close()


@dataclass(frozen=True)
class RefundAsk:
    """One refund to reserve (``request_refunds``)."""

    merchant: Merchant
    order_id: int
    amount: Money
    idempotency_key: str
    reference: str
    lines: Sequence[tuple[int, int]] | None = None

    @property
    def lock_key(self) -> str:
        return f"refund:{self.merchant.pk}:{self.idempotency_key}"


def request_refund(
    *,
    merchant: Merchant,
    order_id: int,
    amount: Money,
    idempotency_key: str,
    reference: str,
    lines: Sequence[tuple[int, int]] | None = None,
) -> list[Refund]:
    """Reserve ``amount`` across the order's card and wallet payments (most recent first).

    Once per ``idempotency_key``: a repeat returns the first call's rows. Cash-on-delivery
    payments are refunded by bank transfer, not through a gateway, so they take no part.
    ``lines`` — ``(order_line_id, amount_minor)`` adding up to ``amount`` — counts the
    refund against what was paid for each line in the same transaction (payments locked
    first, then the lines); more than a line has left refuses the whole refund. Only money
    that belongs to no line (goodwill, shipping) leaves it out.
    """
    return request_refunds(
        [RefundAsk(merchant, order_id, amount, idempotency_key, reference, lines)]
    )[0]


def request_refunds(asks: Sequence[RefundAsk]) -> list[list[Refund]]:
    """``request_refund`` for several refunds at once, all or nothing: each ask's rows, in
    order. A refusal (``RefundNotPossible``, a line's cap) refuses them all, and nothing is
    written. Each ask is split on the payments as the asks before it left them; a repeated
    key returns the first call's rows. About eight statements however many asks."""
    for ask in asks:
        if not ask.idempotency_key or len(ask.idempotency_key) > 80:
            raise InvalidInput(_("An idempotency key of 1 to 80 characters is required."))
        _check_lines(ask.lines, ask.amount)
    if not asks:
        return []
    try:
        with transaction.atomic():
            lock_keys([ask.lock_key for ask in asks])
            # Repeats are found here, under the keys' locks (rare: no unlocked look first).
            return _reserve_refunds(asks, _parts_of(asks))
    except IntegrityError:
        # Another caller with the same key won the race (SQLite has no advisory lock).
        existing = _parts_of(asks)
        if all(existing.get((ask.merchant.pk, ask.idempotency_key)) for ask in asks):
            return [existing[ask.merchant.pk, ask.idempotency_key] for ask in asks]
        raise


def _reserve_refunds(
    asks: Sequence[RefundAsk], existing: Mapping[tuple[int, str], list[Refund]]
) -> list[list[Refund]]:
    new = [ask for ask in asks if (ask.merchant.pk, ask.idempotency_key) not in existing]
    # The orders' payments, locked in primary-key order; split in memory, each ask after
    # those before it, and written once at the end.
    payments: dict[int, list[Payment]] = {}
    for payment in lock_payments_of(
        merchant_ids=[ask.merchant.pk for ask in new], order_ids=[ask.order_id for ask in new]
    ):
        payments.setdefault(payment.order_id, []).append(payment)
    now = clock.now()
    planned: list[tuple[RefundAsk, list[tuple[Payment, int]]]] = []
    line_counts: list[LineCount] = []
    for ask in new:
        usable = [
            p
            for p in payments.get(ask.order_id, [])
            if p.merchant_id == ask.merchant.pk
            and p.currency == ask.amount.currency
            and p.method != PaymentMethod.CASH_ON_DELIVERY
        ]
        try:
            parts = split_refund(
                [(p.pk, p.captured_minor - p.refunded_minor) for p in usable], ask.amount.minor
            )
        except NotRefundable:
            raise RefundNotPossible(
                details={
                    "amount_minor": ask.amount.minor,
                    "refundable_minor": sum(p.captured_minor - p.refunded_minor for p in usable),
                }
            ) from None
        by_id = {p.pk: p for p in usable}
        for payment_id, part in parts:
            by_id[payment_id].refunded_minor += part  # the next ask sees this one
        planned.append((ask, [(by_id[payment_id], part) for payment_id, part in parts]))
        if ask.lines is not None:
            # Each payment's part carries its own lines, so a part the gateway refuses
            # gives back exactly those (``_to_review``).
            line_counts.append(
                LineCount(
                    ask.merchant.pk,
                    LineRefundKind.REFUND,
                    ask.reference,
                    ask.lines,
                    [(_part_key(ask.idempotency_key, pid), part) for pid, part in parts],
                )
            )
    count_refunds_on_lines(line_counts)
    # The database refuses a payment refunded above what it captured (the CHECK
    # ``payment_refund_within_captured``); the payments are locked, so values are written.
    save_refunded(payments=[p for _ask, parts in planned for p, _part in parts])
    created = Refund.objects.bulk_create(
        [
            Refund(
                merchant=ask.merchant,
                payment_id=payment.pk,
                gateway=payment.gateway,
                amount_minor=part,
                currency=ask.amount.currency,
                idempotency_key=_part_key(ask.idempotency_key, payment.pk),
                request_key=ask.idempotency_key,
                reference=ask.reference,
                created_at=now,
            )
            for ask, parts in planned
            for payment, part in parts
        ]
    )
    rows = iter(created)
    made = {
        (ask.merchant.pk, ask.idempotency_key): [next(rows) for _part in parts]
        for ask, parts in planned
    }
    record_many(
        [
            NewEvent(
                "RefundRequested",
                {
                    "refund_ids": [r.pk for r in made[ask.merchant.pk, ask.idempotency_key]],
                    "reference": ask.reference,
                    "amount_minor": ask.amount.minor,
                    "currency": ask.amount.currency,
                },
                merchant_id=ask.merchant.pk,
                aggregate_type="order",
                aggregate_id=ask.order_id,
            )
            for ask, _parts in planned
        ]
    )
    return [
        existing.get((ask.merchant.pk, ask.idempotency_key))
        or made[ask.merchant.pk, ask.idempotency_key]
        for ask in asks
    ]


def _part_key(request_key: str, payment_id: int) -> str:
    return f"{request_key}:p{payment_id}"


def _check_lines(lines: Sequence[tuple[int, int]] | None, amount: Money) -> None:
    if lines is None:
        return
    if any(part < 0 for _line, part in lines) or sum(part for _line, part in lines) != (
        amount.minor
    ):
        raise InvalidInput(_("The lines' amounts must add up to the amount."), field="lines")


def _parts_of(asks: Sequence[RefundAsk]) -> dict[tuple[int, str], list[Refund]]:
    """The rows earlier calls made for the asks' keys, by (merchant, key)."""
    found: dict[tuple[int, str], list[Refund]] = {}
    for refund in Refund.objects.filter(
        merchant_id__in=sorted({ask.merchant.pk for ask in asks}),
        request_key__in=sorted({ask.idempotency_key for ask in asks}),
    ).order_by("pk"):
        found.setdefault((refund.merchant_id, refund.request_key), []).append(refund)
    return found


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
        refund.attempts += 1  # as the update did (the claim keeps other workers out)
        try:
            result = gateway.refund(_refund_request(refund))
        except GatewayError as exc:
            if exc.retryable:
                Refund.objects.filter(pk=refund.pk).update(claimed_until=None)
                raise
            return _to_review(refund, exc.message)
    return _settle(refund, result)


def execute_refunds(*, refund_ids: Sequence[int]) -> None:
    """``execute_refund`` for several refunds at once (a burst's ``RefundRequested``): those
    never sent are claimed and marked sent together, in one transaction committed before
    any call (a worker that dies after the gateway acted leaves them "sent", and the next
    attempt asks the gateway what became of them), then sent through one adapter per
    gateway account and settled one by one. The others (sent before, claimed by another
    worker, settled) go through ``execute_refund``. Raises the first GatewayError whose
    outcome is still unknown once every refund has been tried (the job retries)."""
    ids = sorted(set(refund_ids))
    now = clock.now()
    with transaction.atomic():
        fresh = list(
            Refund.objects.select_for_update(skip_locked=True)
            .select_related("payment")
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .filter(pk__in=ids, status=RefundStatus.PENDING)
            .order_by("pk")
        )
        Refund.objects.filter(pk__in=[r.pk for r in fresh]).update(
            status=RefundStatus.SENT,
            attempts=F("attempts") + 1,
            claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
        )
    unknown: list[GatewayError] = []
    for refund_id in sorted(set(ids) - {r.pk for r in fresh}):
        try:
            execute_refund(refund_id=refund_id)
        except GatewayError as exc:
            unknown.append(exc)
    accounts: dict[tuple[int, str], GatewayAccount] = {}
    for active in GatewayAccount.objects.filter(
        merchant_id__in={r.merchant_id for r in fresh}, active=True
    ).order_by("pk"):
        accounts.setdefault((active.merchant_id, active.gateway), active)
    by_account = itertools.groupby(
        sorted(fresh, key=lambda r: (r.merchant_id, r.gateway, r.pk)),
        key=lambda r: (r.merchant_id, r.gateway),
    )
    for key, refunds in by_account:
        account = accounts.get(key)
        if account is None:
            for refund in refunds:
                _to_review(refund, "no active account for this payment's gateway")
            continue
        with _using(account) as gateway:
            for refund in refunds:
                refund.status = RefundStatus.SENT  # as the claim wrote it
                refund.attempts += 1
                try:
                    result = gateway.refund(_refund_request(refund))
                except GatewayError as exc:
                    if not exc.retryable:
                        _to_review(refund, exc.message)
                        continue
                    Refund.objects.filter(pk=refund.pk).update(claimed_until=None)
                    unknown.append(exc)
                    continue
                _settle(refund, result)
    if unknown:
        raise unknown[0]


def _refund_request(refund: Refund) -> RefundRequest:
    return RefundRequest(
        payment_reference=refund.payment.reference,
        amount_minor=refund.amount_minor,
        currency=refund.currency,
        idempotency_key=refund.idempotency_key,
        reason="return",
        metadata={"reference": refund.reference},
    )


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
            refund.status = RefundStatus.SUCCEEDED
            refund.gateway_refund_id = result.refund_id[:200]
            refund.settled_at = now
            refund.claimed_until = None
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
            return refund  # as written above: no need to read it back
    refund.refresh_from_db()
    return refund


def _to_review(refund: Refund, message: str) -> Refund:
    """The gateway said no: staff decide, and the payment gets the reserved amount back."""
    with transaction.atomic():
        updated = Refund.objects.filter(
            pk=refund.pk, status__in=[RefundStatus.PENDING, RefundStatus.SENT]
        ).update(status=RefundStatus.REVIEW, failure_message=message[:500], claimed_until=None)
        if updated:
            _give_back_reserved(refund)
            record_event(
                "RefundNeedsReview",
                {"refund_id": refund.pk, "reference": refund.reference, "message": message[:500]},
                merchant_id=refund.merchant_id,
                aggregate_type="refund",
                aggregate_id=refund.pk,
            )
    refund.refresh_from_db()
    return refund


def _give_back_reserved(refund: Refund) -> None:
    """The refund's amount goes back to its payment and its order lines (its money did not
    move); payments before lines, as when it was reserved. Inside the caller's transaction."""
    count_refund_on_payments(parts=[(refund.payment_id, -refund.amount_minor)])
    release_line_refunds(merchant_id=refund.merchant_id, key=refund.idempotency_key)


# -- bank transfers (cash-on-delivery refunds) ---------------------------------------------------


@dataclass(frozen=True)
class PayoutAsk:
    """One refund by bank transfer to queue (``request_bank_payouts``)."""

    merchant: Merchant
    amount: Money
    creditor_name: str
    creditor_iban: str
    idempotency_key: str
    reference: str
    lines: Sequence[tuple[int, int]] | None = None


def request_bank_payout(
    *,
    merchant: Merchant,
    amount: Money,
    creditor_name: str,
    creditor_iban: str,
    idempotency_key: str,
    reference: str,
    lines: Sequence[tuple[int, int]] | None = None,
) -> BankPayout:
    """Queue a refund by bank transfer for the merchant's next transfer file (once per key).

    ``lines`` counts it against what was paid for each order line, as ``request_refund``.
    """
    return request_bank_payouts(
        [
            PayoutAsk(
                merchant, amount, creditor_name, creditor_iban, idempotency_key, reference, lines
            )
        ]
    )[0]


def request_bank_payouts(asks: Sequence[PayoutAsk]) -> list[BankPayout]:
    """``request_bank_payout`` for several transfers at once, all or nothing (a line's cap
    refuses them all): each ask's row, in order; a repeated key returns the first call's."""
    existing = _payouts_of(asks)
    new = [ask for ask in asks if (ask.merchant.pk, ask.idempotency_key) not in existing]
    for ask in new:
        if ask.amount.minor <= 0:
            raise InvalidInput(_("A transfer must be of a positive amount."), field="amount")
        _check_lines(ask.lines, ask.amount)
    if not new:
        return [existing[ask.merchant.pk, ask.idempotency_key] for ask in asks]
    now = clock.now()
    try:
        with transaction.atomic():
            count_refunds_on_lines(
                [
                    LineCount(
                        ask.merchant.pk,
                        LineRefundKind.BANK_TRANSFER,
                        ask.reference,
                        ask.lines,
                        [(ask.idempotency_key, ask.amount.minor)],
                    )
                    for ask in new
                    if ask.lines is not None
                ]
            )
            created = BankPayout.objects.bulk_create(
                [
                    BankPayout(
                        merchant=ask.merchant,
                        reference=ask.reference,
                        amount_minor=ask.amount.minor,
                        currency=ask.amount.currency,
                        creditor_name=ask.creditor_name,
                        creditor_iban=ask.creditor_iban,
                        idempotency_key=ask.idempotency_key,
                        created_at=now,
                    )
                    for ask in new
                ]
            )
            record_many(
                [
                    NewEvent(
                        "BankPayoutRequested",
                        {
                            "payout_id": payout.pk,
                            "reference": payout.reference,
                            "amount_minor": payout.amount_minor,
                        },
                        merchant_id=payout.merchant_id,
                        aggregate_type="payout",
                        aggregate_id=payout.pk,
                    )
                    for payout in created
                ]
            )
    except IntegrityError:
        # Another caller with the same key won the race.
        existing = _payouts_of(asks)
        if not all((ask.merchant.pk, ask.idempotency_key) in existing for ask in asks):
            raise
        return [existing[ask.merchant.pk, ask.idempotency_key] for ask in asks]
    existing.update({(p.merchant_id, p.idempotency_key): p for p in created})
    return [existing[ask.merchant.pk, ask.idempotency_key] for ask in asks]


def _payouts_of(asks: Sequence[PayoutAsk]) -> dict[tuple[int, str], BankPayout]:
    """The transfers earlier calls queued for the asks' keys, by (merchant, key)."""
    if not asks:
        return {}
    return {
        (payout.merchant_id, payout.idempotency_key): payout
        for payout in BankPayout.objects.filter(
            merchant_id__in=sorted({ask.merchant.pk for ask in asks}),
            idempotency_key__in=sorted({ask.idempotency_key for ask in asks}),
        )
    }


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


# -- payment links (exchanges: a price difference, items never returned) --------------------


class PaymentLinksUnavailable(DomainError):
    code = "payment_links_unavailable"
    status = 409
    default_message = _("None of the store's payment gateways can send a payment link.")


def payment_link_account(*, merchant_id: int) -> GatewayAccount | None:
    """The merchant's first active gateway account that can make payment links, if any."""
    for account in GatewayAccount.objects.filter(merchant_id=merchant_id, active=True).order_by(
        "pk"
    ):
        if account.gateway in ADAPTERS and gateway_class(account.gateway).supports_payment_links:
            return account
    return None


def create_payment_link(
    *, merchant_id: int, request: PaymentLinkRequest
) -> tuple[str, PaymentLink]:
    """Ask the merchant's gateway for a link the shopper pays (an HTTP call: never inside a
    transaction); returns the gateway's code and the link. Raises ``PaymentLinksUnavailable``
    or the gateway's ``GatewayError`` (``retryable`` when the outcome is unknown)."""
    account = payment_link_account(merchant_id=merchant_id)
    if account is None:
        raise PaymentLinksUnavailable()
    with _using(account) as gateway:
        return account.gateway, gateway.create_payment_link(request)


# -- inbound webhooks (a paid payment link) -----------------------------------------------------


@dataclass(frozen=True)
class GatewayWebhookReceipt:
    http_status: int
    code: str  # accepted, duplicate, unknown_account, rejected, malformed
    detail: str = ""


def receive_gateway_webhook(
    *, public_id: str, headers: Mapping[str, str], body: bytes, enqueue: bool = True
) -> GatewayWebhookReceipt:
    """Verify a gateway's delivery, store it raw under its event id, and queue its processing.

    Nothing is stored unless the signature holds and the body can be read. A repeated event
    id is acknowledged (the gateway stops retrying) and ignored. An account since replaced
    by another still takes deliveries: a link it made may be paid after the switch.
    """
    account = GatewayAccount.objects.filter(public_id=public_id).first() if public_id else None
    if account is None or account.gateway not in ADAPTERS:
        return GatewayWebhookReceipt(404, "unknown_account")
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        with _using(account) as gateway:
            gateway.verify_webhook(headers=lowered, body=body)
            event = gateway.parse_webhook(body=body)
        text = body.decode("utf-8")
    except WebhookRejected as exc:
        return GatewayWebhookReceipt(401, "rejected", exc.reason)
    except (MalformedWebhook, UnicodeDecodeError) as exc:
        return GatewayWebhookReceipt(400, "malformed", str(exc)[:300])
    try:
        with transaction.atomic():
            row = GatewayWebhook.objects.create(
                merchant_id=account.merchant_id,
                account=account,
                event_id=event.event_id[:200],
                body=text,
                received_at=clock.now(),
            )
    except IntegrityError:
        return GatewayWebhookReceipt(200, "duplicate")
    if enqueue:
        webhook_id = row.pk
        transaction.on_commit(lambda: _enqueue_webhook(webhook_id))
    return GatewayWebhookReceipt(202, "accepted")


def _enqueue_webhook(webhook_id: int) -> None:
    enqueue: Callable[[int], object] = import_string(django_settings.AWDA_GATEWAY_WEBHOOK_ENQUEUE)
    try:
        enqueue(webhook_id)
    except Exception:
        # The row is safe; the sweep picks it up. The gateway must still get its 2xx.
        log.exception("could not queue gateway webhook %s", webhook_id)


@dataclass(frozen=True)
class StoredGatewayEvent:
    """A stored delivery read again for processing: ``event`` is None when it can't be
    (``error`` says why)."""

    webhook_id: int
    merchant_id: int
    gateway: str
    event: GatewayEvent | None
    error: str = ""
    account_id: int = 0


def stored_gateway_event(*, webhook_id: int) -> StoredGatewayEvent | None:
    """A stored delivery not yet processed, its row locked for the caller's transaction
    (so two jobs don't apply it at once); None when it is gone or done."""
    row = (
        GatewayWebhook.objects.select_for_update(of=("self",))
        .select_related("account")
        .filter(pk=webhook_id, processed_at__isnull=True)
        .first()
    )
    if row is None:
        return None
    try:
        with _using(row.account) as gateway:
            event: GatewayEvent | None = gateway.parse_webhook(body=row.body.encode("utf-8"))
        error = ""
    except MalformedWebhook as exc:
        event, error = None, f"unreadable: {exc}"
    return StoredGatewayEvent(
        row.pk, row.merchant_id, row.account.gateway, event, error, row.account_id
    )


def finish_gateway_webhook(*, webhook_id: int, outcome: str) -> None:
    """Mark a stored delivery processed, with what became of it."""
    GatewayWebhook.objects.filter(pk=webhook_id, processed_at__isnull=True).update(
        processed_at=clock.now(), outcome=outcome[:300]
    )


def pending_gateway_webhook_ids(*, older_than_seconds: int = 60, limit: int = 500) -> list[int]:
    """Stored deliveries whose job never ran (lost between commit and enqueue)."""
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    return list(
        GatewayWebhook.objects.filter(processed_at__isnull=True, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )


# -- reconciliation against the gateways' own records -------------------------------------------

RECONCILE_WINDOW = timedelta(days=3)
# How the adapters say "no such refund": the sandbox and Moyasar, Stripe, a bare HTTP 404.
_ABSENT_CODES = frozenset({"not_found", "resource_missing", "http_404"})


@dataclass
class Reconciliation:
    """What one pass found. ``checked``: refunds asked about. ``settled``: finished at the
    gateway while still open here, now settled as the send job would have (one
    ``RefundIssued``). ``refused``: refused there while open here, to review the usual way.
    ``mismatches``: our record and the gateway's disagree (to review, ``RefundMismatchFound``).
    ``unanswered``: the gateway could not say (unreachable, no active account); next pass."""

    checked: int = 0
    settled: int = 0
    refused: int = 0
    mismatches: int = 0
    unanswered: int = 0
    mismatched_ids: list[int] = field(default_factory=list)


def reconcile_refunds(
    *, merchant: Merchant | None = None, since: datetime | None = None
) -> Reconciliation:
    """Compare refunds sent or confirmed since ``since`` (default: the last three days) with
    what their gateway holds now, and act on any difference.

    Open here (``sent``) and finished there: settled, as the send job would have; refused
    there: to review. Confirmed here (``succeeded``) but failed or cancelled there, unknown
    there, or of another amount: to review with the gateway's words, counted as a mismatch.
    ``pending`` refunds are left out: ``sent`` is committed before any call, so a gateway has
    never seen them (the send job owns them). No transaction is held while a gateway is
    asked, and an open refund is claimed first, as ``execute_refund`` claims it, so the two
    never talk to the gateway about one refund at once.
    """
    rows = Refund.objects.filter(
        status__in=[RefundStatus.SENT, RefundStatus.SUCCEEDED],
        created_at__gte=since if since is not None else clock.now() - RECONCILE_WINDOW,
    )
    if merchant is not None:
        rows = rows.filter(merchant_id=merchant.pk)
    summary = Reconciliation()
    listed = rows.order_by("merchant_id", "gateway", "pk").values_list(
        "merchant_id", "gateway", "pk"
    )
    for (merchant_id, code), group in itertools.groupby(listed, key=lambda row: row[:2]):
        ids = [pk for _merchant, _code, pk in group]
        account = GatewayAccount.objects.filter(
            merchant_id=merchant_id, gateway=code, active=True
        ).first()
        if account is None or code not in ADAPTERS:
            summary.unanswered += len(ids)
            continue
        with _using(account) as gateway:
            for refund_id in ids:
                _reconcile(gateway, refund_id, summary)
    return summary


def reconcile_reported_refund(*, account_id: int, reported: RefundResult) -> str:
    """A gateway's webhook says one of its refunds changed: reconcile ours now (as the
    hourly pass would), rather than within the hour. The gateway is asked again — the body
    only says which refund — and no transaction is held meanwhile. Ours is found by the
    gateway's refund id, or, for a refund whose answer was lost (sent, no id yet), by the
    payment it was made on. Returns what became of it, for the delivery's row."""
    account = GatewayAccount.objects.filter(pk=account_id).first()
    if account is None or account.gateway not in ADAPTERS or not reported.refund_id:
        return "ignored: no such account or refund"
    named = Q(gateway_refund_id=reported.refund_id)
    if reported.payment_reference:
        named |= Q(
            gateway_refund_id="",
            status=RefundStatus.SENT,
            payment__reference=reported.payment_reference,
        )
    ids = list(
        Refund.objects.filter(
            named,
            merchant_id=account.merchant_id,
            gateway=account.gateway,
            status__in=[RefundStatus.SENT, RefundStatus.SUCCEEDED],
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        return f"refund {reported.refund_id}: none of ours open"[:300]
    summary = Reconciliation()
    with _using(account) as gateway:
        for refund_id in ids:
            _reconcile(gateway, refund_id, summary)
    return (
        f"refund {reported.refund_id}: checked {summary.checked}, settled {summary.settled},"
        f" refused {summary.refused}, mismatches {summary.mismatches},"
        f" unanswered {summary.unanswered}"
    )[:300]


def _reconcile(gateway: Gateway, refund_id: int, summary: Reconciliation) -> None:
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status == RefundStatus.SENT:
        now = clock.now()
        claimed = Refund.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            pk=refund.pk,
            status=RefundStatus.SENT,
        ).update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
        if not claimed:
            return  # a worker is asking the gateway about it right now
    elif refund.status != RefundStatus.SUCCEEDED:
        return  # moved on since it was listed
    summary.checked += 1
    try:
        found, words = _gateway_record(gateway, refund)
    except GatewayError:
        _unclaim(refund)
        summary.unanswered += 1
        return
    if refund.status == RefundStatus.SENT:
        _reconcile_open(refund, found, words, summary)
    else:
        _reconcile_confirmed(refund, found, words, summary)


def _gateway_record(gateway: Gateway, refund: Refund) -> tuple[RefundResult | None, str]:
    """The gateway's refund (by its id when we have it, else by our key), or None and the
    gateway's words for "not there"."""
    if refund.gateway_refund_id:
        try:
            return gateway.fetch_refund(refund_id=refund.gateway_refund_id), ""
        except GatewayError as exc:
            if exc.code not in _ABSENT_CODES:
                raise
            return None, exc.message
    found = gateway.find_refund(
        payment_reference=refund.payment.reference, idempotency_key=refund.idempotency_key
    )
    return found, "" if found else f"no refund of {refund.payment.reference} carries our key"


def _reconcile_open(
    refund: Refund, found: RefundResult | None, words: str, summary: Reconciliation
) -> None:
    if found is None:
        if refund.gateway_refund_id:  # the gateway named it once, and now knows it not
            _mismatch(refund, "absent", words, None, summary, give_back=False)
        else:
            # Never arrived (or the answer is still on its way): the send job asks again,
            # under the same key, once the claim allows.
            _unclaim(refund)
        return
    if _other_amount(refund, found):
        _mismatch(refund, "amount", _amount_words(refund, found), found, summary, give_back=False)
        return
    settled = _settle(refund, found)
    if settled.status == RefundStatus.SUCCEEDED:
        summary.settled += 1
    elif settled.status == RefundStatus.REVIEW:
        summary.refused += 1


def _reconcile_confirmed(
    refund: Refund, found: RefundResult | None, words: str, summary: Reconciliation
) -> None:
    if found is None:
        _mismatch(refund, "absent", words, None, summary, give_back=False)
    elif found.status in (GatewayStatus.FAILED, GatewayStatus.CANCELLED):
        # The money went back to the merchant (a card closed since, a reversal): it never
        # reached the shopper, so the payment gets the amount back, as for a refusal.
        words = found.failure_message or f"refund {found.status}"
        _mismatch(refund, str(found.status), words, found, summary, give_back=True)
    elif _other_amount(refund, found):
        _mismatch(refund, "amount", _amount_words(refund, found), found, summary, give_back=False)
    # PENDING: nothing is concluded from it (an adapter reads words it doesn't know so).


def _other_amount(refund: Refund, found: RefundResult) -> bool:
    if found.amount_minor != refund.amount_minor:
        return True
    # An adapter that can't tell the currency says nothing about it.
    return bool(found.currency) and found.currency.upper() != refund.currency.upper()


def _amount_words(refund: Refund, found: RefundResult) -> str:
    return (
        f"the gateway's refund {found.refund_id} is {found.amount_minor} {found.currency},"
        f" ours {refund.amount_minor} {refund.currency}"
    )


def _mismatch(
    refund: Refund,
    kind: str,
    words: str,
    found: RefundResult | None,
    summary: Reconciliation,
    *,
    give_back: bool,
) -> None:
    """Our record and the gateway's disagree: staff decide, with the gateway's words.

    ``give_back`` only when the gateway says the money did not move; otherwise the amount
    stays counted on the payment, so nothing is refunded on top of what may have left.
    """
    message = f"reconciliation ({kind}): {words}"[:500]
    with transaction.atomic():
        updated = Refund.objects.filter(pk=refund.pk, status=refund.status).update(
            status=RefundStatus.REVIEW, failure_message=message, claimed_until=None
        )
        if not updated:
            return
        if give_back:
            _give_back_reserved(refund)
        record_events(
            [
                (
                    "RefundNeedsReview",
                    {"refund_id": refund.pk, "reference": refund.reference, "message": message},
                ),
                (
                    "RefundMismatchFound",
                    {
                        "refund_id": refund.pk,
                        "reference": refund.reference,
                        "kind": kind,
                        "recorded_status": refund.status,
                        "amount_minor": refund.amount_minor,
                        "currency": refund.currency,
                        "gateway_refund_id": found.refund_id if found else "",
                        "gateway_status": str(found.status) if found else "",
                        "gateway_amount_minor": found.amount_minor if found else None,
                        "amount_given_back": give_back,
                        "message": message,
                    },
                ),
            ],
            merchant_id=refund.merchant_id,
            aggregate_type="refund",
            aggregate_id=refund.pk,
        )
    summary.mismatches += 1
    summary.mismatched_ids.append(refund.pk)


def _unclaim(refund: Refund) -> None:
    Refund.objects.filter(pk=refund.pk, status=RefundStatus.SENT).update(claimed_until=None)
