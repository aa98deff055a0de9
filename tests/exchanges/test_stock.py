"""Stock held for exchanges: reserved when the return is asked for, never beyond what is on
hand (the database refuses it), given back when the return closes, gone with the
replacement order; and only what is left is offered to the next shopper."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from awda.catalog.errors import OutOfStock
from awda.catalog.models import Stock
from awda.catalog.services import set_stock_levels
from awda.core.errors import Conflict
from awda.exchanges.models import Exchange, ExchangeStatus, ReservationStatus, StockReservation
from awda.orders.models import OrderLine
from awda.portal.draft import Draft, DraftItem
from awda.portal.steps import _exchange_options
from awda.returns.models import Return
from awda.returns.services import (
    ItemRequest,
    cancel_return,
    expire_unshipped_returns,
    reject_return,
    request_return,
)
from tests import factories
from tests.exchanges.helpers import exchange, shop, tee_order

pytestmark = pytest.mark.django_db


def _stock(sku: str) -> Stock:
    return Stock.objects.get(variant__sku=sku)


def test_asking_for_an_exchange_reserves_the_new_size_and_writes_the_terms():
    merchant = shop()
    order = tee_order(merchant, stock=3)

    ret = exchange(merchant, order, "TEE-L")

    stock = _stock("TEE-L")
    assert (stock.on_hand, stock.reserved, stock.available) == (3, 1, 2)
    ex = Exchange.objects.get(return_id=ret.pk)
    assert (ex.status, ex.reference, ex.idempotency_key) == (
        ExchangeStatus.RESERVED,
        ret.number,
        f"return-{ret.pk}-exchange",
    )
    assert (ex.price_higher, ex.price_lower) == ("charge_link", "refund_difference")
    reservation = StockReservation.objects.get(exchange=ex)
    assert (reservation.stock_id, reservation.quantity) == (stock.pk, 1)
    assert reservation.status == ReservationStatus.RESERVED


def test_the_difference_weighs_the_new_items_price_against_what_the_returned_ones_refund():
    merchant = shop()
    order = tee_order(merchant)

    ret = exchange(merchant, order, "TEE-XL")

    ex = Exchange.objects.get(return_id=ret.pk)
    assert ex.replacement_value_minor == 26000  # tax included, as the order's prices
    assert ex.credit_minor == ret.items.get().refund_minor == 20000
    assert ex.difference_minor == 6000  # > 0: the shopper pays


def test_an_out_of_stock_size_is_refused_on_its_items_sku_and_nothing_is_created():
    merchant = shop()
    order = tee_order(merchant, stock={"TEE-L": 0, "TEE-XL": 2})

    with pytest.raises(OutOfStock) as caught:
        exchange(merchant, order, "TEE-L")

    assert caught.value.field == "items.0.exchange_sku"
    assert caught.value.code == "out_of_stock"
    assert caught.value.details == {"sku": "TEE-L", "available": 0}
    assert "out of stock" in str(caught.value.message)
    assert not Return.objects.exists() and not Exchange.objects.exists()
    assert OrderLine.objects.get(order=order).returned_quantity == 0


def test_the_second_item_out_of_stock_names_the_second_items_field():
    merchant = shop()
    order = factories.order(
        merchant,
        lines=[
            factories.line("1", sku="TEE-M", product="TEE"),
            factories.line("2", sku="CAP-M", product="CAP"),
            factories.line("3", sku="CAP-L", product="CAP"),
        ],
    )
    set_stock_levels(merchant=merchant, levels={"TEE-M": 1, "CAP-L": 0})
    items = [
        ItemRequest("1", 1, "size", "too_small", resolution="exchange", exchange_sku="TEE-M"),
        ItemRequest("2", 1, "size", "too_small", resolution="exchange", exchange_sku="CAP-L"),
    ]

    with pytest.raises(OutOfStock) as caught:
        request_return(merchant=merchant, order_number=order.number, items=items, method="label")

    assert caught.value.field == "items.1.exchange_sku"
    assert _stock("TEE-M").reserved == 0  # the first item's unit wasn't kept either


def test_units_held_by_other_exchanges_are_not_available():
    merchant = shop()
    first = tee_order(merchant, stock={"TEE-L": 1})
    second = tee_order(merchant, stock={"TEE-L": 1}, email="other@example.com")
    exchange(merchant, first, "TEE-L")

    with pytest.raises(OutOfStock):
        exchange(merchant, second, "TEE-L")


def test_a_reservation_takes_units_from_more_than_one_location():
    merchant = shop()
    order = tee_order(merchant, stock={"TEE-L": 1}, quantity=3)
    set_stock_levels(merchant=merchant, levels={"TEE-L": 2}, location_code="east")

    ret = exchange(merchant, order, "TEE-L", quantity=3)

    held = StockReservation.objects.filter(exchange__return_id=ret.pk).order_by("stock_id")
    assert [(r.stock.location.code, r.quantity) for r in held] == [("main", 1), ("east", 2)]


def test_the_database_refuses_to_reserve_more_than_is_on_hand():
    merchant = shop()
    tee_order(merchant, stock=1)
    stock = _stock("TEE-L")

    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(pk=stock.pk).update(reserved=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(pk=stock.pk).update(reserved=-1)


def test_stock_can_not_be_set_below_the_units_held_for_exchanges():
    merchant = shop()
    order = tee_order(merchant, stock=2)
    exchange(merchant, order, "TEE-L")

    with pytest.raises(Conflict):
        set_stock_levels(merchant=merchant, levels={"TEE-L": 0})
    set_stock_levels(merchant=merchant, levels={"TEE-L": 1})
    assert (_stock("TEE-L").on_hand, _stock("TEE-L").reserved) == (1, 1)


def _released(ret: Return) -> None:
    ex = Exchange.objects.get(return_id=ret.pk)
    assert ex.status == ExchangeStatus.CANCELLED and ex.closed_at is not None
    assert _stock("TEE-L").reserved == 0 and _stock("TEE-L").on_hand == 5
    statuses = set(StockReservation.objects.filter(exchange=ex).values_list("status", flat=True))
    assert statuses == {ReservationStatus.RELEASED}


def test_cancelling_the_return_releases_the_reserved_units():
    merchant = shop()
    ret = exchange(merchant, tee_order(merchant))

    cancel_return(merchant=merchant, number=ret.number, actor="shopper")

    _released(ret)


def test_rejecting_the_return_releases_the_reserved_units():
    merchant = shop(manual_review=True)
    ret = exchange(merchant, tee_order(merchant))

    reject_return(merchant=merchant, number=ret.number, actor="staff:1", reason="worn")

    _released(ret)


def test_an_expired_return_releases_the_reserved_units():
    merchant = shop()
    ret = exchange(merchant, tee_order(merchant))
    Return.objects.filter(pk=ret.pk).update(expires_at=ret.requested_at)

    assert expire_unshipped_returns() == 1

    _released(ret)
    # A second run, or the same release again, changes nothing.
    expire_unshipped_returns()
    assert _stock("TEE-L").reserved == 0


def test_the_portal_offers_only_sizes_with_units_not_held_for_others():
    merchant = shop()
    order = tee_order(merchant, stock={"TEE-L": 1, "TEE-XL": 2, "TEE-S": 0})
    other = tee_order(merchant, stock={"TEE-L": 1}, email="other@example.com")
    draft = Draft(items=[DraftItem(line_ref="1", quantity=1, reason="size")])

    def offered() -> set[str]:
        options = _exchange_options(merchant, order, draft, {"1": "same_product"}, "en")
        return {o["sku"] for o in options["1"]}

    assert offered() == {"TEE-L", "TEE-XL"}
    exchange(merchant, other, "TEE-L")  # someone else takes the last L
    assert offered() == {"TEE-XL"}
