"""Real concurrency on PostgreSQL: the account's row lock, the advisory lock on a new
account and the unique idempotency key keep the ledger whole, whatever the races."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection

from awda.core import clock
from awda.core.errors import DomainError
from awda.core.models import Event
from awda.core.money import Money
from awda.wallet.models import CreditAccount, EntryKind, LedgerEntry, LedgerTransaction
from awda.wallet.services import (
    GrantAsk,
    claw_back_store_credit,
    expire_store_credit,
    grant_store_credit,
    grant_store_credits,
    redeem_store_credit,
)
from tests import factories
from tests.wallet.checks import assert_ledger_consistent, customer

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

ATTEMPTS = 50


def _race(n: int, attempt: Callable[[int], Any]) -> list[Any]:
    """Run ``attempt(i)`` in ``n`` threads released at the same instant."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        try:
            return attempt(i)
        except DomainError as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def sar(minor: int) -> Money:
    return Money(minor, "SAR")


def _grant(m, c, minor: int, key: str, **kw: Any):
    return grant_store_credit(
        merchant=m,
        customer=c,
        amount=sar(minor),
        idempotency_key=key,
        reference="R-1",
        actor="agent:1",
        **kw,
    )


def test_fifty_parallel_redemptions_of_10_against_100_let_exactly_ten_through(db):
    merchant = factories.merchant()
    code = _grant(merchant, customer(merchant), 10000, "grant-1").code

    def attempt(i: int) -> str:
        redeem_store_credit(
            merchant=merchant,
            code=code,
            amount=sar(1000),
            idempotency_key=f"checkout-{i:04}",
            reference=f"order {i}",
        )
        return "redeemed"

    outcomes = Counter(_race(ATTEMPTS, attempt))
    assert outcomes == {"redeemed": 10, "insufficient_credit": ATTEMPTS - 10}
    account = CreditAccount.objects.get()
    assert account.balance_minor == 0
    assert LedgerEntry.objects.filter(kind=EntryKind.DEBIT).count() == 10
    assert Event.objects.filter(name="StoreCreditRedeemed").count() == 10
    assert_ledger_consistent(merchant)


def test_fifty_parallel_redemptions_with_one_key_spend_once(db):
    merchant = factories.merchant()
    code = _grant(merchant, customer(merchant), 10000, "grant-1").code

    def attempt(_i: int) -> int:
        return redeem_store_credit(
            merchant=merchant,
            code=code,
            amount=sar(1000),
            idempotency_key="checkout-same",
            reference="order 1",
        ).transaction_id

    assert len(set(_race(ATTEMPTS, attempt))) == 1
    assert CreditAccount.objects.get().balance_minor == 9000
    assert LedgerEntry.objects.filter(kind=EntryKind.DEBIT).count() == 1
    assert_ledger_consistent(merchant)


def test_fifty_parallel_grants_with_one_key_credit_once(db):
    merchant = factories.merchant()
    shopper = customer(merchant)

    def attempt(_i: int) -> tuple[int, bool]:
        result = _grant(merchant, shopper, 10000, "refund-R-1", bonus=sar(1000))
        return result.transaction_id, result.code is not None

    results = _race(ATTEMPTS, attempt)
    assert len({txn for txn, _ in results}) == 1
    assert sum(shown for _, shown in results) == 1  # the code went to the one real grant
    assert CreditAccount.objects.count() == 1
    assert CreditAccount.objects.get().balance_minor == 11000
    assert LedgerTransaction.objects.count() == 1
    assert Event.objects.filter(name="StoreCreditGranted").count() == 1
    assert_ledger_consistent(merchant)


