"""Refunds under real concurrency (PostgreSQL): never above what was paid, once per key,
one gateway call per refund however many workers take it up."""

from __future__ import annotations

from collections import Counter

import pytest

from awda.core.money import Money
from awda.orders.models import Payment
from awda.payments import services
from awda.payments.gateways import sandbox
from awda.payments.models import Refund, RefundStatus
from tests import factories
from tests.concurrency.test_concurrent_returns import _race

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox.reset_sandbox()
    yield
    sandbox.reset_sandbox()


def _order(merchant):
    return factories.order(merchant, lines=[factories.line("1", quantity=1, price=20000)])


def test_fifty_parallel_refunds_of_one_order_never_pass_what_was_paid(db):
    merchant = factories.merchant()
    order = _order(merchant)
    captured = Payment.objects.get(order=order).captured_minor

    def attempt(i: int) -> str:
        services.request_refund(
            merchant=merchant, order_id=order.pk, amount=Money(1000, "SAR"),
            idempotency_key=f"k{i}", reference=f"R-{i}",
        )  # fmt: skip
        return "reserved"

    outcomes = Counter(_race(50, attempt))

    assert outcomes["reserved"] == captured // 1000
    assert outcomes["not_refundable"] == 50 - captured // 1000
    payment = Payment.objects.get(order=order)
    assert payment.refunded_minor == sum(r.amount_minor for r in Refund.objects.all()) <= captured


def test_fifty_parallel_requests_with_one_key_reserve_one_refund(db):
    merchant = factories.merchant()
    order = _order(merchant)

    def attempt(_i: int) -> int:
        (refund,) = services.request_refund(
            merchant=merchant, order_id=order.pk, amount=Money(5000, "SAR"),
            idempotency_key="one-key", reference="R-1",
        )  # fmt: skip
        return refund.pk

    assert len(set(_race(50, attempt))) == 1
    assert Refund.objects.count() == 1
    assert Payment.objects.get(order=order).refunded_minor == 5000


def test_fifty_workers_on_one_refund_refund_it_once(db):
    merchant = factories.merchant()
    services.connect_gateway(merchant=merchant, gateway="sandbox", name="Sandbox", settings={})
    order = _order(merchant)
    (refund,) = services.request_refund(
        merchant=merchant, order_id=order.pk, amount=Money(5000, "SAR"),
        idempotency_key="k", reference="R-1",
    )  # fmt: skip

    statuses = Counter(_race(50, lambda _i: services.execute_refund(refund_id=refund.pk).status))

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and refund.attempts == 1
    assert len(sandbox._refunds) == 1
    assert set(statuses) <= {RefundStatus.SUCCEEDED, RefundStatus.PENDING, RefundStatus.SENT}
