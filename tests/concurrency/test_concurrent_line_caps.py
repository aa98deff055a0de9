"""Refunds of one order line under real concurrency (PostgreSQL): whatever the race, a line
never gives back more than was paid for it."""

from __future__ import annotations

from collections import Counter

import pytest

from awda.core.money import Money
from awda.orders.models import LineRefund, OrderLine, Payment
from awda.payments import services
from awda.payments.models import Refund
from tests import factories
from tests.concurrency.test_concurrent_returns import ATTEMPTS, _race

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_fifty_parallel_refunds_of_parts_of_one_line_never_pass_what_it_was_paid(db):
    merchant = factories.merchant()
    # Two lines on one payment: the payment could take twice the line's value back, so
    # only the line's own cap stops the race.
    order = factories.order(
        merchant, lines=[factories.line("1", price=10000), factories.line("2", price=10000)]
    )
    line = OrderLine.objects.get(order=order, line_ref="1")
    other = OrderLine.objects.get(order=order, line_ref="2")

    def attempt(i: int) -> str:
        # Every fourth request also takes a little of the other line, so the lock order of
        # several lines is exercised too.
        lines = [(line.pk, 1000)] + ([(other.pk, 100)] if i % 4 == 0 else [])
        services.request_refund(
            merchant=merchant, order_id=order.pk,
            amount=Money(sum(a for _l, a in lines), "SAR"),
            idempotency_key=f"k{i}", reference=f"R-{i}", lines=lines,
        )  # fmt: skip
        return "reserved"

    outcomes = Counter(_race(ATTEMPTS, attempt))

    line.refresh_from_db()
    assert outcomes == {"reserved": 10, "line_refund_exceeds_paid": ATTEMPTS - 10}
    assert line.refunded_minor == line.paid_minor == 10000
    counted = LineRefund.objects.filter(order_line=line).values_list("amount_minor", flat=True)
    assert sum(counted) == line.refunded_minor
    payment = Payment.objects.get(order=order)
    assert payment.refunded_minor == sum(Refund.objects.values_list("amount_minor", flat=True))
    assert payment.refunded_minor < payment.captured_minor  # the payment had room left
