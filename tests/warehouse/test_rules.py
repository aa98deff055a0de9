"""The suggested disposition: pure rules by condition, reason and category."""

from __future__ import annotations

import pytest

from awda.warehouse.rules import ItemFacts, suggest_disposition


def _facts(**kw) -> ItemFacts:
    base = dict(condition="new", decision="accepted", reception="received", reason="size",
                category="shirts", has_supplier=True)  # fmt: skip
    return ItemFacts(**{**base, **kw})


@pytest.mark.parametrize("condition", ["new", "opened"])
def test_a_new_or_opened_item_returned_for_its_size_is_restocked(condition):
    assert suggest_disposition(_facts(condition=condition)) == "restock"


def test_a_defective_item_goes_back_to_its_supplier():
    assert suggest_disposition(_facts(condition="defective")) == "return_to_vendor"


def test_a_defective_item_without_a_supplier_is_recycled():
    assert suggest_disposition(_facts(condition="defective", has_supplier=False)) == "recycle"


def test_the_shoppers_defect_reason_counts_once_the_item_is_not_new():
    assert suggest_disposition(_facts(condition="opened", reason="defective")) == (
        "return_to_vendor"
    )
    # Graded new, the shopper's "defective" was not borne out: back on the shelf.
    assert suggest_disposition(_facts(condition="new", reason="defective")) == "restock"


def test_a_damaged_item_is_liquidated():
    assert suggest_disposition(_facts(condition="damaged")) == "liquidate"


def test_a_used_item_is_refurbished():
    assert suggest_disposition(_facts(condition="used")) == "refurbish"


@pytest.mark.parametrize("condition", ["opened", "used", "damaged"])
def test_opened_hygiene_items_are_destroyed(condition):
    assert suggest_disposition(_facts(condition=condition, category="underwear")) == "destroy"


def test_a_sealed_hygiene_item_is_restocked():
    assert suggest_disposition(_facts(condition="new", category="underwear")) == "restock"


@pytest.mark.parametrize(
    ("decision", "reception"),
    [("rejected", "received"), ("pending", "received"), ("accepted", "missing")],
)
def test_nothing_is_suggested_for_an_item_not_accepted_or_not_here(decision, reception):
    assert suggest_disposition(_facts(decision=decision, reception=reception)) is None


def test_a_keep_item_return_is_kept_by_the_customer():
    assert suggest_disposition(_facts(keep_item=True, decision="pending")) == "kept_by_customer"
