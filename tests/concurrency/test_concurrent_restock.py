"""Restocking under real concurrency (PostgreSQL): fifty clicks, retries and replayed jobs
on one item at once restock it once."""

from __future__ import annotations

from collections import Counter

import pytest

from awda.catalog.models import StockMove
from awda.warehouse.services import ItemCheck, dispose, receive_and_inspect
from tests.concurrency.test_concurrent_returns import _race
from tests.warehouse import helpers as h

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_fifty_parallel_restocks_of_one_item_move_its_units_once(db):
    m = h.merchant()
    ret = h.a_return(m, quantity=2, sku="TEE-M")
    receive_and_inspect(
        merchant=m, code_or_number=ret.number, actor="s",
        items=[ItemCheck("1", condition="new", decision="accepted", disposition="")],
    )  # fmt: skip

    def attempt(i: int) -> bool:
        return dispose(
            merchant=m, number=ret.number, line_ref="1", disposition="restock",
            actor=f"station:{i}",
        ).recorded  # fmt: skip

    outcomes = Counter(_race(50, attempt))

    assert outcomes == {True: 1, False: 49}
    (move,) = StockMove.objects.filter(variant__sku="TEE-M")
    assert (move.quantity, move.on_hand_after) == (2, 2)
    assert h.on_hand("TEE-M") == 2


def test_fifty_parallel_one_call_receipts_restock_once(db):
    m = h.merchant()
    ret = h.a_return(m, sku="TEE-M")

    def attempt(_i: int) -> str:
        receive_and_inspect(merchant=m, code_or_number=h.tracking(ret), actor="station")
        return "ok"

    outcomes = Counter(_race(50, attempt))

    # The first receives; the others wait on the return's lock, then repeat what was done.
    assert outcomes == {"ok": 50}
    assert StockMove.objects.filter(variant__sku="TEE-M").count() == 1
    assert h.on_hand("TEE-M") == 1
