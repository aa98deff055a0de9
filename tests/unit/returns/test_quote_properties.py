"""Properties of the refund quote that must hold for every order, not just the examples."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from awda.core.money import Money
from awda.returns.quote import QuoteLine, ReturnQuote, allocate_order_discount, quote_return

currencies = st.sampled_from(["SAR", "KWD", "JPY"])
minor_amounts = st.integers(min_value=0, max_value=10_000_000)
percents = st.decimals(min_value=0, max_value=100, places=2)


@st.composite
def discounts_over_lines(draw):
    currency = draw(currencies)
    totals = draw(st.lists(minor_amounts, min_size=1, max_size=8))
    discount = draw(st.integers(min_value=0, max_value=sum(totals)))
    return Money(discount, currency), [Money(t, currency) for t in totals]


@st.composite
def order_lines(draw, currency: str, line_ref: str = "L1") -> QuoteLine:
    """A line with one unit being returned; callers move the quantities."""
    unit = draw(st.integers(min_value=0, max_value=1_000_000))
    ordered = draw(st.integers(min_value=1, max_value=50))
    gross = unit * ordered
    discount = draw(st.integers(min_value=0, max_value=gross))
    included = draw(st.booleans())
    tax_cap = gross - discount if included else gross
    tax = draw(st.integers(min_value=0, max_value=tax_cap))
    exchange = draw(st.none() | st.integers(min_value=0, max_value=1_000_000))
    return QuoteLine(
        line_ref=line_ref,
        unit_price=Money(unit, currency),
        ordered_quantity=ordered,
        discount_total=Money(discount, currency),
        tax_total=Money(tax, currency),
        prices_include_tax=included,
        already_returned_quantity=0,
        return_quantity=1,
        restocking_fee_percent=draw(percents),
        restocking_fee_flat=Money(draw(st.integers(0, 5_000)), currency),
        waive_restocking=draw(st.booleans()),
        exchange_unit_price=None if exchange is None else Money(exchange, currency),
    )


@st.composite
def line_and_partition(draw):
    """A line and a sequence of partial returns that together take back every unit."""
    line = draw(order_lines(draw(currencies)))
    parts = []
    left = line.ordered_quantity
    while left:
        part = draw(st.integers(min_value=1, max_value=left))
        parts.append(part)
        left -= part
    return line, parts


@st.composite
def quote_inputs(draw):
    currency = draw(currencies)
    count = draw(st.integers(min_value=1, max_value=4))
    lines = []
    for i in range(count):
        line = draw(order_lines(currency, line_ref=f"L{i}"))
        done = draw(st.integers(min_value=0, max_value=line.ordered_quantity - 1))
        more = draw(st.integers(min_value=1, max_value=line.ordered_quantity - done))
        lines.append(replace(line, already_returned_quantity=done, return_quantity=more))
    return {
        "currency": currency,
        "lines": lines,
        "return_shipping_fee": Money(draw(minor_amounts), currency),
        "waive_return_shipping": draw(st.booleans()),
        "store_credit_bonus_percent": draw(percents),
        "store_credit_bonus_flat": Money(draw(st.integers(0, 10_000)), currency),
    }


def item_of(line: QuoteLine):
    (item,) = quote_return(
        currency=line.currency,
        lines=[line],
        return_shipping_fee=Money.zero(line.currency),
        waive_return_shipping=True,
        store_credit_bonus_percent=Decimal(0),
        store_credit_bonus_flat=Money.zero(line.currency),
    ).items
    return item


@given(discounts_over_lines())
def test_order_discount_parts_sum_to_the_discount_and_stay_within_their_lines(case):
    discount, totals = case

    parts = allocate_order_discount(discount, totals)

    assert sum(p.minor for p in parts) == discount.minor
    assert all(0 <= p.minor <= t.minor for p, t in zip(parts, totals, strict=True))


@given(line_and_partition())
def test_a_line_returned_in_any_parts_refunds_exactly_what_was_paid_and_never_more(case):
    line, parts = case
    done = 0
    values, discounts, taxes = 0, 0, 0
    for part in parts:
        item = item_of(replace(line, already_returned_quantity=done, return_quantity=part))
        assert item.value.minor >= 0
        values += item.value.minor
        discounts += item.discount.minor
        taxes += item.tax.minor
        assert values <= line.paid.minor
        done += part

    assert values == line.paid.minor
    assert discounts == line.discount_total.minor
    assert taxes == line.tax_total.minor


@given(quote_inputs())
def test_the_refund_is_the_items_less_shipping_and_never_negative_nor_above_what_was_paid(kwargs):
    quote = quote_return(**kwargs)

    paid_for_returned = sum(item.value.minor for item in quote.items)
    assert quote.refund_total + quote.shipping_fee == quote.items_total
    assert 0 <= quote.refund_total.minor <= paid_for_returned
    assert quote.store_credit_total >= quote.refund_total
    for item in quote.items:
        assert 0 <= item.restocking_fee.minor <= item.value.minor
        assert item.refund == item.value - item.restocking_fee


@given(quote_inputs())
def test_refund_parts_sum_to_the_refund_and_each_stays_within_its_item(kwargs):
    quote = quote_return(**kwargs)

    assert sum(p.minor for p in quote.refund_parts) == quote.refund_total.minor
    for part, item in zip(quote.refund_parts, quote.items, strict=True):
        assert 0 <= part.minor <= item.refund.minor


@given(quote_inputs())
def test_any_quote_survives_a_trip_through_json_unchanged(kwargs):
    quote = quote_return(**kwargs)

    assert ReturnQuote.from_data(json.loads(json.dumps(quote.to_data()))) == quote
