"""Refunds to the original payment: reserved once, sent once, reconciled after a crash."""

from __future__ import annotations

import pytest

from awda.core.models import Event
from awda.core.money import Money
from awda.orders.models import Payment
from awda.payments import services
from awda.payments.gateways import sandbox
from awda.payments.gateways.base import GatewayError
from awda.payments.models import Refund, RefundStatus
from awda.payments.rules import NotRefundable, split_refund
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox.reset_sandbox()
    yield
    sandbox.reset_sandbox()


def _order(merchant, price=20000):
    return factories.order(merchant, lines=[factories.line("1", quantity=1, price=price)])


def _gateway(merchant, **settings):
    return services.connect_gateway(
        merchant=merchant, gateway="sandbox", name="Sandbox", settings=settings
    )


def test_a_refund_takes_the_most_recent_payment_first_and_sums_exactly() -> None:
    assert split_refund([(1, 5000), (2, 3000)], 4000) == [(2, 3000), (1, 1000)]
    assert split_refund([(1, 5000), (2, 0)], 5000) == [(1, 5000)]
    with pytest.raises(NotRefundable):
        split_refund([(1, 5000), (2, 3000)], 8001)


def test_a_refund_is_reserved_once_per_key_and_counted_on_the_payment(merchant) -> None:
    order = _order(merchant)
    first = services.request_refund(
        merchant=merchant, order_id=order.pk, amount=Money(15000, "SAR"),
        idempotency_key="ret-1", reference="R-1",
    )  # fmt: skip
    again = services.request_refund(
        merchant=merchant, order_id=order.pk, amount=Money(15000, "SAR"),
        idempotency_key="ret-1", reference="R-1",
    )  # fmt: skip

    assert [r.pk for r in first] == [r.pk for r in again]
    assert Payment.objects.get(order=order).refunded_minor == 15000
    assert Event.objects.filter(name="RefundRequested").count() == 1


def test_more_than_the_payments_have_left_is_refused_with_what_is_left(merchant) -> None:
    order = _order(merchant)
    services.request_refund(
        merchant=merchant, order_id=order.pk, amount=Money(15000, "SAR"),
        idempotency_key="a", reference="R-1",
    )  # fmt: skip
    with pytest.raises(services.RefundNotPossible) as refused:
        services.request_refund(
            merchant=merchant, order_id=order.pk, amount=Money(6000, "SAR"),
            idempotency_key="b", reference="R-2",
        )  # fmt: skip
    assert refused.value.details["refundable_minor"] == 5000


def test_the_database_refuses_a_payment_refunded_above_what_it_captured(merchant) -> None:
    from django.db import IntegrityError, transaction

    order = _order(merchant)
    payment = Payment.objects.get(order=order)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(refunded_minor=payment.captured_minor + 1)


def test_a_sent_refund_succeeds_once_and_says_so(merchant) -> None:
    _gateway(merchant)
    order = _order(merchant)
    (refund,) = services.request_refund(
        merchant=merchant, order_id=order.pk, amount=Money(10000, "SAR"),
        idempotency_key="k", reference="R-1",
    )  # fmt: skip

    done = services.execute_refund(refund_id=refund.pk)
    again = services.execute_refund(refund_id=refund.pk)

    assert done.status == again.status == RefundStatus.SUCCEEDED
    assert done.gateway_refund_id.startswith("sbx_re_") and done.attempts == 1
    assert Event.objects.filter(name="RefundIssued").count() == 1


def test_a_refusal_goes_to_review_with_the_gateways_words_and_frees_the_amount(merchant) -> None:
    _gateway(merchant, refund_outcome="fail")
    order = _order(merchant)
    (refund,) = services.request_refund(
        merchant=merchant, order_id=order.pk, amount=Money(10000, "SAR"),
        idempotency_key="k", reference="R-1",
    )  # fmt: skip

    reviewed = services.execute_refund(refund_id=refund.pk)

    assert reviewed.status == RefundStatus.REVIEW
    assert "declined" in reviewed.failure_message
    assert Payment.objects.get(order=order).refunded_minor == 0
    assert Event.objects.filter(name="RefundNeedsReview").count() == 1


