"""Which lines each part of a refund pays for: every part and every line adds up exactly."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from awda.orders.rules import line_paid_minor, split_lines_over_parts


def test_parts_are_filled_in_order_from_the_lines_in_order() -> None:
    rows = split_lines_over_parts([(1, 6000), (2, 4000)], [("card", 7000), ("gift", 3000)])
    assert rows == [("card", 1, 6000), ("card", 2, 1000), ("gift", 2, 3000)]


def test_lines_and_parts_that_do_not_add_up_are_refused() -> None:
    with pytest.raises(ValueError, match="add up"):
        split_lines_over_parts([(1, 100)], [("card", 99)])


def test_what_was_paid_includes_the_tax_only_when_prices_exclude_it() -> None:
    paid = {"unit_price_minor": 1000, "quantity": 3, "discount_minor": 300, "tax_minor": 405}
    assert line_paid_minor(**paid, prices_include_tax=True) == 2700
    assert line_paid_minor(**paid, prices_include_tax=False) == 3105


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=6),
    st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=4),
)
def test_every_part_and_every_line_get_exactly_their_amount(lines, weights) -> None:
    total = sum(lines)
    # Parts summing to the same total, in proportion to arbitrary weights.
    shares = [total * w // sum(weights) for w in weights]
    shares[0] += total - sum(shares)
    parts = [(f"p{i}", s) for i, s in enumerate(shares)]
    line_ids = list(enumerate(lines))

    rows = split_lines_over_parts(line_ids, parts)

    assert all(amount > 0 for _k, _l, amount in rows)
    for key, share in parts:
        assert sum(a for k, _l, a in rows if k == key) == share
    for line_id, amount in line_ids:
        assert sum(a for _k, li, a in rows if li == line_id) == amount
