"""Several returns' money issued in one transaction (``issue_resolutions_together``, the
outbox's batch for a burst of approvals or scans): each return gets exactly what it would
on its own, once; a refusal sends that one return to review; exchanges are left for one by
one."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.db.models import F

from awda.orders.models import OrderLine
from awda.payments.models import Refund, RefundStatus
from awda.returns.models import TimelineEntry
from awda.returns.services import issue_resolutions, issue_resolutions_together
from awda.wallet.models import CreditAccount, LedgerTransaction
from tests import factories
from tests.exchanges.helpers import exchange, shop, tee_order
from tests.services.test_money_flow import _fresh_sandbox, _return  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _together(return_ids: list[int], trigger: str = "ParcelDelivered") -> list[int]:
    with transaction.atomic():  # the dispatch's own transaction
        return issue_resolutions_together(return_ids=return_ids, trigger=trigger)


def test_a_batch_issues_each_returns_money_once_and_sends_a_refused_one_to_review():
    merchant = factories.merchant()
    _o1, card = _return(merchant, "refund")
    _o2, credit = _return(merchant, "store_credit")
    _o3, more_credit = _return(merchant, "store_credit")  # the same shopper's account
    o4, refused = _return(merchant, "refund")
    OrderLine.objects.filter(order=o4).update(refunded_minor=F("paid_minor"))
    ids = [refused.pk, more_credit.pk, card.pk, credit.pk]

    assert _together(ids, trigger="FirstScanRecorded") == []  # not what the timing waits for
    assert not Refund.objects.exists() and not TimelineEntry.objects.filter(kind="money_failed")
    assert _together(ids) == []

    (refund,) = Refund.objects.all()
    assert (refund.reference, refund.amount_minor) == (card.number, card.refund_total_minor)
    assert refund.status == RefundStatus.PENDING  # sent by its own job
    account = CreditAccount.objects.get()
    assert account.balance_minor == credit.store_credit_total_minor * 2
    assert LedgerTransaction.objects.filter(account=account).count() == 2
    for ret in (credit, more_credit):
        assert (
            TimelineEntry.objects.filter(return_request=ret, kind="store_credit_issued").count()
            == 1
        )
    refused.refresh_from_db()
    assert refused.money_review_reason == "line_refund_exceeds_paid"
    assert TimelineEntry.objects.filter(return_request=refused, kind="money_failed").count() == 1

    # A replayed batch, or the single path after it, finds everything done (the outbox's
    # markers keep a refused return from being tried again).
    assert _together([card.pk, credit.pk, more_credit.pk]) == []
    for ret in (card, credit, more_credit):
        assert issue_resolutions(return_id=ret.pk, trigger="ParcelDelivered") in (
            ["refund"],
            ["store_credit"],
        )
    assert Refund.objects.count() == 1 and LedgerTransaction.objects.count() == 2
    factories.run_jobs()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED


def test_exchanges_are_left_for_one_by_one():
    merchant = shop(refund_timing="immediate")
    swaps = [exchange(merchant, tee_order(merchant, stock=3), "TEE-S") for _ in range(2)]
    ids = sorted(swap.pk for swap in swaps)

    assert sorted(_together(ids, trigger="ReturnApproved")) == ids

    assert not Refund.objects.exists()  # nothing of theirs issued in the batch
    for swap in swaps:
        assert issue_resolutions(return_id=swap.pk, trigger="ReturnApproved") == ["exchange"]
