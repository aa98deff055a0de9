"""The shopper's code and the order credit is used up in, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from awda.wallet.rules import (
    CODE_ALPHABET,
    OpenCredit,
    code_prefix,
    hash_code,
    new_code,
    normalise_code,
    spending_order,
    take_from,
)

JAN = datetime(2027, 1, 1, tzinfo=UTC)
FEB = datetime(2027, 2, 1, tzinfo=UTC)


def test_a_new_code_is_five_groups_of_four_unambiguous_characters():
    code = new_code()
    groups = code.split("-")
    assert [len(g) for g in groups] == [4, 4, 4, 4, 4]
    assert all(c in CODE_ALPHABET for c in "".join(groups))
    assert not set("01OIL") & set(code)


def test_codes_are_read_in_any_case_with_spaces_or_without_dashes():
    code = new_code()
    stored = normalise_code(code)
    assert stored == code.replace("-", "")
    assert normalise_code(code.lower()) == stored
    assert normalise_code(" ".join(code.split("-"))) == stored
    assert normalise_code(f"  {code.replace('-', '')}\n") == stored


@pytest.mark.parametrize("typed", ["", "ABC", "A" * 21, "0" * 20, "I" * 20, "ÄBCD" * 5])
def test_what_cannot_be_a_code_is_refused_before_any_lookup(typed):
    assert normalise_code(typed) is None


def test_the_prefix_finds_the_row_and_the_hash_proves_the_rest():
    stored = normalise_code(new_code())
    assert stored is not None
    assert code_prefix(stored) == stored[:6]
    assert len(hash_code(stored)) == 64
    assert stored not in hash_code(stored)


def test_spending_uses_what_expires_first_then_the_oldest_and_never_expiring_last():
    credits = [
        OpenCredit(1, 100, None),
        OpenCredit(2, 100, FEB),
        OpenCredit(3, 100, JAN),
        OpenCredit(4, 100, JAN),
        OpenCredit(5, 100, None),
    ]
    assert [c.entry_id for c in spending_order(credits)] == [3, 4, 2, 1, 5]


def test_a_clawback_takes_the_credit_of_its_own_reference_first():
    credits = [OpenCredit(1, 100, JAN, "R-A"), OpenCredit(2, 100, None, "R-B")]
    ordered = spending_order(credits, prefer_reference="R-B")
    assert [c.entry_id for c in ordered] == [2, 1]


def test_a_spend_takes_whole_entries_in_order_and_part_of_the_last():
    credits = [OpenCredit(1, 300, JAN), OpenCredit(2, 500, FEB), OpenCredit(3, 200, None)]
    assert take_from(credits, 650) == [(1, 300), (2, 350)]
    assert take_from(credits, 0) == []


def test_a_spend_beyond_the_open_credit_is_refused():
    with pytest.raises(ValueError):
        take_from([OpenCredit(1, 300, None)], 301)