def test_a_lost_answer_is_reconciled_not_refunded_again(merchant) -> None:
    account = _gateway(merchant, refund_outcome="timeout")
    order = _order(merchant)
    (refund,) = services.request_refund(
        merchant=merchant, order_id=order.pk, amount=Money(10000, "SAR"),
        idempotency_key="k", reference="R-1",
    )  # fmt: skip

    with pytest.raises(GatewayError):
        services.execute_refund(refund_id=refund.pk)  # the gateway refunded; we never heard
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.SENT
    account.settings = '{"refund_outcome": "succeeded"}'
    account.save()
    settled = services.execute_refund(refund_id=refund.pk)

    assert settled.status == RefundStatus.SUCCEEDED and settled.attempts == 1
    assert len(sandbox._refunds) == 1  # one refund at the gateway, found by its key


def test_a_worker_killed_after_the_gateway_acted_leaves_one_refund(merchant, monkeypatch) -> None:
    _gateway(merchant)
    order = _order(merchant)
    (refund,) = services.request_refund(
        merchant=merchant, order_id=order.pk, amount=Money(10000, "SAR"),
        idempotency_key="k", reference="R-1",
    )  # fmt: skip
    real_settle = services._settle

    def killed(refund, result):
        raise SystemExit("worker killed between the gateway's answer and the commit")

    monkeypatch.setattr(services, "_settle", killed)
    with pytest.raises(SystemExit):
        services.execute_refund(refund_id=refund.pk)
    monkeypatch.setattr(services, "_settle", real_settle)
    Refund.objects.filter(pk=refund.pk).update(claimed_until=None)  # its claim ran out

    settled = services.execute_refund(refund_id=refund.pk)

    assert settled.status == RefundStatus.SUCCEEDED and settled.attempts == 1
    assert len(sandbox._refunds) == 1
    assert Event.objects.filter(name="RefundIssued").count() == 1


# -- several at once (a burst's RefundRequested, payments.execute_refunds) ---------------------


def _reserved(merchant, n: int) -> list[Refund]:
    refunds = []
    for i in range(n):
        order = _order(merchant)
        refunds += services.request_refund(
            merchant=merchant, order_id=order.pk, amount=Money(10000, "SAR"),
            idempotency_key=f"k{i}", reference=f"R-{i}",
        )  # fmt: skip
    return refunds


def test_refunds_sent_together_succeed_once_each_as_on_their_own(merchant) -> None:
    _gateway(merchant)
    refunds = _reserved(merchant, 4)
    services.execute_refund(refund_id=refunds[0].pk)  # one already done on its own

    services.execute_refunds(refund_ids=[r.pk for r in refunds] + [refunds[1].pk])
    services.execute_refunds(refund_ids=[r.pk for r in refunds])  # a replayed job

    for refund in Refund.objects.all():
        assert refund.status == RefundStatus.SUCCEEDED and refund.attempts == 1
        assert refund.gateway_refund_id.startswith("sbx_re_") and refund.claimed_until is None
    assert len(sandbox._refunds) == 4
    assert Event.objects.filter(name="RefundIssued").count() == 4


def test_refunds_sent_together_whose_answers_are_lost_are_reconciled_not_sent_again(
    merchant,
) -> None:
    account = _gateway(merchant, refund_outcome="timeout")
    refunds = _reserved(merchant, 3)

    with pytest.raises(GatewayError):
        services.execute_refunds(refund_ids=[r.pk for r in refunds])  # every one was tried
    assert set(Refund.objects.values_list("status", flat=True)) == {RefundStatus.SENT}
    assert len(sandbox._refunds) == 3
    account.settings = '{"refund_outcome": "succeeded"}'
    account.save()
    services.execute_refunds(refund_ids=[r.pk for r in refunds])

    assert set(Refund.objects.values_list("status", flat=True)) == {RefundStatus.SUCCEEDED}
    assert set(Refund.objects.values_list("attempts", flat=True)) == {1}
    assert len(sandbox._refunds) == 3  # found by their keys, not made again


def test_refunds_refused_together_go_to_review_and_free_their_amounts(merchant) -> None:
    _gateway(merchant, refund_outcome="fail")
    refunds = _reserved(merchant, 2)

    services.execute_refunds(refund_ids=[r.pk for r in refunds])

    assert set(Refund.objects.values_list("status", flat=True)) == {RefundStatus.REVIEW}
    assert set(Payment.objects.values_list("refunded_minor", flat=True)) == {0}
    assert Event.objects.filter(name="RefundNeedsReview").count() == 2


def test_refunds_of_a_store_without_an_active_gateway_go_to_review(merchant) -> None:
    account = _gateway(merchant)
    refunds = _reserved(merchant, 2)
    account.active = False
    account.save()

    services.execute_refunds(refund_ids=[r.pk for r in refunds])

    assert set(Refund.objects.values_list("status", flat=True)) == {RefundStatus.REVIEW}
