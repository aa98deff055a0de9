"""The public policy page's content and the badge's headline, read from a policy document.

Pure functions of the document: no database. The English sentences are the message ids; the
Arabic ones come from the policies catalogue, plural forms included.
"""

from __future__ import annotations

from typing import Any

import pytest

from awda.policies.document import PolicyDocument, default_policy, parse_policy
from awda.policies.public import PublicPolicy, headline, public_policy

LABELS_EN = {
    "defective": "Defective",
    "damaged_in_transit": "Damaged in transit",
    "wrong_item": "Wrong item sent",
    "changed_my_mind": "Changed my mind",
}
LABELS_AR = {
    "defective": "معيب",
    "damaged_in_transit": "تالف أثناء الشحن",
    "wrong_item": "وصلني منتج خاطئ",
    "changed_my_mind": "غيّرت رأيي",
}


def policy(
    *, country: str | None = None, rules: list[dict[str, Any]] | None = None, **defaults: Any
) -> PolicyDocument:
    data: dict[str, Any] = {
        "name": "Policy",
        "currency": "SAR",
        "defaults": {
            "window_days": 30,
            "returnable": True,
            "resolutions": ["refund", "store_credit", "exchange"],
            "methods": ["label", "pickup"],
            "return_shipping_paid_by": "merchant",
            "refund_timing": "delivered",
            "condition": "unused",
            **defaults,
        },
        "rules": rules or [],
    }
    if country:
        data["country"] = country
    return parse_policy(data)


def points(page: PublicPolicy, key: Any) -> list[str]:
    section = page.section(key)
    assert section is not None, f"no {key!r} section in {[s.key for s in page.sections]}"
    return list(section.points)


# -- the default policy ---------------------------------------------------------------------------
def test_the_default_policy_headline_is_not_free_because_the_shopper_pays_return_shipping() -> None:
    document = default_policy()

    assert headline(document, language="en") == "Returns within 30 days · free exchanges"
    assert headline(document, language="ar") == "إرجاع خلال 30 يومًا · استبدال مجاني"


def test_the_default_policy_page_answers_every_question_in_english() -> None:
    page = public_policy(default_policy(), language="en", reason_labels=LABELS_EN)

    assert page.language == "en"
    assert page.title == "Return policy"
    assert page.headline == "Returns within 30 days · free exchanges"
    assert [s.key for s in page.sections] == [
        "window",
        "exclusions",
        "condition",
        "money",
        "fees",
        "methods",
        "timing",
        "legal",
    ]
    assert points(page, "window")[0] == "You have 30 days from delivery to ask for a return."
    assert "Until your order is delivered, the days are counted from the order date." in points(
        page, "window"
    )
    assert "Electronics returned for a change of mind: 14 days." in points(page, "window")
    assert points(page, "exclusions") == [
        "Items sold as final sale or marked as not returnable.",
        "Final sale items",
        "Underwear",
    ]
    money = points(page, "money")
    assert money[0] == "You can choose a refund, store credit, or an exchange."
    assert any("cash on delivery" in p and "bank transfer" in p for p in money)
    assert "Choose store credit and get an extra 10%." in money
    assert "You can exchange for any product in the store." in money
    assert points(page, "fees") == [
        "Return shipping costs SAR15.00, deducted from your refund; it's free if you choose an "
        "exchange.",
        "Return shipping is free when the reason is “Defective”, “Damaged in transit”, or "
        "“Wrong item sent”.",
        "Electronics returned for a change of mind: A restocking fee of 15% will be deducted "
        "from your refund.",
    ]
    assert points(page, "methods")[0] == (
        "You can send the item back with a printed return label, a QR code at a drop-off point, "
        "or a courier pickup from your address."
    )
    assert points(page, "timing") == [
        "Your refund is issued when your parcel reaches our warehouse."
    ]
    assert (
        "Photos of the item are needed when the reason is “Defective” or “Damaged in transit”."
        in (points(page, "condition"))
    )


