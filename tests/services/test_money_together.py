"""Money for several resolutions written at once (the outbox's batch of a burst): refunds,
bank transfers, line counts and store credit each take a list, check every ask in memory
against the rows locked once, each after those before it, and write them in a few
statements: all or nothing, and every ask exactly as its single call would, once per key.
The single calls are lists of one, so the rest of the suite holds these to the same rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction

from awda.core import clock
from awda.core.db import lock_keys
from awda.core.errors import InvalidInput
from awda.core.models import Event
from awda.core.money import Money
from awda.core.outbox import NewEvent, record_many
from awda.orders.models import LineRefund, OrderLine, Payment
from awda.orders.services import LineCount, LineRefundExceedsPaid, count_refunds_on_lines
from awda.payments import services as payments
from awda.payments.models import BankPayout, Refund
from awda.payments.services import PayoutAsk, RefundAsk, RefundNotPossible
from awda.wallet.errors import IdempotencyKeyReused
from awda.wallet.models import CreditAccount, EntryKind, LedgerEntry, LedgerTransaction
from awda.wallet.services import GrantAsk, grant_store_credit, grant_store_credits
from tests import factories
from tests.wallet.checks import assert_ledger_consistent, customer

pytestmark = pytest.mark.django_db

IBAN = "SA0380000000608010167519"


def _order(merchant, *prices: int, payment_method: str = "card"):
    return factories.order(
        merchant,
        lines=[factories.line(str(i + 1), price=p) for i, p in enumerate(prices or (20000,))],
        payment_method=payment_method,
    )


def _lines(order) -> list[OrderLine]:
    return list(OrderLine.objects.filter(order=order).order_by("pk"))


def _sar(minor: int) -> Money:
    return Money(minor, "SAR")


def _nothing_written() -> None:
    assert not Refund.objects.exists() and not BankPayout.objects.exists()
    assert not LineRefund.objects.exists()
    assert not Payment.objects.filter(refunded_minor__gt=0).exists()
    assert not OrderLine.objects.filter(refunded_minor__gt=0).exists()
    assert not Event.objects.filter(
        name__in=["RefundRequested", "BankPayoutRequested", "StoreCreditGranted"]
    ).exists()


def test_refunds_together_are_each_split_after_those_before_them_and_kept_once(merchant):
    order = _order(merchant, 12000, 8000)
    first, second = _lines(order)
    asks = [
        RefundAsk(merchant, order.pk, _sar(12000), "ret-a", "R-A", [(first.pk, 12000)]),
        RefundAsk(merchant, order.pk, _sar(8000), "ret-b", "R-B", [(second.pk, 8000)]),
    ]

    a, b = payments.request_refunds(asks)

    assert [r.amount_minor for r in a + b] == [12000, 8000]
    assert [r.request_key for r in a + b] == ["ret-a", "ret-b"]
    assert Payment.objects.get(order=order).refunded_minor == 20000
    assert [line.refunded_minor for line in _lines(order)] == [12000, 8000]
    events = Event.objects.filter(name="RefundRequested").order_by("created_at", "id")
    assert sorted(tuple(e.payload["refund_ids"]) for e in events) == sorted(
        [(a[0].pk,), (b[0].pk,)]
    )
    # Asked again: the same rows, nothing more written.
    again = payments.request_refunds(asks)
    assert [[r.pk for r in rows] for rows in again] == [[a[0].pk], [b[0].pk]]
    assert Refund.objects.count() == 2 and LineRefund.objects.count() == 2
    assert Payment.objects.get(order=order).refunded_minor == 20000


def test_one_refused_refund_refuses_the_whole_list_and_writes_nothing(merchant):
    order, other = _order(merchant, 10000, 10000), _order(merchant, 20000)
    line, _second = _lines(order)

    with pytest.raises(RefundNotPossible) as refused:
        payments.request_refunds(
            [
                RefundAsk(merchant, other.pk, _sar(5000), "ok", "R-1"),
                RefundAsk(merchant, order.pk, _sar(20001), "too-much", "R-2"),
            ]
        )
    assert refused.value.details["refundable_minor"] == 20000
    _nothing_written()

    # The payment could take both, the line only the first: the second sees the first.
    with pytest.raises(LineRefundExceedsPaid) as capped:
        payments.request_refunds(
            [
                RefundAsk(merchant, order.pk, _sar(6000), "a", "R-3", [(line.pk, 6000)]),
                RefundAsk(merchant, order.pk, _sar(5000), "b", "R-4", [(line.pk, 5000)]),
            ]
        )
    assert capped.value.details == {
        "line_ref": "1",
        "paid_minor": 10000,
        "refunded_minor": 6000,
        "requested_minor": 5000,
    }
    _nothing_written()


def test_line_counts_together_see_each_other_skip_those_counted_and_stay_in_the_store(
    merchant,
):
    order = _order(merchant, 10000)
    (line,) = _lines(order)

    def count(key: str, amount: int, merchant_id: int = merchant.pk) -> LineCount:
        return LineCount(merchant_id, "refund", f"R-{key}", [(line.pk, amount)], [(key, amount)])

    count_refunds_on_lines([count("k1", 6000), count("k2", 4000)])
    count_refunds_on_lines([count("k1", 6000)])  # counted already: skipped

    line.refresh_from_db()
    assert line.refunded_minor == 10000
    assert sorted(LineRefund.objects.values_list("key", "amount_minor")) == [
        ("k1", 6000),
        ("k2", 4000),
    ]
    with pytest.raises(LineRefundExceedsPaid):
        count_refunds_on_lines([count("k3", 1)])
    with pytest.raises(InvalidInput) as foreign:
        count_refunds_on_lines([count("k4", 1, merchant_id=factories.merchant().pk)])
    assert foreign.value.field == "lines"
    assert LineRefund.objects.count() == 2


def test_bank_transfers_together_are_queued_once_each_or_not_at_all(merchant):
    first, second = (_order(merchant, 10000, payment_method="cash_on_delivery") for _ in "ab")
    (l1,), (l2,) = _lines(first), _lines(second)

    def ask(key: str, line: OrderLine, amount: int) -> PayoutAsk:
        return PayoutAsk(merchant, _sar(amount), "Sara", IBAN, key, f"R-{key}", [(line.pk, amount)])

    with pytest.raises(LineRefundExceedsPaid):
        payments.request_bank_payouts([ask("t1", l1, 10000), ask("t2", l2, 10001)])
    _nothing_written()

    made = payments.request_bank_payouts([ask("t1", l1, 10000), ask("t2", l2, 4000)])

    assert [p.amount_minor for p in made] == [10000, 4000]
    assert [p.idempotency_key for p in made] == ["t1", "t2"]
    assert Event.objects.filter(name="BankPayoutRequested").count() == 2
    assert [line.refunded_minor for line in (*_lines(first), *_lines(second))] == [10000, 4000]
    again = payments.request_bank_payouts([ask("t2", l2, 4000), ask("t1", l1, 10000)])
    assert [p.pk for p in again] == [made[1].pk, made[0].pk]
    assert BankPayout.objects.count() == 2


def test_credits_together_open_an_account_once_and_follow_one_another_on_it(merchant):
    sara, omar = customer(merchant, email="sara@example.com"), customer(merchant, email="o@x.sa")
    asks = [
        GrantAsk(sara, _sar(5000), "g1", "R-1", "system", bonus=_sar(500)),
        GrantAsk(sara, _sar(3000), "g2", "R-2", "system"),
        GrantAsk(omar, _sar(1000), "g3", "R-3", "system", valid_for=timedelta(days=30)),
    ]

    grants = grant_store_credits(merchant=merchant, asks=asks)

    assert [g.balance.minor for g in grants] == [5500, 8500, 1000]
    assert grants[0].code and grants[1].code is None and grants[2].code  # one per account
    assert CreditAccount.objects.get(customer=sara).balance_minor == 8500
    opened = Event.objects.filter(name="StoreCreditGranted").order_by("created_at", "id")
    assert sorted(e.payload["account_opened"] for e in opened) == [False, True, True]
    assert LedgerEntry.objects.get(account__customer=omar).expires_at is not None
    assert_ledger_consistent(merchant)

    # A repeat in another order replays each; a new ask beside it is granted.
    again = grant_store_credits(
        merchant=merchant, asks=[asks[2], GrantAsk(sara, _sar(100), "g4", "R-4", "s"), asks[0]]
    )
    assert [g.replayed for g in again] == [True, False, True]
    assert [g.transaction_id for g in (again[0], again[2])] == [
        grants[2].transaction_id,
        grants[0].transaction_id,
    ]
    assert again[2].balance.minor == 5500  # as right after that grant, from the ledger
    assert grant_store_credit(
        merchant=merchant, customer=sara, amount=_sar(3000), idempotency_key="g2",
        reference="R-2", actor="system",
    ).replayed  # fmt: skip

    # A key reused for another amount refuses the list, and writes nothing.
    with pytest.raises(IdempotencyKeyReused):
        grant_store_credits(
            merchant=merchant,
            asks=[
                GrantAsk(omar, _sar(700), "g5", "R-5", "s"),
                GrantAsk(sara, _sar(1), "g1", "R", "s"),
            ],
        )
    assert not LedgerTransaction.objects.filter(idempotency_key="g5").exists()
    assert CreditAccount.objects.get(customer=sara).balance_minor == 8600
    assert_ledger_consistent(merchant)


def test_credit_past_its_expiry_is_written_off_once_before_grants_together(merchant):
    sara = customer(merchant)
    grant_store_credit(
        merchant=merchant, customer=sara, amount=_sar(2000), idempotency_key="old",
        reference="R-0", actor="system", expires_at=clock.now() + timedelta(days=1),
    )  # fmt: skip

    with clock.frozen_at(clock.now() + timedelta(days=2)):
        grants = grant_store_credits(
            merchant=merchant,
            asks=[
                GrantAsk(sara, _sar(1000), "n1", "R-1", "system"),
                GrantAsk(sara, _sar(500), "n2", "R-2", "system"),
            ],
        )

    assert [g.balance.minor for g in grants] == [1000, 1500]
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRY).count() == 1
    assert_ledger_consistent(merchant)


def test_events_of_several_aggregates_are_written_and_handed_over_together(db):
    handed: list[list[str]] = []
    with transaction.atomic():
        rows = record_many(
            [
                NewEvent("A", {"n": 1}, None, "order", 1),
                NewEvent("B", {"n": 2}, None, "payout", "p-2"),
            ]
        )
        transaction.on_commit(lambda: handed.append([str(r.id) for r in rows]))
    assert [(e.name, e.aggregate_type, e.aggregate_id) for e in rows] == [
        ("A", "order", "1"),
        ("B", "payout", "p-2"),
    ]
    assert Event.objects.filter(pk__in=[r.pk for r in rows]).count() == 2
    assert record_many([]) == []


@pytest.mark.postgres_only
def test_advisory_locks_of_several_keys_are_taken_in_one_statement_and_held(
    django_db_blocker,
):
    with transaction.atomic():
        lock_keys(["b", "a", "b"])
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                " AND pid = pg_backend_pid()"
            )
            assert cursor.fetchone()[0] == 2
    lock_keys([])  # nothing to take
