"""Real concurrency on PostgreSQL: row locks and constraints keep the invariants."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from awda.core.errors import DomainError
from awda.orders.models import Order, OrderLine
from awda.returns.models import Return, ReturnStatus
from awda.returns.services import ItemRequest, cancel_return, request_return
from tests import factories

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


def test_fifty_parallel_returns_of_the_last_unit_create_exactly_one(db):
    merchant = factories.merchant()
    order = factories.order(merchant, lines=[factories.line("1", quantity=1)])

    def attempt(_i: int) -> str:
        ret = request_return(
            merchant=merchant,
            order_number=order.number,
            items=[ItemRequest(line_ref="1", quantity=1, reason="too_small")],
            method="label",
        )
        return ret.status

    outcomes = Counter(_race(ATTEMPTS, attempt))
    assert outcomes == {ReturnStatus.APPROVED: 1, "quantity_exceeds_returnable": ATTEMPTS - 1}
    assert Return.objects.count() == 1
    assert OrderLine.objects.get(order=order).returned_quantity == 1


def test_parallel_partial_returns_never_take_more_units_than_delivered(db):
    merchant = factories.merchant()
    order = factories.order(
        merchant, lines=[factories.line("1", quantity=7), factories.line("2", quantity=5)]
    )

    def attempt(i: int) -> str:
        # Half the requests ask for both lines, in either order, to exercise the lock order.
        refs = [["1"], ["2"], ["1", "2"], ["2", "1"]][i % 4]
        ret = request_return(
            merchant=merchant,
            order_number=order.number,
            items=[ItemRequest(line_ref=r, quantity=1, reason="too_small") for r in refs],
            method="label",
        )
        return ret.status

    _race(ATTEMPTS, attempt)
    lines = {li.line_ref: li for li in OrderLine.objects.filter(order=order)}
    assert lines["1"].returned_quantity == 7
    assert lines["2"].returned_quantity == 5
    taken = Counter()
    for ret in Return.objects.prefetch_related("items__order_line"):
        for item in ret.items.all():
            taken[item.order_line.line_ref] += item.quantity
    assert taken == {"1": 7, "2": 5}


def test_fifty_parallel_requests_with_one_idempotency_key_create_one_return(db):
    merchant = factories.merchant()
    order = factories.order(merchant, lines=[factories.line("1", quantity=3)])

    def attempt(_i: int) -> str:
        return request_return(
            merchant=merchant,
            order_number=order.number,
            items=[ItemRequest(line_ref="1", quantity=1, reason="too_small")],
            method="label",
            idempotency_key="same-key-0001",
        ).number

    numbers = set(_race(ATTEMPTS, attempt))
    assert len(numbers) == 1
    assert Return.objects.count() == 1
    assert OrderLine.objects.get(order=order).returned_quantity == 1


def test_parallel_cancels_of_one_return_release_its_units_once(db):
    merchant = factories.merchant()
    order = factories.order(merchant, lines=[factories.line("1", quantity=2)])
    ret = request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref="1", quantity=2, reason="too_small")],
        method="label",
    )

    def attempt(_i: int) -> str:
        return cancel_return(merchant=merchant, number=ret.number, actor="api").status

    outcomes = Counter(_race(20, attempt))
    assert outcomes == {ReturnStatus.CANCELLED: 1, "invalid_transition": 19}
    assert OrderLine.objects.get(order=order).returned_quantity == 0


def test_parallel_upserts_of_one_new_order_store_it_once(db):
    merchant = factories.merchant()

    def attempt(_i: int) -> str:
        return factories.order(
            merchant, number="9001", lines=[factories.line("1", quantity=2)]
        ).number

    assert set(_race(20, attempt)) == {"9001"}
    order = Order.objects.get(merchant=merchant, number="9001")
    assert order.lines.count() == 1
    assert order.customer.units_bought == 2
