"""Stock is a ledger: every change of units on hand is a move, a keyed move happens once,
and the database refuses a total below the units held for exchanges."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from awda.catalog.models import Location, Stock, StockMove, Variant
from awda.catalog.services import (
    StockTake,
    consume_stock,
    default_location,
    move_stock,
    reserve_stock,
    set_stock_levels,
)
from awda.core.errors import Conflict, InvalidInput, NotFound
from tests import factories

pytestmark = pytest.mark.django_db


def _variant(m) -> Variant:
    factories.order(m, lines=[factories.line("1", sku="TEE-M")])
    return Variant.objects.get(merchant=m, sku="TEE-M")


def _row(variant: Variant) -> Stock:
    return Stock.objects.get(variant=variant)


def test_a_move_changes_on_hand_once_and_records_the_running_total():
    m = factories.merchant()
    variant = _variant(m)
    location = default_location(merchant_id=m.pk)

    result = move_stock(
        merchant_id=m.pk, variant_id=variant.pk, location_id=location.pk, quantity=3,
        reason="adjustment", actor="staff:1", reference="count",
    )  # fmt: skip

    assert not result.replayed
    assert _row(variant).on_hand == 3
    assert (result.move.quantity, result.move.on_hand_after) == (3, 3)
    assert result.move.reference == "count" and result.move.actor == "staff:1"


def test_a_repeated_key_returns_the_first_move_and_changes_nothing():
    m = factories.merchant()
    variant = _variant(m)
    location = default_location(merchant_id=m.pk)
    args = dict(
        merchant_id=m.pk, variant_id=variant.pk, location_id=location.pk, quantity=2,
        reason="restock", actor="api", idempotency_key="return-1-item-1-restock",
    )  # fmt: skip

    first = move_stock(**args)
    again = move_stock(**args)

    assert again.replayed and again.move.pk == first.move.pk
    assert _row(variant).on_hand == 2
    assert StockMove.objects.count() == 1


def test_the_same_key_is_free_for_another_merchant():
    a, b = factories.merchant(), factories.merchant()
    for m in (a, b):
        move_stock(
            merchant_id=m.pk, variant_id=_variant(m).pk,
            location_id=default_location(merchant_id=m.pk).pk, quantity=1,
            reason="restock", actor="api", idempotency_key="same-key",
        )  # fmt: skip
    assert StockMove.objects.count() == 2


def test_a_move_below_the_units_held_for_exchanges_is_refused():
    m = factories.merchant()
    variant = _variant(m)
    set_stock_levels(merchant=m, levels={"TEE-M": 2})
    reserve_stock(merchant_id=m.pk, wants={variant.pk: 2})

    with pytest.raises(Conflict) as exc:
        move_stock(
            merchant_id=m.pk, variant_id=variant.pk,
            location_id=default_location(merchant_id=m.pk).pk, quantity=-1,
            reason="adjustment", actor="staff:1",
        )  # fmt: skip

    assert exc.value.details == {"on_hand": 2, "reserved": 2}
    assert (_row(variant).on_hand, _row(variant).reserved) == (2, 2)
    assert StockMove.objects.filter(reason="adjustment").count() == 0


def test_the_database_check_refuses_on_hand_below_reserved_whatever_the_code():
    m = factories.merchant()
    variant = _variant(m)
    set_stock_levels(merchant=m, levels={"TEE-M": 2})
    reserve_stock(merchant_id=m.pk, wants={variant.pk: 1})

    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(variant=variant).update(on_hand=0)


def test_bad_moves_name_the_field():
    m = factories.merchant()
    variant = _variant(m)
    other = factories.merchant()
    location = default_location(merchant_id=m.pk)
    with pytest.raises(InvalidInput) as zero:
        move_stock(merchant_id=m.pk, variant_id=variant.pk, location_id=location.pk,
                   quantity=0, reason="restock", actor="api")  # fmt: skip
    assert zero.value.field == "quantity"
    with pytest.raises(InvalidInput) as reason:
        move_stock(merchant_id=m.pk, variant_id=variant.pk, location_id=location.pk,
                   quantity=1, reason="found_it", actor="api")  # fmt: skip
    assert reason.value.field == "reason"
    with pytest.raises(NotFound) as foreign:
        move_stock(merchant_id=other.pk, variant_id=variant.pk,
                   location_id=default_location(merchant_id=other.pk).pk,
                   quantity=1, reason="restock", actor="api")  # fmt: skip
    assert foreign.value.field == "variant"


def test_setting_levels_writes_the_difference_as_moves_never_an_overwrite():
    m = factories.merchant()
    variant = _variant(m)

    set_stock_levels(merchant=m, levels={"TEE-M": 5})
    set_stock_levels(merchant=m, levels={"TEE-M": 3})
    set_stock_levels(merchant=m, levels={"TEE-M": 3})  # no change, no move

    moves = list(StockMove.objects.filter(variant=variant).order_by("pk"))
    assert [(mv.quantity, mv.on_hand_after, mv.reason) for mv in moves] == [
        (5, 5, "store_sync"),
        (-2, 3, "store_sync"),
    ]
    assert _row(variant).on_hand == sum(mv.quantity for mv in moves)


def test_units_consumed_by_an_exchange_leave_as_an_exchange_out_move():
    m = factories.merchant()
    variant = _variant(m)
    set_stock_levels(merchant=m, levels={"TEE-M": 4})
    takes = reserve_stock(merchant_id=m.pk, wants={variant.pk: 1})

    consume_stock(takes=[StockTake(t.stock_id, t.variant_id, t.quantity) for t in takes])

    row = _row(variant)
    assert (row.on_hand, row.reserved) == (3, 0)
    last = StockMove.objects.filter(variant=variant).latest("pk")
    assert (last.quantity, last.on_hand_after, last.reason) == (-1, 3, "exchange_out")


def test_a_merchant_without_locations_gets_one_default():
    m = factories.merchant()
    first = default_location(merchant_id=m.pk)
    assert first.is_default and first.code == "main"
    assert default_location(merchant_id=m.pk).pk == first.pk
    assert Location.objects.filter(merchant=m).count() == 1
