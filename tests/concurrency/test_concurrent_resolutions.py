"""Money jobs under real concurrency (PostgreSQL): fifty workers resolving the same returns
at once — batches of all of them (the outbox's burst path) and single jobs racing — issue
each return's refund or credit exactly once, and the fixed lock order keeps them from
deadlocking."""

from __future__ import annotations

import random

import pytest
from django.db import transaction

from awda.payments.models import Refund
from awda.returns.services import issue_resolutions, issue_resolutions_together
from awda.wallet.models import CreditAccount, LedgerTransaction, TransactionKind
from tests import factories
from tests.concurrency.test_concurrent_returns import ATTEMPTS, _race
from tests.services.test_money_flow import _fresh_sandbox, _return  # noqa: F401 (fixture)

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_fifty_workers_in_batches_and_alone_resolve_each_return_once(db):
    merchant = factories.merchant()
    # One shopper: every credit goes to one account, every refund to one of their orders.
    kinds = ["refund", "store_credit"] * 4
    returns = [_return(merchant, kind)[1] for kind in kinds]
    ids = [ret.pk for ret in returns]

    def attempt(i: int) -> str:
        if i % 2:
            batch = random.Random(i).sample(ids, k=len(ids))  # any order: locked in one
            with transaction.atomic():
                issue_resolutions_together(return_ids=batch, trigger="ParcelDelivered")
            return "batch"
        issue_resolutions(return_id=ids[i % len(ids)], trigger="ParcelDelivered")
        return "single"

    outcomes = _race(ATTEMPTS, attempt)  # a deadlock would raise here

    assert sorted(set(outcomes)) == ["batch", "single"]
    for ret, kind in zip(returns, kinds, strict=True):
        refunds = Refund.objects.filter(reference=ret.number)
        grants = LedgerTransaction.objects.filter(reference=ret.number, kind=TransactionKind.GRANT)
        if kind == "refund":
            assert (refunds.count(), grants.count()) == (1, 0)
            assert refunds.get().amount_minor == ret.refund_total_minor
        else:
            assert (refunds.count(), grants.count()) == (0, 1)
    account = CreditAccount.objects.get()
    assert account.balance_minor == sum(
        ret.store_credit_total_minor for ret, kind in zip(returns, kinds, strict=True)
        if kind == "store_credit"
    )  # fmt: skip