def test_the_default_policy_page_is_arabic_with_arabic_rule_names_and_reasons() -> None:
    page = public_policy(default_policy(), language="ar", reason_labels=LABELS_AR)

    assert page.title == "سياسة الإرجاع"
    assert page.start_return == "ابدأ طلب إرجاع"
    assert [s.title for s in page.sections][:3] == [
        "مدة الإرجاع",
        "ما لا يمكن إرجاعه",
        "حالة المنتجات المُرجعة",
    ]
    assert points(page, "window")[0] == "لديك 30 يومًا من تاريخ التسليم لطلب الإرجاع."
    assert "الإلكترونيات المُرجعة بسبب تغيير الرأي: 14 يومًا." in points(page, "window")
    assert points(page, "exclusions")[1:] == ["منتجات البيع النهائي", "الملابس الداخلية"]
    fees = points(page, "fees")
    assert "15.00" in fees[0] and "ر.س." in fees[0]
    assert fees[1] == (
        "شحن الإرجاع مجاني إذا كان سبب الإرجاع «معيب» أو «تالف أثناء الشحن» أو «وصلني منتج خاطئ»."
    )
    assert "10%" in " ".join(points(page, "money"))
    # No English sentence slipped through untranslated.
    for section in page.sections:
        for point in section.points:
            assert not any("a" <= ch <= "z" for ch in point.replace("IBAN", "")), point


def test_an_unsupported_language_gets_english_and_a_regional_arabic_tag_gets_arabic() -> None:
    assert public_policy(default_policy(), language="fr").language == "en"
    assert public_policy(default_policy(), language="ar-SA").headline.startswith("إرجاع")


# -- headlines: honest about what the shopper pays ------------------------------------------------
def test_free_shipping_and_no_restocking_fee_is_a_free_return() -> None:
    document = policy()

    assert headline(document, language="en") == "Free returns within 30 days"
    assert headline(document, language="ar") == "إرجاع مجاني خلال 30 يومًا"


def test_a_customer_paid_shipping_fee_of_zero_is_still_a_free_return() -> None:
    document = policy(return_shipping_paid_by="customer", return_shipping_fee_minor=0)

    assert headline(document, language="en") == "Free returns within 30 days"


def test_paid_return_shipping_and_a_restocking_fee_are_in_the_headline_and_the_fees() -> None:
    document = policy(
        window_days=14,
        return_shipping_paid_by="customer",
        return_shipping_fee_minor=2500,
        restocking_fee_percent="10",
        restocking_fee_flat_minor=500,
        waive_restocking_for_reasons=["defective"],
    )

    en = public_policy(document, language="en", reason_labels=LABELS_EN)
    assert en.headline == (
        "Returns within 14 days · return shipping SAR25.00 · 10% plus SAR5.00 restocking fee"
    )
    assert "free" not in en.headline.lower()
    assert points(en, "fees") == [
        "Return shipping costs SAR25.00, deducted from your refund.",
        "A restocking fee of 10% plus SAR5.00 will be deducted from your refund.",
        "There is no restocking fee when the reason is “Defective”.",
    ]
    ar = public_policy(document, language="ar", reason_labels=LABELS_AR)
    assert ar.headline.startswith("إرجاع خلال 14 يومًا · رسوم شحن الإرجاع ")
    assert "مجاني" not in ar.headline
    assert "رسوم إعادة تخزين" in ar.headline


def test_a_restocking_fee_means_exchanges_are_not_called_free() -> None:
    document = policy(
        return_shipping_paid_by="customer",
        return_shipping_fee_minor=1500,
        waive_shipping_for_exchanges=True,
        restocking_fee_percent="5",
    )

    assert "free exchanges" not in headline(document, language="en")


def test_a_refund_at_the_first_scan_is_said_in_the_headline() -> None:
    assert headline(policy(refund_timing="first_scan"), language="en") == (
        "Free returns within 30 days · refund as soon as you send it"
    )
    assert headline(policy(refund_timing="immediate"), language="en") == (
        "Free returns within 30 days · instant refund"
    )


def test_a_store_that_takes_no_returns_says_so() -> None:
    document = policy(returnable=False)
    page = public_policy(document, language="en")

    assert page.headline == "This store doesn't accept returns"
    assert page.section("money") is None
    assert points(page, "exclusions")[0] == "Items can't be returned, except as listed below."


# -- rules ----------------------------------------------------------------------------------------
ELECTRONICS = {
    "id": "electronics",
    "name": "Electronics",
    "name_ar": "الإلكترونيات",
    "when": {"categories": ["electronics"]},
    "then": {"window_days": 14, "methods": ["pickup"], "refund_timing": "inspected"},
}


