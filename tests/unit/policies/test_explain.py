"""Explanations in the shopper's language: English source strings, Arabic translations."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import awda.policies
from awda.core.money import Money
from awda.policies import explain as explain_module
from awda.policies.document import parse_policy
from awda.policies.explain import RENDERERS, explain, explain_both, render
from awda.policies.rules import Explanation, LineDecision, LineFacts, OrderFacts, evaluate_line

ARABIC_LETTER = re.compile(r"[\u0621-\u064A]")
APP_DIR = Path(awda.policies.__file__).parent
PO_FILE = APP_DIR / "locale" / "ar" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")
NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)


def decide(
    *, rules: list[dict[str, Any]] | None = None, country: str = "AE", **line: Any
) -> LineDecision:
    policy = parse_policy(
        {
            "name": "Policy",
            "currency": "SAR",
            "defaults": {
                "window_days": 11,
                "returnable": True,
                "resolutions": ["refund", "store_credit"],
                "methods": ["label"],
                "return_shipping_paid_by": "merchant",
                "refund_timing": "first_scan",
                "condition": "unused",
                "store_credit_bonus_percent": "10",
            },
            "rules": rules or [],
        }
    )
    order = OrderFacts(
        currency="SAR",
        order_value_minor=10_000,
        placed_at=NOW - timedelta(days=3),
        delivered_at=NOW - timedelta(days=1),
        payment_method="card",
        country=country,
    )
    facts: dict[str, Any] = {
        "line_ref": "L1",
        "product_id": "P1",
        "sku": "S1",
        "category": "shirts",
        "tags": frozenset(),
        "supplier": None,
        "unit_price_minor": 10_000,
    }
    facts.update(line)
    return evaluate_line(policy, order, LineFacts(**facts), now=NOW)


def test_english_window_sentence_names_the_day_and_month() -> None:
    assert explain(decide(), "en")[0] == "Returnable until 11 December."


def test_arabic_window_sentence_is_arabic_with_an_arabic_month() -> None:
    assert explain(decide(), "ar")[0] == "يمكن إرجاعه حتى 11 ديسمبر."


def test_every_arabic_sentence_contains_arabic_letters() -> None:
    sentences = explain(decide(), "ar")

    assert sentences
    assert all(ARABIC_LETTER.search(s) for s in sentences)


def test_rule_names_use_the_arabic_name_in_arabic_and_fall_back_to_english() -> None:
    rules = [
        {
            "id": "named",
            "name": "Shirts",
            "name_ar": "القمصان",
            "when": {},
            "then": {"window_days": 12},
        },
        {"id": "unnamed", "name": "Only English", "when": {}, "then": {"window_days": 13}},
    ]

    both = explain_both(decide(rules=rules))

    assert both["en"][-2:] == [
        "Store rule applied: “Shirts”.",
        "Store rule applied: “Only English”.",
    ]
    assert both["ar"][-2:] == [
        "طُبّقت قاعدة المتجر: «القمصان».",
        "طُبّقت قاعدة المتجر: «Only English».",
    ]


def test_legal_minimum_is_explained_with_the_law_name_and_an_arabic_plural() -> None:
    rules = [{"id": "short", "name": "Short", "when": {}, "then": {"window_days": 2}}]

    both = explain_both(decide(rules=rules, country="SA"))

    assert (
        "The law gives you at least 7 days to return this item (Saudi E-Commerce Law, art. 13)."
        in both["en"]
    )
    assert (
        "يمنحك القانون مهلة لا تقل عن 7 أيام لإرجاع هذا المنتج "
        "(نظام التجارة الإلكترونية السعودي، المادة 13)." in both["ar"]
    )


@pytest.mark.parametrize(
    ("days", "phrase"),
    [(1, "يوم واحد"), (2, "يومين"), (7, "7 أيام"), (14, "14 يومًا"), (100, "100 يوم")],
)
def test_arabic_day_counts_follow_arabic_plural_rules(days: int, phrase: str) -> None:
    explanation = Explanation(
        "legal_minimum_applied", {"code": "X", "law_en": "Law", "law_ar": "قانون", "days": days}
    )

    assert phrase in render(explanation, "ar")


def test_final_sale_is_explained_in_both_languages() -> None:
    both = explain_both(decide(final_sale=True))

    assert both == {
        "en": ["This item was sold as final sale and can't be returned."],
        "ar": ["بيع هذا المنتج بيعًا نهائيًا ولا يمكن إرجاعه."],
    }


def test_store_credit_bonus_and_refund_timing_are_explained() -> None:
    sentences = explain(decide(), "en")

    assert "Choose store credit and get an extra 10%." in sentences
    assert "Your refund is issued as soon as the carrier scans your parcel." in sentences


def test_percent_and_flat_amounts_are_combined_in_the_shoppers_language() -> None:
    explanation = Explanation(
        "restocking_fee", {"percent": Decimal("12.5"), "flat": Money(500, "SAR")}
    )

    assert render(explanation, "en") == (
        "A restocking fee of 12.5% plus SAR5.00 will be deducted from your refund."
    )
    assert "زائد" in render(explanation, "ar")
    assert "ر.س." in render(explanation, "ar")


def test_regional_arabic_is_arabic_and_an_unsupported_language_is_english() -> None:
    decision = decide()

    assert explain(decision, "ar-sa") == explain(decision, "ar")
    assert explain(decision, "fr") == explain(decision, "en")


SAMPLE_PARAMS: dict[str, dict[str, object]] = {
    "window_open": {"deadline": NOW, "days_left": 3, "counted_from": "delivery"},
    "window_expired": {"deadline": NOW},
    "final_sale": {},
    "product_not_returnable": {},
    "policy_not_returnable": {"rule_id": "r", "name": "R", "name_ar": "ق"},
    "legal_minimum_applied": {"code": "EU", "law_en": "EU", "law_ar": "الاتحاد", "days": 14},
    "keep_item": {},
    "photos_required": {},
    "manual_review": {},
    "restocking_fee": {"percent": Decimal(15), "flat": Money(0, "SAR")},
    "return_shipping_free": {"why": "policy"},
    "return_shipping_fee": {"fee": Money(1_500, "SAR"), "free_for_exchanges": True},
    "store_credit_bonus": {"percent": Decimal(0), "flat": Money(1_000, "SAR")},
    "refund_timing": {"timing": "inspected"},
    "rule_matched": {"rule_id": "r", "name": "R", "name_ar": None},
}


def test_every_explanation_code_has_sample_params_in_this_test() -> None:
    assert set(SAMPLE_PARAMS) == set(RENDERERS)


@pytest.mark.parametrize("code", sorted(SAMPLE_PARAMS))
def test_every_explanation_code_renders_in_english_and_in_arabic(code: str) -> None:
    explanation = Explanation(code, SAMPLE_PARAMS[code])

    english, arabic = render(explanation, "en"), render(explanation, "ar")

    assert not ARABIC_LETTER.search(english.replace("الاتحاد", ""))
    assert ARABIC_LETTER.search(arabic)
    assert "%(" not in english + arabic


def test_every_message_in_explain_py_has_an_arabic_translation() -> None:
    keywords = {"gettext": None, "ngettext": (1, 2)}
    source_ids = {
        message if isinstance(message, str) else message[0]
        for _line, message, _comments, _context in extract_from_file(
            "python", explain_module.__file__, keywords=keywords
        )
    }
    with PO_FILE.open("rb") as po:
        catalog = read_po(po)
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]: m
        for m in catalog
        if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else [m.string])
    }

    assert source_ids
    assert source_ids <= set(translated)
    assert catalog.num_plurals == 6


def _pairs(catalog: Any) -> set[tuple[object, object]]:
    def frozen(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    return {(frozen(m.id), frozen(m.string)) for m in catalog if m.id}


def test_compiled_arabic_catalog_matches_the_po_file() -> None:
    with PO_FILE.open("rb") as po, MO_FILE.open("rb") as mo:
        assert _pairs(read_po(po)) == _pairs(read_mo(mo))