def test_fifty_parallel_first_grants_for_a_new_customer_open_one_account(db):
    merchant = factories.merchant()
    shopper = customer(merchant)

    def attempt(i: int) -> bool:
        return _grant(merchant, shopper, 100, f"grant-{i:04}").code is not None

    shown = _race(ATTEMPTS, attempt)
    assert shown.count(True) == 1
    assert CreditAccount.objects.count() == 1
    assert CreditAccount.objects.get().balance_minor == 100 * ATTEMPTS
    assert_ledger_consistent(merchant)


def test_redemptions_clawbacks_grants_and_expiry_racing_on_one_account_keep_the_ledger_whole(
    db,
):
    merchant = factories.merchant()
    shopper = customer(merchant)
    code = _grant(merchant, shopper, 5000, "grant-old", expires_at=factories.days_ago(-1)).code
    _grant(merchant, shopper, 5000, "grant-new")
    later = clock.now() + timedelta(days=2)

    def attempt(i: int) -> str:
        match i % 4:
            case 0:
                redeem_store_credit(
                    merchant=merchant,
                    code=code,
                    amount=sar(700),
                    idempotency_key=f"checkout-{i:04}",
                    reference=f"order {i}",
                )
            case 1:
                claw_back_store_credit(
                    merchant=merchant,
                    customer=shopper,
                    amount=sar(900),
                    idempotency_key=f"clawback-{i:04}",
                    reference="R-1",
                    actor="warehouse:1",
                )
            case 2:
                _grant(merchant, shopper, 300, f"grant-{i:04}")
            case _:
                expire_store_credit(now=later)
        return "ok"

    outcomes = Counter(_race(40, attempt))
    assert set(outcomes) <= {"ok", "insufficient_credit"}
    assert_ledger_consistent(merchant)
    # Each credit expired at most once (the one-to-one column), and the balance held.
    expired = LedgerEntry.objects.filter(kind=EntryKind.EXPIRY).values_list(
        "expired_entry_id", flat=True
    )
    assert len(expired) == len(set(expired))
    assert CreditAccount.objects.get().balance_minor >= 0


def test_overlapping_grant_lists_in_any_order_credit_each_key_once_without_deadlock(db):
    """Lists of grants to overlapping customers, half of them with no account yet, each list
    in its own order and every list sent twice: the accounts are locked or opened in one
    fixed order, so the lists queue instead of deadlocking, and each key credits once."""
    merchant = factories.merchant()
    shoppers = [customer(merchant, email=f"s{i}@example.com") for i in range(8)]
    for shopper in shoppers[:4]:
        _grant(merchant, shopper, 100, f"opening-{shopper.pk}")

    def asks(i: int) -> list[GrantAsk]:
        chosen = [shoppers[(i // 2 + step) % 8] for step in range(0, 8, 2)]  # four each
        if i // 2 % 2:
            chosen.reverse()
        return [
            GrantAsk(shopper, sar(1000 + i), f"list-{i // 2}-{shopper.pk}", f"R-{i}", "system")
            for shopper in chosen
        ]

    def attempt(i: int) -> list[int]:
        # i and i + 1 send the same keys for the same amounts: a retried list.
        grants = grant_store_credits(merchant=merchant, asks=asks(i - i % 2))
        return [g.transaction_id for g in grants]

    results = _race(ATTEMPTS - ATTEMPTS % 2, attempt)

    assert all(isinstance(r, list) for r in results), results  # no deadlock, no refusal
    for i in range(0, len(results), 2):
        assert results[i] == results[i + 1]  # the retried list got the same transactions
    granted = LedgerTransaction.objects.filter(idempotency_key__startswith="list-")
    assert granted.count() == len(results) // 2 * 4
    for shopper in shoppers:
        expected = sum(
            1000 + i
            for i in range(0, len(results), 2)
            for ask in asks(i)
            if ask.customer.pk == shopper.pk
        ) + (100 if shopper in shoppers[:4] else 0)
        assert CreditAccount.objects.get(customer=shopper).balance_minor == expected
    assert CreditAccount.objects.filter(merchant=merchant).count() == 8
    assert_ledger_consistent(merchant)