def test_a_category_rule_is_described_by_its_name_under_each_answer_it_changes() -> None:
    page = public_policy(policy(rules=[ELECTRONICS]), language="en")

    assert "Electronics: 14 days." in points(page, "window")
    assert "Electronics: You can send the item back with a courier pickup from your address." in (
        points(page, "methods")
    )
    assert points(page, "timing") == [
        "Your refund is issued when your parcel reaches our warehouse.",
        "Electronics: Your refund is issued after we inspect the returned item.",
    ]
    # Answers the rule doesn't change aren't repeated for it.
    assert not any(p.startswith("Electronics") for p in points(page, "money"))


def test_a_category_rule_in_arabic_uses_the_arabic_name_and_falls_back_to_the_english_one() -> None:
    unnamed = {**ELECTRONICS, "id": "toys", "name": "Toys", "when": {"categories": ["toys"]}}
    del unnamed["name_ar"]
    page = public_policy(policy(rules=[ELECTRONICS, unnamed]), language="ar")

    window = points(page, "window")
    assert "الإلكترونيات: 14 يومًا." in window
    assert "Toys: 14 يومًا." in window


def test_a_rule_that_closes_items_names_them_and_one_that_reopens_them_says_so() -> None:
    rules = [
        {"id": "swim", "name": "Swimwear", "when": {"categories": ["swim"]},
         "then": {"returnable": False}},
        {"id": "faulty-final", "name": "Faulty final-sale items",
         "when": {"final_sale": True, "reasons": ["defective"]}, "then": {"returnable": True}},
    ]  # fmt: skip
    page = public_policy(policy(rules=rules), language="en")

    assert points(page, "exclusions") == [
        "Items sold as final sale or marked as not returnable.",
        "Swimwear",
        "Faulty final-sale items can be returned.",
    ]
    # A closed item's other terms don't matter to anyone.
    assert not any(
        "Swimwear" in p for s in page.sections if s.key != "exclusions" for p in s.points
    )


def test_a_rule_only_for_some_reasons_does_not_repeat_waivers_for_other_reasons() -> None:
    document = default_policy()
    page = public_policy(document, language="en", reason_labels=LABELS_EN)

    rule_fees = [p for p in points(page, "fees") if p.startswith("Electronics")]
    assert rule_fees == [
        "Electronics returned for a change of mind: A restocking fee of 15% will be deducted "
        "from your refund."
    ]


def test_a_reason_without_a_label_reads_as_words() -> None:
    document = policy(
        return_shipping_paid_by="customer",
        return_shipping_fee_minor=1000,
        waive_shipping_for_reasons=["arrived_late"],
    )
    page = public_policy(document, language="en")

    assert "Return shipping is free when the reason is “arrived late”." in points(page, "fees")


def test_keep_item_and_manual_review_are_explained() -> None:
    document = policy(
        methods=["label", "keep_item"], keep_item_threshold_minor=3000, manual_review=True
    )
    methods = points(public_policy(document, language="en"), "methods")

    assert "Items priced under SAR30.00 are refunded without being sent back." in methods
    assert "Our team reviews every return before approving it." in methods


# -- the law --------------------------------------------------------------------------------------
def test_a_saudi_policy_shorter_than_the_law_shows_the_legal_seven_days() -> None:
    document = policy(
        country="SA", window_days=3, rules=[{**ELECTRONICS, "then": {"window_days": 2}}]
    )

    en = public_policy(document, language="en")
    assert en.headline == "Free returns within 7 days"
    assert points(en, "window")[0] == "You have 7 days from delivery to ask for a return."
    assert "Electronics: 7 days." in points(en, "window")
    legal = points(en, "legal")
    assert legal[0] == (
        "By law (Saudi E-Commerce Law, art. 13), you have at least 7 days to return unused "
        "goods bought online."
    )
    assert "The periods above already include this legal minimum." in legal
    assert "custom-made items" in legal[-1] and "perishable goods" in legal[-1]

    ar = public_policy(document, language="ar")
    assert ar.headline == "إرجاع مجاني خلال 7 أيام"
    assert points(ar, "legal")[0] == (
        "بموجب القانون (نظام التجارة الإلكترونية السعودي، المادة 13)، لديك مهلة لا تقل عن 7 أيام "
        "لإرجاع السلع غير المستخدمة المشتراة عبر الإنترنت."
    )


