"""The policy engine: windows, rule matching and overriding, final sale, legal minimums."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from awda.core.money import CurrencyMismatch, Money
from awda.policies.document import Outcome, OutcomePatch, PolicyDocument, parse_policy
from awda.policies.presets import LEGAL_PRESETS
from awda.policies.rules import (
    CustomerHistory,
    EffectiveOutcome,
    Explanation,
    LineFacts,
    OrderFacts,
    compile_policy,
    evaluate_line,
    evaluate_order,
)

NOW = datetime(2025, 12, 1, 12, 0, tzinfo=UTC)

DEFAULTS: dict[str, Any] = {
    "window_days": 30,
    "returnable": True,
    "resolutions": ["refund", "store_credit", "exchange"],
    "methods": ["label", "qr_dropoff"],
    "return_shipping_paid_by": "merchant",
    "refund_timing": "delivered",
    "condition": "unused",
}


def make_policy(
    rules: list[dict[str, Any]] | None = None, *, country: str | None = None, **defaults: Any
) -> PolicyDocument:
    data: dict[str, Any] = {
        "name": "Test policy",
        "currency": "SAR",
        "defaults": {**DEFAULTS, **defaults},
        "rules": rules or [],
    }
    if country:
        data["country"] = country
    return parse_policy(data)


def rule(rule_id: str, when: dict[str, Any], then: dict[str, Any]) -> dict[str, Any]:
    return {"id": rule_id, "name": rule_id.replace("-", " ").title(), "when": when, "then": then}


def make_order(**overrides: Any) -> OrderFacts:
    # "AE" has no legal preset, so windows are the merchant's own unless a test says otherwise.
    values: dict[str, Any] = {
        "currency": "SAR",
        "order_value_minor": 50_000,
        "placed_at": NOW - timedelta(days=12),
        "delivered_at": NOW - timedelta(days=10),
        "payment_method": "card",
        "country": "AE",
    }
    values.update(overrides)
    return OrderFacts(**values)


def make_line(**overrides: Any) -> LineFacts:
    values: dict[str, Any] = {
        "line_ref": "L1",
        "product_id": "P1",
        "sku": "SKU-1",
        "category": "shirts",
        "tags": frozenset(),
        "supplier": "Acme",
        "unit_price_minor": 10_000,
    }
    values.update(overrides)
    return LineFacts(**values)


def delivered_days_ago(days: int) -> OrderFacts:
    return make_order(delivered_at=NOW - timedelta(days=days))


def codes(decision: Any) -> list[str]:
    return [e.code for e in decision.reasons]


# -- windows ----------------------------------------------------------------------------------
def test_item_delivered_30_days_ago_is_inside_a_30_day_window() -> None:
    decision = evaluate_line(make_policy(), delivered_days_ago(30), make_line(), now=NOW)

    assert decision.returnable
    assert decision.blocking is None
    assert decision.days_left == 0


def test_item_delivered_31_days_ago_is_outside_a_30_day_window() -> None:
    decision = evaluate_line(make_policy(), delivered_days_ago(31), make_line(), now=NOW)

    assert not decision.returnable
    assert decision.blocking == "window_expired"
    assert decision.days_left is None
    assert decision.reasons[0] == Explanation("window_expired", {"deadline": decision.deadline})


def test_deadline_is_the_end_of_the_last_day_in_utc() -> None:
    riyadh = timezone(timedelta(hours=3))
    order = make_order(delivered_at=datetime(2025, 11, 1, 23, 30, tzinfo=riyadh))

    decision = evaluate_line(make_policy(), order, make_line(), now=NOW)

    assert decision.deadline == datetime(2025, 12, 1, 23, 59, 59, 999_999, tzinfo=UTC)


def test_window_counts_from_the_utc_date_of_delivery() -> None:
    # 01:00 in Riyadh on 2 November is still 1 November in UTC.
    riyadh = timezone(timedelta(hours=3))
    order = make_order(delivered_at=datetime(2025, 11, 2, 1, 0, tzinfo=riyadh))

    just_after = datetime(2025, 12, 2, 0, 0, tzinfo=UTC)
    decision = evaluate_line(make_policy(), order, make_line(), now=just_after)

    assert decision.blocking == "window_expired"


def test_undelivered_order_counts_its_window_from_the_order_date() -> None:
    order = make_order(placed_at=NOW - timedelta(days=3), delivered_at=None)

    decision = evaluate_line(make_policy(window_days=7), order, make_line(), now=NOW)

    assert decision.deadline is not None
    assert decision.deadline.date() == (NOW + timedelta(days=4)).date()
    assert decision.reasons[0].params["counted_from"] == "order"


def test_delivered_order_counts_its_window_from_delivery_not_from_the_order() -> None:
    order = make_order(placed_at=NOW - timedelta(days=60), delivered_at=NOW - timedelta(days=5))

    decision = evaluate_line(make_policy(), order, make_line(), now=NOW)

    assert decision.returnable
    assert decision.reasons[0].params["counted_from"] == "delivery"


def test_now_without_a_timezone_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate_line(make_policy(), make_order(), make_line(), now=NOW.replace(tzinfo=None))


@given(
    window=st.integers(min_value=0, max_value=365),
    days_ago=st.integers(min_value=0, max_value=400),
    seconds=st.integers(min_value=0, max_value=86_399),
)
def test_a_line_is_returnable_exactly_while_now_is_not_past_its_deadline(
    window: int, days_ago: int, seconds: int
) -> None:
    now = datetime(2025, 6, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    order = make_order(delivered_at=datetime(2025, 6, 1, 8, tzinfo=UTC) - timedelta(days=days_ago))

    decision = evaluate_line(make_policy(window_days=window), order, make_line(), now=now)

    assert decision.deadline is not None
    assert decision.returnable == (now <= decision.deadline) == (days_ago <= window)


# -- rules ------------------------------------------------------------------------------------
def test_later_matching_rule_overrides_an_earlier_one_field_by_field() -> None:
    policy = make_policy(
        [
            rule("shirts", {"categories": ["shirts"]}, {"window_days": 60, "manual_review": True}),
            rule("sale", {"tags": ["sale"]}, {"window_days": 14}),
        ]
    )
    line = make_line(tags=frozenset({"sale"}))

    decision = evaluate_line(policy, make_order(), line, now=NOW)

    assert decision.matched_rules == ("shirts", "sale")
    assert decision.window_days == 14
    assert decision.outcome.manual_review is True


def test_rule_whose_conditions_do_not_all_hold_is_not_applied() -> None:
    policy = make_policy(
        [
            rule(
                "cheap-shirts",
                {"categories": ["shirts"], "price_max_minor": 5_000},
                {"window_days": 7},
            )
        ]
    )

    decision = evaluate_line(policy, make_order(), make_line(unit_price_minor=6_000), now=NOW)

    assert decision.matched_rules == ()
    assert decision.window_days == 30


def test_rule_without_conditions_applies_to_every_line() -> None:
    policy = make_policy([rule("everything", {}, {"window_days": 45})])

    decision = evaluate_line(policy, make_order(), make_line(), now=NOW)

    assert decision.window_days == 45


def test_tags_categories_and_suppliers_match_whatever_their_case() -> None:
    policy = make_policy(
        [
            rule("tag", {"tags": ["Final-Sale"]}, {"manual_review": True}),
            rule("cat", {"categories": ["SHIRTS"]}, {"photos_required": True}),
            rule("sup", {"suppliers": ["acme"]}, {"window_days": 40}),
        ]
    )
    line = make_line(tags=frozenset({"final-sale"}), category="Shirts", supplier="ACME")

    decision = evaluate_line(policy, make_order(), line, now=NOW)

    assert decision.matched_rules == ("tag", "cat", "sup")


def test_product_ids_and_skus_match_exactly() -> None:
    policy = make_policy([rule("sku", {"variant_skus": ["abc-1"]}, {"window_days": 40})])

    decision = evaluate_line(policy, make_order(), make_line(sku="ABC-1"), now=NOW)

    assert decision.matched_rules == ()


def on_line(**facts: Any) -> dict[str, Any]:
    return {"line": facts}


def on_order(**facts: Any) -> dict[str, Any]:
    return {"order": facts}


def history(**facts: Any) -> dict[str, Any]:
    return on_order(customer=CustomerHistory(**facts))


def since_delivery(days: int) -> dict[str, Any]:
    return on_order(delivered_at=NOW - timedelta(days=days))


# Each row: a rule condition, facts that satisfy it, facts that don't.
CONDITION_CASES: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ({"product_ids": ["P1", "P2"]}, on_line(product_id="P2"), on_line(product_id="P3")),
    ({"variant_skus": ["S-1"]}, on_line(sku="S-1"), on_line(sku="S-2")),
    ({"categories": ["shoes"]}, on_line(category="shoes"), on_line(category=None)),
    ({"tags": ["a", "b"]}, on_line(tags=frozenset({"b", "z"})), on_line(tags=frozenset())),
    ({"suppliers": ["Acme"]}, on_line(supplier="Acme"), on_line(supplier=None)),
    ({"price_min_minor": 100}, on_line(unit_price_minor=100), on_line(unit_price_minor=99)),
    ({"price_max_minor": 100}, on_line(unit_price_minor=100), on_line(unit_price_minor=101)),
    ({"order_value_min_minor": 5}, on_order(order_value_minor=5), on_order(order_value_minor=4)),
    ({"order_value_max_minor": 5}, on_order(order_value_minor=5), on_order(order_value_minor=6)),
    ({"order_tags": ["vip"]}, on_order(order_tags=frozenset({"VIP"})), on_order()),
    ({"customer_tags": ["vip"]}, on_order(customer_tags=frozenset({"vip"})), on_order()),
    ({"countries": ["kw", "SA"]}, on_order(country="KW"), on_order(country=None)),
    (
        {"payment_methods": ["cash_on_delivery"]},
        on_order(payment_method="cash_on_delivery"),
        on_order(payment_method="card"),
    ),
    ({"days_since_delivery_min": 10}, since_delivery(10), since_delivery(9)),
    ({"days_since_delivery_max": 10}, since_delivery(10), since_delivery(11)),
    ({"reasons": ["defective"]}, {"reason": "defective"}, {"reason": "too_small"}),
    ({"customer_returns_count_min": 3}, history(returns_count=3), history(returns_count=2)),
    (
        {"customer_return_rate_min": "0.5"},
        history(return_rate=Decimal("0.5")),
        history(return_rate=Decimal("0.49")),
    ),
    (
        {"customer_returns_value_min_minor": 1000},
        history(returns_value_minor=1000),
        history(returns_value_minor=999),
    ),
    ({"final_sale": False}, on_line(final_sale=False), on_line(final_sale=True)),
]


@pytest.mark.parametrize(("when", "holds", "fails"), CONDITION_CASES)
def test_each_condition_applies_the_rule_only_when_it_holds(
    when: dict[str, Any], holds: dict[str, Any], fails: dict[str, Any]
) -> None:
    policy = make_policy([rule("r", when, {"manual_review": True})])

    def matched(facts: dict[str, Any]) -> bool:
        decision = evaluate_line(
            policy,
            make_order(**facts.get("order", {})),
            make_line(**facts.get("line", {})),
            now=NOW,
            reason=facts.get("reason"),
        )
        return decision.matched_rules == ("r",)

    assert matched(holds)
    assert not matched(fails)


def test_days_since_delivery_counts_from_the_order_date_when_undelivered() -> None:
    policy = make_policy([rule("late", {"days_since_delivery_min": 5}, {"manual_review": True})])
    order = make_order(placed_at=NOW - timedelta(days=6), delivered_at=None)

    decision = evaluate_line(policy, order, make_line(), now=NOW)

    assert decision.matched_rules == ("late",)


def test_evaluate_order_decides_every_line_in_order() -> None:
    policy = make_policy([rule("shoes", {"categories": ["shoes"]}, {"returnable": False})])
    lines = [make_line(line_ref="a"), make_line(line_ref="b", category="shoes")]

    decisions = evaluate_order(policy, make_order(), lines, now=NOW)

    assert [(d.line_ref, d.returnable) for d in decisions] == [("a", True), ("b", False)]


# -- reasons ----------------------------------------------------------------------------------
REASON_POLICY_RULES = [
    rule("defects", {"reasons": ["defective"]}, {"manual_review": True, "window_days": 90})
]


def test_rules_with_a_reason_condition_wait_until_a_reason_is_chosen() -> None:
    decision = evaluate_line(make_policy(REASON_POLICY_RULES), make_order(), make_line(), now=NOW)

    assert decision.matched_rules == ()
    assert decision.window_days == 30
    assert decision.reason_dependent_rules == ("defects",)


def test_rules_with_a_reason_condition_apply_when_that_reason_is_chosen() -> None:
    decision = evaluate_line(
        make_policy(REASON_POLICY_RULES), make_order(), make_line(), now=NOW, reason="defective"
    )

    assert decision.matched_rules == ("defects",)
    assert decision.window_days == 90
    assert decision.reason_dependent_rules == ()


def test_rules_with_a_reason_condition_ignore_other_reasons() -> None:
    decision = evaluate_line(
        make_policy(REASON_POLICY_RULES), make_order(), make_line(), now=NOW, reason="too_big"
    )

    assert decision.matched_rules == ()


# -- final sale and not returnable ------------------------------------------------------------
def test_final_sale_line_is_not_returnable() -> None:
    decision = evaluate_line(make_policy(), make_order(), make_line(final_sale=True), now=NOW)

    assert not decision.returnable
    assert decision.blocking == "final_sale"
    assert decision.deadline is None
    assert codes(decision) == ["final_sale"]


def test_final_sale_line_is_reopened_by_a_rule_aimed_at_final_sale_lines() -> None:
    policy = make_policy(
        [
            rule(
                "defective-final-sale",
                {"final_sale": True, "reasons": ["defective"]},
                {"returnable": True},
            )
        ]
    )
    line = make_line(final_sale=True)

    listing = evaluate_line(policy, make_order(), line, now=NOW)
    chosen = evaluate_line(policy, make_order(), line, now=NOW, reason="defective")

    assert listing.blocking == "final_sale"
    assert listing.reason_dependent_rules == ("defective-final-sale",)
    assert chosen.returnable


def test_broad_returnable_rule_does_not_reopen_final_sale_lines() -> None:
    policy = make_policy(
        [
            rule("shoes-closed", {"categories": ["shoes"]}, {"returnable": False}),
            rule("vip-anything", {"customer_tags": ["vip"]}, {"returnable": True}),
        ]
    )
    order = make_order(customer_tags=frozenset({"vip"}))

    decision = evaluate_line(policy, order, make_line(final_sale=True), now=NOW)

    assert decision.blocking == "final_sale"


def test_a_final_sale_line_reopened_for_defects_is_closed_again_by_a_later_closing_rule() -> None:
    policy = make_policy(
        [
            rule("defects", {"final_sale": True}, {"returnable": True}),
            rule("anything-goes", {}, {"returnable": True}),
            rule("no-shoes", {"categories": ["shoes"]}, {"returnable": False}),
        ]
    )

    shirt = evaluate_line(policy, make_order(), make_line(final_sale=True), now=NOW)
    shoe = evaluate_line(
        policy, make_order(), make_line(final_sale=True, category="shoes"), now=NOW
    )

    assert shirt.returnable
    assert shoe.blocking == "final_sale"


def test_product_flagged_not_returnable_in_the_catalog_stays_so_whatever_the_rules() -> None:
    policy = make_policy(
        [rule("reopen", {"final_sale": False}, {"returnable": True, "window_days": 365})]
    )

    decision = evaluate_line(policy, make_order(), make_line(returnable=False), now=NOW)

    assert decision.blocking == "not_returnable"
    assert codes(decision)[0] == "product_not_returnable"


def test_rule_making_a_category_not_returnable_blocks_it_and_names_the_rule() -> None:
    policy = make_policy([rule("underwear", {"categories": ["underwear"]}, {"returnable": False})])

    decision = evaluate_line(policy, make_order(), make_line(category="underwear"), now=NOW)

    assert decision.blocking == "not_returnable"
    assert decision.reasons[0].code == "policy_not_returnable"
    assert decision.reasons[0].params["rule_id"] == "underwear"
    assert decision.reasons[-1].code == "rule_matched"
    assert not decision.outcome.returnable


def test_rules_combining_into_no_resolution_make_the_line_not_returnable() -> None:
    # Each rule is valid on top of the defaults; together they leave nothing to offer.
    policy = make_policy(
        [
            rule("closed", {"tags": ["x"]}, {"returnable": False, "resolutions": []}),
            rule("reopened", {"tags": ["x"]}, {"returnable": True}),
        ]
    )

    decision = evaluate_line(policy, make_order(), make_line(tags=frozenset({"x"})), now=NOW)

    assert decision.blocking == "not_returnable"


# -- legal minimum ----------------------------------------------------------------------------
def test_saudi_shopper_gets_seven_days_even_when_the_policy_says_three() -> None:
    order = make_order(country="SA", delivered_at=NOW - timedelta(days=6))

    decision = evaluate_line(make_policy(window_days=3), order, make_line(), now=NOW)

    assert decision.returnable
    assert decision.window_days == 7
    assert decision.outcome.window_days == 7
    assert decision.legal_minimum_applied == LEGAL_PRESETS["SA"]
    assert "legal_minimum_applied" in codes(decision)


def test_legal_minimum_does_not_shorten_a_longer_merchant_window() -> None:
    order = make_order(country="SA")

    decision = evaluate_line(make_policy(window_days=30), order, make_line(), now=NOW)

    assert decision.window_days == 30
    assert decision.legal_minimum_applied is None


def test_legal_minimum_does_not_make_a_final_sale_line_returnable() -> None:
    order = make_order(country="SA", delivered_at=NOW - timedelta(days=1))

    decision = evaluate_line(make_policy(window_days=0), order, make_line(final_sale=True), now=NOW)

    assert decision.blocking == "final_sale"
    assert decision.legal_minimum_applied is None


def test_shopper_in_an_eu_member_state_gets_the_eu_fourteen_days() -> None:
    order = make_order(country="DE", delivered_at=NOW - timedelta(days=13))

    decision = evaluate_line(make_policy(window_days=7), order, make_line(), now=NOW)

    assert decision.returnable
    assert decision.legal_minimum_applied is LEGAL_PRESETS["EU"]


def test_policy_country_is_the_legal_fallback_when_the_shipping_country_is_unknown() -> None:
    order = make_order(country=None, delivered_at=NOW - timedelta(days=10))

    decision = evaluate_line(make_policy(country="KW", window_days=5), order, make_line(), now=NOW)

    assert decision.window_days == 14


@given(
    window=st.integers(min_value=0, max_value=365),
    country=st.sampled_from(["SA", "KW", "EG", "DE", "FR", "NO", "AE", "US", None]),
    days_ago=st.integers(min_value=0, max_value=30),
)
def test_effective_window_is_never_below_the_legal_minimum(
    window: int, country: str | None, days_ago: int
) -> None:
    order = make_order(country=country, delivered_at=NOW - timedelta(days=days_ago))

    decision = evaluate_line(make_policy(window_days=window), order, make_line(), now=NOW)

    legal = {"SA": 7, "KW": 14, "EG": 14, "DE": 14, "FR": 14, "NO": 14}.get(country or "", 0)
    assert decision.window_days == max(window, legal)
    assert (decision.legal_minimum_applied is not None) == (window < legal)


@given(windows=st.lists(st.integers(min_value=0, max_value=365), min_size=1, max_size=8))
def test_the_last_matching_rule_decides_a_field(windows: list[int]) -> None:
    rules = [
        rule(f"r{i}", {"categories": ["shirts"]}, {"window_days": w}) for i, w in enumerate(windows)
    ]

    decision = evaluate_line(make_policy(rules), make_order(), make_line(), now=NOW)

    assert decision.outcome.window_days == windows[-1]
    assert len(decision.matched_rules) == len(windows)


# -- keep item, photos, review, fees ----------------------------------------------------------
KEEP_ITEM: dict[str, Any] = {"methods": ["label", "keep_item"], "keep_item_threshold_minor": 2_000}


def test_line_below_the_keep_item_threshold_is_refunded_without_a_return() -> None:
    decision = evaluate_line(
        make_policy(**KEEP_ITEM), make_order(), make_line(unit_price_minor=1_999), now=NOW
    )

    assert decision.keep_item
    assert decision.outcome.methods == ("keep_item",)
    assert "keep_item" in codes(decision)


def test_line_at_the_keep_item_threshold_is_sent_back() -> None:
    decision = evaluate_line(
        make_policy(**KEEP_ITEM), make_order(), make_line(unit_price_minor=2_000), now=NOW
    )

    assert not decision.keep_item
    assert decision.outcome.methods == ("label",)


def test_photos_are_required_only_for_the_listed_reasons() -> None:
    policy = make_policy(photos_required_for_reasons=["defective"])

    without = evaluate_line(policy, make_order(), make_line(), now=NOW, reason="too_big")
    with_photos = evaluate_line(policy, make_order(), make_line(), now=NOW, reason="defective")

    assert not without.photos_required
    assert with_photos.photos_required
    assert "photos_required" in codes(with_photos)


def test_manual_review_is_explained_to_the_shopper() -> None:
    decision = evaluate_line(make_policy(manual_review=True), make_order(), make_line(), now=NOW)

    assert "manual_review" in codes(decision)


def test_restocking_fee_is_explained_but_waived_for_defective_items() -> None:
    policy = make_policy(restocking_fee_percent="15", waive_restocking_for_reasons=["defective"])

    changed_mind = evaluate_line(policy, make_order(), make_line(), now=NOW, reason="too_big")
    defective = evaluate_line(policy, make_order(), make_line(), now=NOW, reason="defective")

    fee = next(e for e in changed_mind.reasons if e.code == "restocking_fee")
    assert fee.params == {"percent": Decimal(15), "flat": Money(0, "SAR")}
    assert "restocking_fee" not in codes(defective)


def test_return_shipping_charged_to_the_customer_is_free_for_a_waived_reason() -> None:
    policy = make_policy(
        return_shipping_paid_by="customer",
        return_shipping_fee_minor=1_500,
        waive_shipping_for_reasons=["wrong_item"],
    )

    charged = evaluate_line(policy, make_order(), make_line(), now=NOW, reason="too_big")
    waived = evaluate_line(policy, make_order(), make_line(), now=NOW, reason="wrong_item")

    assert (
        Explanation(
            "return_shipping_fee", {"fee": Money(1_500, "SAR"), "free_for_exchanges": False}
        )
        in charged.reasons
    )
    assert Explanation("return_shipping_free", {"why": "reason"}) in waived.reasons


def test_blocked_lines_explain_only_why_they_are_blocked() -> None:
    decision = evaluate_line(
        make_policy(manual_review=True), delivered_days_ago(40), make_line(), now=NOW
    )

    assert codes(decision) == ["window_expired"]


# -- inputs and compilation -------------------------------------------------------------------
def test_order_in_another_currency_than_the_policy_is_rejected() -> None:
    with pytest.raises(CurrencyMismatch):
        evaluate_line(make_policy(), make_order(currency="KWD"), make_line(), now=NOW)


def test_compiled_policy_is_reused_for_the_same_document() -> None:
    policy = make_policy()

    assert compile_policy(policy) is compile_policy(policy)


def test_a_modified_copy_of_a_policy_is_not_evaluated_with_the_original_compiled_form() -> None:
    policy = make_policy()
    compile_policy(policy)
    shorter = policy.model_copy(
        update={"defaults": policy.defaults.model_copy(update={"window_days": 5})}
    )

    decision = evaluate_line(shorter, make_order(), make_line(), now=NOW)

    assert decision.window_days == 5


def test_compiled_policy_can_be_passed_instead_of_the_document() -> None:
    compiled = compile_policy(make_policy(window_days=20))

    assert evaluate_line(compiled, make_order(), make_line(), now=NOW).window_days == 20


def test_effective_outcome_and_patch_have_exactly_the_outcome_fields() -> None:
    outcome_fields = set(Outcome.model_fields)

    assert {f.name for f in dataclasses.fields(EffectiveOutcome)} == outcome_fields
    assert set(OutcomePatch.model_fields) == outcome_fields
