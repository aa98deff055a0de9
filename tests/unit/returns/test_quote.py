"""The refund quote (DESIGN.md §6): every figure checked against a hand-worked example."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from awda.core.money import CurrencyMismatch, Money
from awda.returns.quote import (
    QuoteLine,
    ReturnQuote,
    allocate_order_discount,
    quote_return,
)


def sar(minor: int) -> Money:
    return Money(minor, "SAR")


def make_line(**overrides: Any) -> QuoteLine:
    """A SAR 100.00 × 3 line, tax added on top, nothing returned yet, no fees."""
    currency = overrides.pop("currency", "SAR")
    zero = Money.zero(currency)
    fields: dict[str, Any] = {
        "line_ref": "L1",
        "unit_price": Money(10000, currency),
        "ordered_quantity": 3,
        "discount_total": zero,
        "tax_total": zero,
        "prices_include_tax": False,
        "already_returned_quantity": 0,
        "return_quantity": 1,
        "restocking_fee_percent": Decimal(0),
        "restocking_fee_flat": zero,
        "waive_restocking": False,
        "exchange_unit_price": None,
    }
    fields.update(overrides)
    return QuoteLine(**fields)


def make_quote(*lines: QuoteLine, **overrides: Any) -> ReturnQuote:
    currency = lines[0].currency
    zero = Money.zero(currency)
    kwargs: dict[str, Any] = {
        "currency": currency,
        "lines": list(lines),
        "return_shipping_fee": zero,
        "waive_return_shipping": False,
        "store_credit_bonus_percent": Decimal(0),
        "store_credit_bonus_flat": zero,
    }
    kwargs.update(overrides)
    return quote_return(**kwargs)


def only_item(quote: ReturnQuote):
    (item,) = quote.items
    return item


# -- order discount allocation ---------------------------------------------------------------


def test_order_discount_splits_in_proportion_with_the_leftover_to_the_largest_remainder():
    parts = allocate_order_discount(sar(1000), [sar(3000), sar(2000), sar(1000)])

    assert parts == [sar(500), sar(333), sar(167)]


def test_order_discount_equal_to_the_order_total_discounts_every_line_fully():
    totals = [sar(1999), sar(1), sar(5000)]

    assert allocate_order_discount(sar(7000), totals) == totals


def test_zero_order_discount_gives_every_line_zero():
    assert allocate_order_discount(sar(0), [sar(100), sar(0)]) == [sar(0), sar(0)]


def test_order_discount_larger_than_the_line_totals_is_refused():
    with pytest.raises(ValueError, match="exceeds"):
        allocate_order_discount(sar(3001), [sar(1000), sar(2000)])


def test_order_discount_over_lines_in_another_currency_is_refused():
    with pytest.raises(CurrencyMismatch):
        allocate_order_discount(sar(100), [sar(1000), Money(1000, "KWD")])


def test_negative_order_discount_is_refused():
    with pytest.raises(ValueError, match="negative"):
        allocate_order_discount(sar(-1), [sar(1000)])


# -- what a line was worth ---------------------------------------------------------------------


def test_tax_exclusive_line_adds_its_tax_share():
    line = make_line(tax_total=sar(4500))

    item = only_item(make_quote(line))

    assert line.paid == sar(34500)
    assert (item.gross, item.discount, item.tax, item.value) == (
        sar(10000),
        sar(0),
        sar(1500),
        sar(11500),
    )
    assert item.tax_included is False


def test_tax_inclusive_line_reports_its_tax_share_without_adding_it():
    # SAR 100.00 × 2 with 15% VAT inside: 20000 × 15/115 = 2608.7 → 2609 on the order.
    line = make_line(ordered_quantity=2, tax_total=sar(2609), prices_include_tax=True)

    item = only_item(make_quote(line))

    assert line.paid == sar(20000)
    assert item.value == sar(10000)
    # 2609 / 2 = 1304.5, half to even.
    assert item.tax == sar(1304)
    assert item.tax_included is True


def test_included_tax_of_the_second_half_takes_the_unit_the_first_half_rounded_away():
    line = make_line(
        ordered_quantity=2,
        tax_total=sar(2609),
        prices_include_tax=True,
        already_returned_quantity=1,
    )

    assert only_item(make_quote(line)).tax == sar(1305)


def test_line_discount_and_tax_are_shared_per_returned_unit():
    # 3 × 100.00 − 10.00 discount + 15% of 290.00 = 333.50 paid.
    line = make_line(discount_total=sar(1000), tax_total=sar(4350))

    item = only_item(make_quote(line))

    assert line.paid == sar(33350)
    # 33350 / 3 = 11116.67; 1000 / 3 = 333.33; 4350 / 3 = 1450.
    assert (item.gross, item.discount, item.tax, item.value) == (
        sar(10000),
        sar(333),
        sar(1450),
        sar(11117),
    )


def test_returning_a_line_in_three_parts_sums_to_what_was_paid():
    line = make_line(unit_price=sar(1000), discount_total=sar(100))  # paid 2900
    values = [
        only_item(make_quote(replace(line, already_returned_quantity=done))).value
        for done in range(3)
    ]

    # 966.67 → 967, 1933.33 → 1933, 2900: each part is the step between cumulative shares.
    assert values == [sar(967), sar(966), sar(967)]
    assert sum(v.minor for v in values) == 2900


def test_returning_two_units_then_one_sums_to_what_was_paid():
    line = make_line(unit_price=sar(1000), discount_total=sar(100))
    first = only_item(make_quote(replace(line, return_quantity=2)))
    rest = only_item(make_quote(replace(line, already_returned_quantity=2)))

    assert (first.value, rest.value) == (sar(1933), sar(967))


def test_kwd_amounts_round_half_even_at_three_decimals():
    # KWD 1.255 × 2 − 0.005 = 2.505 paid; half of it is 1.2525, half to even → 1.252.
    line = make_line(
        currency="KWD",
        unit_price=Money(1255, "KWD"),
        ordered_quantity=2,
        discount_total=Money(5, "KWD"),
    )

    first = only_item(make_quote(line))
    second = only_item(make_quote(replace(line, already_returned_quantity=1)))

    assert first.value == Money(1252, "KWD")
    assert second.value == Money(1253, "KWD")


def test_kwd_restocking_percent_rounds_half_even_in_fils():
    # 1% of KWD 1.250 is 12.5 fils → 12; of KWD 1.350 is 13.5 fils → 14.
    fees = [
        only_item(
            make_quote(
                make_line(
                    currency="KWD",
                    unit_price=Money(price, "KWD"),
                    ordered_quantity=1,
                    restocking_fee_percent=Decimal(1),
                )
            )
        ).restocking_fee
        for price in (1250, 1350)
    ]

    assert fees == [Money(12, "KWD"), Money(14, "KWD")]


def test_jpy_has_no_minor_digits_so_shares_round_to_whole_yen():
    # ¥1000 × 3 − ¥100 = ¥2900; a third is ¥966.67 → ¥967; 5% of that is ¥48.35 → ¥48.
    line = make_line(
        currency="JPY",
        unit_price=Money(1000, "JPY"),
        discount_total=Money(100, "JPY"),
        restocking_fee_percent=Decimal(5),
    )

    item = only_item(make_quote(line))

    assert item.value == Money(967, "JPY")
    assert item.restocking_fee == Money(48, "JPY")
    assert item.refund == Money(919, "JPY")


# -- restocking fees -------------------------------------------------------------------------


def test_restocking_fee_is_a_percent_of_the_value_plus_a_flat_fee_per_unit():
    line = make_line(
        tax_total=sar(4500),
        return_quantity=2,
        restocking_fee_percent=Decimal(10),
        restocking_fee_flat=sar(500),
    )

    item = only_item(make_quote(line))

    assert item.value == sar(23000)
    assert item.restocking_fee == sar(2300 + 1000)
    assert item.refund == sar(19700)


def test_restocking_fee_never_exceeds_the_item_value():
    line = make_line(restocking_fee_percent=Decimal(50), restocking_fee_flat=sar(9000))

    item = only_item(make_quote(line))

    assert item.restocking_fee == sar(10000)
    assert item.refund == sar(0)


def test_waived_restocking_fee_refunds_the_whole_value():
    line = make_line(
        restocking_fee_percent=Decimal(10),
        restocking_fee_flat=sar(500),
        waive_restocking=True,
    )

    item = only_item(make_quote(line))

    assert item.restocking_fee == sar(0)
    assert item.refund == item.value == sar(10000)


# -- the return as a whole ---------------------------------------------------------------------


def test_return_shipping_fee_comes_off_the_items_total():
    quote = make_quote(
        make_line(line_ref="A"),
        make_line(line_ref="B", unit_price=sar(5000)),
        return_shipping_fee=sar(2500),
    )

    assert quote.items_total == sar(15000)
    assert quote.shipping_fee == sar(2500)
    assert quote.refund_total == sar(12500)


def test_return_shipping_fee_larger_than_the_items_is_clamped_so_the_shopper_never_owes():
    quote = make_quote(
        make_line(unit_price=sar(1000)),
        return_shipping_fee=sar(2500),
        store_credit_bonus_flat=sar(500),
    )

    assert quote.shipping_fee == sar(1000)
    assert quote.refund_total == sar(0)
    assert quote.store_credit_bonus == sar(0)
    assert quote.store_credit_total == sar(0)


def test_waived_return_shipping_costs_nothing():
    quote = make_quote(make_line(), return_shipping_fee=sar(2500), waive_return_shipping=True)

    assert quote.shipping_fee == sar(0)
    assert quote.refund_total == sar(10000)


def test_store_credit_adds_a_percent_bonus_and_a_flat_bonus():
    quote = make_quote(
        make_line(return_quantity=2),
        return_shipping_fee=sar(2800),
        store_credit_bonus_percent=Decimal(10),
        store_credit_bonus_flat=sar(500),
    )

    assert quote.refund_total == sar(17200)
    assert quote.store_credit_bonus == sar(1720 + 500)
    assert quote.store_credit_total == sar(19420)


def test_store_credit_percent_bonus_rounds_half_even():
    # 10% of SAR 12.25 is 122.5 halalas → 122.
    quote = make_quote(
        make_line(unit_price=sar(1225), ordered_quantity=1),
        store_credit_bonus_percent=Decimal(10),
    )

    assert quote.store_credit_bonus == sar(122)


def test_refund_parts_spread_the_shipping_fee_over_items_by_largest_remainder():
    quote = make_quote(
        make_line(line_ref="A", unit_price=sar(1000)),
        make_line(line_ref="B", unit_price=sar(2000)),
        return_shipping_fee=sar(500),
    )

    # Fee shares 166.67 and 333.33: the leftover halala goes to A's larger remainder.
    assert quote.refund_parts == (sar(833), sar(1667))
    assert quote.refund_total == sar(2500)


# -- exchanges -------------------------------------------------------------------------------


def test_exchange_for_a_dearer_item_asks_the_shopper_for_the_difference():
    line = make_line(tax_total=sar(4500), exchange_unit_price=sar(12000))

    item = only_item(make_quote(line))

    assert item.exchange_difference == sar(12000 - 11500)
    assert item.refund == sar(11500)


def test_exchange_for_a_cheaper_item_owes_the_shopper_the_difference():
    line = make_line(return_quantity=2, exchange_unit_price=sar(9000))

    item = only_item(make_quote(line))

    assert item.exchange_difference == sar(18000 - 20000)


def test_a_plain_return_has_no_exchange_difference():
    assert only_item(make_quote(make_line())).exchange_difference is None


# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"already_returned_quantity": 2, "return_quantity": 2}, "more units than were ordered"),
        ({"return_quantity": 0}, "return quantity"),
        ({"already_returned_quantity": -1}, "already returned"),
        ({"ordered_quantity": 0, "return_quantity": 0}, "ordered quantity"),
        ({"discount_total": sar(30001)}, "discount exceeds"),
        ({"tax_total": sar(-1)}, "negative"),
        ({"restocking_fee_percent": Decimal(101)}, "restocking percent"),
        ({"restocking_fee_percent": Decimal("NaN")}, "restocking percent"),
        (
            {"prices_include_tax": True, "tax_total": sar(30001)},
            "included tax exceeds",
        ),
    ],
)
def test_impossible_lines_are_refused(overrides: dict[str, Any], reason: str):
    with pytest.raises(ValueError, match=reason):
        make_line(**overrides)


def test_a_line_with_amounts_in_two_currencies_is_refused():
    with pytest.raises(CurrencyMismatch):
        make_line(tax_total=Money(100, "KWD"))


def test_a_line_in_another_currency_than_the_quote_is_refused():
    with pytest.raises(CurrencyMismatch):
        make_quote(make_line(), currency="KWD", return_shipping_fee=Money(0, "KWD"))


def test_a_shipping_fee_in_another_currency_is_refused():
    with pytest.raises(CurrencyMismatch):
        make_quote(make_line(), return_shipping_fee=Money(0, "KWD"))


def test_the_same_line_twice_in_one_quote_is_refused():
    with pytest.raises(ValueError, match="only once"):
        make_quote(make_line(), make_line())


def test_a_quote_without_lines_is_refused():
    with pytest.raises(ValueError, match="at least one line"):
        quote_return(
            currency="SAR",
            lines=[],
            return_shipping_fee=sar(0),
            waive_return_shipping=False,
            store_credit_bonus_percent=Decimal(0),
            store_credit_bonus_flat=sar(0),
        )


def test_a_negative_store_credit_bonus_is_refused():
    with pytest.raises(ValueError, match="bonus percent"):
        make_quote(make_line(), store_credit_bonus_percent=Decimal(-1))


# -- storing the quote -------------------------------------------------------------------------


def test_stored_quote_is_plain_json_and_reads_back_identical():
    quote = make_quote(
        make_line(line_ref="A", tax_total=sar(4500), exchange_unit_price=sar(9000)),
        make_line(line_ref="B", prices_include_tax=True, tax_total=sar(3913)),
        return_shipping_fee=sar(1500),
        store_credit_bonus_percent=Decimal("7.5"),
    )

    data = json.loads(json.dumps(quote.to_data()))

    assert ReturnQuote.from_data(data) == quote
    assert data["currency"] == "SAR"
    assert data["items"][0]["exchange_difference"] == 9000 - 11500
    assert data["items"][1]["exchange_difference"] is None
    assert data["refund_total"] == quote.refund_total.minor


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda d: d.update(version=2),
        lambda d: d.pop("refund_total"),
        lambda d: d.update(refund_total=100.5),
        lambda d: d.update(currency="QQQ"),
        lambda d: d["items"][0].update(quantity=True),
        lambda d: d["items"][0].update(tax_included=1),
        lambda d: d.update(refund_parts=[]),
    ],
    ids=["version", "missing", "float", "currency", "bool-quantity", "int-flag", "parts"],
)
def test_malformed_stored_quote_is_refused(corrupt):
    data = make_quote(make_line()).to_data()
    corrupt(data)

    with pytest.raises(ValueError):
        ReturnQuote.from_data(data)