def test_the_saudi_preset_policy_keeps_its_own_longer_window() -> None:
    page = public_policy(default_policy(currency="SAR", country="SA"), language="en")

    assert page.headline.startswith("Returns within 30 days")
    assert "The periods above already include this legal minimum." not in points(page, "legal")


def test_the_merchant_country_stands_in_when_the_document_names_none() -> None:
    document = policy(window_days=5)

    assert public_policy(document, language="en").section("legal") is None
    assert headline(document, language="en") == "Free returns within 5 days"
    assert headline(document, language="en", country="KW") == "Free returns within 14 days"


def test_egypt_requires_the_refund_within_seven_days() -> None:
    document = policy(country="EG")
    en = points(public_policy(document, language="en"), "legal")
    ar = points(public_policy(document, language="ar"), "legal")

    assert "The law also requires your refund within 7 days." in en
    assert "كما يُلزم القانون بردّ المبلغ إليك خلال 7 أيام." in ar


def test_an_eu_country_gets_the_consumer_rights_directive() -> None:
    document = parse_policy({**policy().to_data(), "country": "DE", "currency": "EUR"})
    legal = points(public_policy(document, language="en"), "legal")

    assert legal[0] == (
        "By law (EU Consumer Rights Directive), you have at least 14 days to return goods "
        "bought online."
    )
    assert "The law also requires your refund within 14 days." in legal


# -- Arabic plural forms --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("days", "headline_ar", "window_ar"),
    [
        (1, "إرجاع مجاني خلال يوم واحد", "لديك يوم واحد من تاريخ التسليم لطلب الإرجاع."),
        (2, "إرجاع مجاني خلال يومين", "لديك يومان من تاريخ التسليم لطلب الإرجاع."),
        (3, "إرجاع مجاني خلال 3 أيام", "لديك 3 أيام من تاريخ التسليم لطلب الإرجاع."),
        (10, "إرجاع مجاني خلال 10 أيام", "لديك 10 أيام من تاريخ التسليم لطلب الإرجاع."),
        (11, "إرجاع مجاني خلال 11 يومًا", "لديك 11 يومًا من تاريخ التسليم لطلب الإرجاع."),
        (99, "إرجاع مجاني خلال 99 يومًا", "لديك 99 يومًا من تاريخ التسليم لطلب الإرجاع."),
        (100, "إرجاع مجاني خلال 100 يوم", "لديك 100 يوم من تاريخ التسليم لطلب الإرجاع."),
        (102, "إرجاع مجاني خلال 102 يوم", "لديك 102 يوم من تاريخ التسليم لطلب الإرجاع."),
    ],
)
def test_arabic_counts_days_with_the_right_plural_form(
    days: int, headline_ar: str, window_ar: str
) -> None:
    page = public_policy(policy(window_days=days), language="ar")

    assert page.headline == headline_ar
    assert points(page, "window")[0] == window_ar


@pytest.mark.parametrize(
    ("days", "english"), [(1, "Free returns within 1 day"), (2, "Free returns within 2 days")]
)
def test_english_counts_one_day_and_many_days(days: int, english: str) -> None:
    assert headline(policy(window_days=days), language="en") == english


def test_a_window_of_zero_days_means_the_delivery_day() -> None:
    page = public_policy(policy(window_days=0), language="ar")

    assert page.headline == "الإرجاع في يوم التسليم فقط"
    assert points(page, "window")[0] == "يمكنك طلب الإرجاع في يوم التسليم فقط."


@pytest.mark.parametrize(
    ("days", "arabic"),
    [(1, "يوم واحد"), (2, "يومين"), (3, "3 أيام"), (11, "11 يومًا"), (90, "90 يومًا")],
)
def test_the_unshipped_expiry_uses_arabic_plurals_too(days: int, arabic: str) -> None:
    page = public_policy(policy(unshipped_expiry_days=days), language="ar")

    assert f"بعد الموافقة على طلب الإرجاع، أرسل الشحنة خلال {arabic} وإلا انتهت صلاحية الطلب." in (
        points(page, "methods")
    )
