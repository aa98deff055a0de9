"""The suggested disposition of a returned item: pure rules, no database.

The station shows the suggestion as the default; the operator can pick another.
"""

from __future__ import annotations

from dataclasses import dataclass

# Values of ``returns.models.Disposition`` / ``Condition`` / ``Decision`` / ``Reception``,
# spelled out so this module imports nothing (it is checked to stay pure).
RESTOCK = "restock"
REFURBISH = "refurbish"
RECYCLE = "recycle"
LIQUIDATE = "liquidate"
RETURN_TO_VENDOR = "return_to_vendor"
DESTROY = "destroy"
KEPT_BY_CUSTOMER = "kept_by_customer"

# Reasons that say the product itself is at fault (the shopper's word, checked by the grade).
DEFECT_REASONS = frozenset({"defective"})
# Categories nobody may buy again once opened (hygiene): never restocked unless sealed.
HYGIENE_CATEGORIES = frozenset({"underwear", "swimwear", "cosmetics", "beauty", "earrings"})


@dataclass(frozen=True)
class ItemFacts:
    condition: str  # new, opened, used, damaged, defective ("" when never graded)
    decision: str  # pending, accepted, rejected, needs_review
    reception: str  # awaiting, received, missing, wrong_item
    reason: str = ""  # the shopper's reason code
    category: str = ""  # the product's category code
    has_supplier: bool = False
    keep_item: bool = False  # a keep-item return: the shopper keeps it


def suggest_disposition(facts: ItemFacts) -> str | None:
    """The default disposition for an item, or None when there is nothing to dispose of
    (the item never arrived, or was rejected and goes back to the shopper)."""
    if facts.keep_item:
        return KEPT_BY_CUSTOMER
    if facts.reception != "received" or facts.decision != "accepted":
        return None
    hygiene = facts.category in HYGIENE_CATEGORIES
    if facts.condition == "defective" or (
        facts.reason in DEFECT_REASONS and facts.condition != "new"
    ):
        return RETURN_TO_VENDOR if facts.has_supplier else RECYCLE
    if facts.condition == "damaged":
        return DESTROY if hygiene else LIQUIDATE
    if facts.condition == "new":
        return RESTOCK
    if facts.condition == "opened":
        return DESTROY if hygiene else RESTOCK
    if facts.condition == "used":
        return DESTROY if hygiene else REFURBISH
    return None
