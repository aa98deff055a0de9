"""Exchanges under real concurrency (PostgreSQL): the last units of a size go to exactly as
many shoppers as there are units, and an exchange triggered by many workers at once makes
one replacement order and moves its money once."""

from __future__ import annotations

from collections import Counter

import pytest

from awda.catalog.models import Stock
from awda.exchanges.models import Exchange, ExchangeStatus, StockReservation
from awda.orders.models import Order, OrderKind
from awda.payments.gateways import sandbox
from awda.payments.models import Refund
from awda.returns.models import ReturnStatus
from awda.returns.services import issue_instant_exchange, issue_resolutions
from tests import factories
from tests.concurrency.test_concurrent_returns import ATTEMPTS, _race
from tests.exchanges.helpers import exchange, shop, tee_order

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox.reset_sandbox()
    yield
    sandbox.reset_sandbox()


def test_fifty_shoppers_reserving_the_last_ten_units_get_exactly_ten(db):
    merchant = shop()
    orders = [
        tee_order(merchant, stock={"TEE-L": 10}, email=f"shopper{i}@example.com")
        for i in range(ATTEMPTS)
    ]

    def attempt(i: int) -> str:
        return exchange(merchant, orders[i], "TEE-L").status

    outcomes = Counter(_race(ATTEMPTS, attempt))

    assert outcomes == {ReturnStatus.APPROVED: 10, "out_of_stock": ATTEMPTS - 10}
    stock = Stock.objects.get(variant__sku="TEE-L")
    assert (stock.on_hand, stock.reserved) == (10, 10)
    assert StockReservation.objects.filter(stock=stock).count() == 10
    assert sum(StockReservation.objects.values_list("quantity", flat=True)) == 10
    assert Exchange.objects.count() == 10


def test_fifty_workers_triggering_one_exchange_make_one_replacement_and_one_refund(db):
    merchant = shop(refund_timing="immediate")
    ret = exchange(merchant, tee_order(merchant, stock=3), "TEE-S")  # cheaper: a refund

    results = _race(
        ATTEMPTS, lambda _i: issue_resolutions(return_id=ret.pk, trigger="ReturnApproved")
    )

    assert results.count(["exchange"]) == 1 and results.count([]) == ATTEMPTS - 1
    assert Exchange.objects.get().status == ExchangeStatus.ISSUED
    assert Order.objects.filter(kind=OrderKind.REPLACEMENT).count() == 1
    assert Refund.objects.get().amount_minor == 5000
    stock = Stock.objects.get(variant__sku="TEE-S")
    assert (stock.on_hand, stock.reserved) == (2, 0)


def test_one_customers_parallel_approvals_ship_one_instant_exchange(db):
    merchant = shop(instant_exchange=True, instant_exchange_max_minor=50000)
    returns = [exchange(merchant, tee_order(merchant, stock=20), "TEE-L") for _ in range(10)]

    shipped = _race(10, lambda i: issue_instant_exchange(return_id=returns[i].pk))

    assert shipped.count(True) == 1
    assert Exchange.objects.filter(instant=True).count() == 1
    assert Order.objects.filter(kind=OrderKind.REPLACEMENT).count() == 1
    factories.run_jobs()  # the others wait for their parcels
    assert Exchange.objects.filter(status=ExchangeStatus.RESERVED).count() == 9
