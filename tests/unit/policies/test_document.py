"""The policy document: what a valid policy is, and how a bad one is reported."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from awda.policies.document import (
    PolicyDocument,
    PolicyError,
    PolicyInvalid,
    default_policy,
    parse_policy,
)


def valid_data() -> dict[str, Any]:
    return copy.deepcopy(default_policy().to_data())


def errors_of(data: Any) -> list[PolicyError]:
    with pytest.raises(PolicyInvalid) as caught:
        parse_policy(data)
    return caught.value.errors


def fields_of(data: Any) -> list[str]:
    return [e.field for e in errors_of(data)]


# -- the default policy -----------------------------------------------------------------------
def test_default_policy_offers_30_days_refund_credit_and_exchange_with_a_credit_bonus() -> None:
    policy = default_policy()

    assert policy.currency == "SAR"
    assert policy.country == "SA"
    assert policy.defaults.window_days == 30
    assert policy.defaults.resolutions == ("refund", "store_credit", "exchange")
    assert policy.defaults.methods == ("label", "qr_dropoff", "pickup")
    assert policy.defaults.store_credit_bonus_percent == Decimal(10)
    assert "defective" in policy.defaults.waive_shipping_for_reasons


def test_default_policy_closes_final_sale_tags_and_underwear_and_shortens_electronics() -> None:
    rules = {r.id: r for r in default_policy().rules}

    assert rules["final-sale"].when.tags == ("final-sale",)
    assert rules["final-sale"].then.returnable is False
    assert rules["underwear"].then.returnable is False
    electronics = rules["electronics-change-of-mind"]
    assert electronics.when.reasons == ("changed_my_mind",)
    assert electronics.then.window_days == 14
    assert electronics.then.restocking_fee_percent == Decimal(15)


def test_default_policy_fee_follows_the_currency_exponent() -> None:
    # KWD has three decimals: 1.500 KWD is 1500 minor units.
    assert default_policy("KWD", "KW").defaults.return_shipping_fee_minor == 1_500
    assert default_policy("EUR", "EU").defaults.return_shipping_fee_minor == 500


# -- structure --------------------------------------------------------------------------------
def test_misspelled_field_is_rejected_with_a_suggestion() -> None:
    data = valid_data()
    data["defaults"]["windw_days"] = 10

    [error] = errors_of(data)

    assert error == PolicyError("defaults.windw_days", "Unknown field; did you mean 'window_days'?")


def test_errors_point_at_the_dotted_path_of_the_field() -> None:
    data = valid_data()
    data["rules"][2]["then"]["window_days"] = 400

    [error] = errors_of(data)

    assert error.field == "rules.2.then.window_days"
    assert "365" in error.reason
    assert "400" in error.reason


def test_every_error_is_reported_at_once() -> None:
    data = valid_data()
    data["defaults"]["window_days"] = -1
    data["rules"][0]["then"]["refund_timing"] = "whenever"
    del data["name"]

    assert sorted(fields_of(data)) == ["defaults.window_days", "name", "rules.0.then.refund_timing"]


def test_missing_required_field_says_so() -> None:
    data = valid_data()
    del data["defaults"]["returnable"]

    assert errors_of(data) == [PolicyError("defaults.returnable", "This field is required.")]


def test_a_boolean_is_not_accepted_as_a_number_of_days() -> None:
    data = valid_data()
    data["defaults"]["window_days"] = True

    assert fields_of(data) == ["defaults.window_days"]


def test_percent_above_100_is_rejected() -> None:
    data = valid_data()
    data["defaults"]["restocking_fee_percent"] = "100.5"

    assert fields_of(data) == ["defaults.restocking_fee_percent"]


def test_percent_with_more_than_two_decimals_is_rejected() -> None:
    data = valid_data()
    data["defaults"]["store_credit_bonus_percent"] = "10.125"

    assert fields_of(data) == ["defaults.store_credit_bonus_percent"]


def test_return_rate_condition_must_be_a_fraction_between_0_and_1() -> None:
    data = valid_data()
    data["rules"][0]["when"]["customer_return_rate_min"] = "1.5"

    assert fields_of(data) == ["rules.0.when.customer_return_rate_min"]


def test_unknown_resolution_is_rejected_at_its_list_position() -> None:
    data = valid_data()
    data["defaults"]["resolutions"] = ["refund", "cash"]

    assert fields_of(data) == ["defaults.resolutions.1"]


def test_unknown_currency_is_rejected() -> None:
    data = valid_data()
    data["currency"] = "XYZ"

    [error] = errors_of(data)

    assert error.field == "currency"
    assert "XYZ" in error.reason


def test_currency_and_country_codes_are_read_in_any_case() -> None:
    data = valid_data()
    data["currency"], data["country"] = "sar", "sa"

    policy = parse_policy(data)

    assert (policy.currency, policy.country) == ("SAR", "SA")


def test_country_without_a_legal_preset_is_rejected() -> None:
    data = valid_data()
    data["country"] = "AE"

    [error] = errors_of(data)

    assert error.field == "country"
    assert "no legal preset for AE" in error.reason


def test_eu_member_state_is_accepted_as_the_policy_country() -> None:
    data = valid_data()
    data["country"] = "FR"

    assert parse_policy(data).country == "FR"


def test_policy_without_a_country_is_valid() -> None:
    data = valid_data()
    del data["country"]

    assert parse_policy(data).country is None


def test_newer_schema_version_is_rejected_with_one_clear_error() -> None:
    data = valid_data()
    data["schema_version"] = 2
    data["something_new"] = True

    assert errors_of(data) == [PolicyError("schema_version", "unsupported version 2; expected 1")]


def test_document_that_is_not_a_mapping_is_rejected() -> None:
    assert fields_of(["not", "a", "policy"]) == ["(document)"]


# -- cross-field checks -----------------------------------------------------------------------
def test_returnable_defaults_without_resolutions_are_rejected() -> None:
    data = valid_data()
    data["defaults"]["resolutions"] = []

    assert fields_of(data) == ["defaults.resolutions"]


def test_returnable_defaults_without_a_shipping_method_are_rejected() -> None:
    data = valid_data()
    data["defaults"]["methods"] = []

    assert fields_of(data) == ["defaults.methods"]


def test_not_returnable_defaults_may_have_no_resolutions() -> None:
    data = valid_data()
    data["defaults"].update(returnable=False, resolutions=[], methods=[])

    assert parse_policy(data).defaults.returnable is False


def test_keep_item_method_without_a_threshold_is_rejected() -> None:
    data = valid_data()
    data["defaults"]["methods"] = ["label", "keep_item"]

    assert fields_of(data) == ["defaults.keep_item_threshold_minor"]


def test_exchange_resolution_with_no_exchange_scope_is_rejected() -> None:
    data = valid_data()
    data["defaults"]["exchange_scope"] = "none"

    assert fields_of(data) == ["defaults.exchange_scope"]


def test_minimum_above_maximum_in_a_condition_is_rejected() -> None:
    data = valid_data()
    data["rules"][1]["when"].update(price_min_minor=5_000, price_max_minor=1_000)

    [error] = errors_of(data)

    assert error.field == "rules.1.when.price_max_minor"
    assert "price_min_minor" in error.reason


def test_empty_condition_list_is_rejected_because_it_could_never_match() -> None:
    data = valid_data()
    data["rules"][0]["when"]["tags"] = []

    assert fields_of(data) == ["rules.0.when.tags"]


def test_duplicate_rule_ids_are_rejected() -> None:
    data = valid_data()
    data["rules"][2]["id"] = "final-sale"

    [error] = errors_of(data)

    assert error.field == "rules.2.id"
    assert "rules.0.id" in error.reason


def test_rule_id_must_be_a_slug() -> None:
    data = valid_data()
    data["rules"][0]["id"] = "Final Sale!"

    assert fields_of(data) == ["rules.0.id"]


def test_rule_that_sets_nothing_is_rejected() -> None:
    data = valid_data()
    data["rules"][0]["then"] = {}

    assert fields_of(data) == ["rules.0.then"]


def test_rule_that_contradicts_the_defaults_is_reported_at_the_rule() -> None:
    data = valid_data()
    data["rules"][2]["then"]["methods"] = ["keep_item"]

    assert sorted(fields_of(data)) == [
        "rules.2.then.keep_item_threshold_minor",
        "rules.2.then.methods",
    ]


def test_rule_leaving_a_returnable_item_without_resolutions_is_rejected() -> None:
    data = valid_data()
    data["rules"][1]["then"] = {"resolutions": []}

    assert fields_of(data) == ["rules.1.then.resolutions"]


# -- data round trip --------------------------------------------------------------------------
def test_to_data_round_trips_through_json_exactly() -> None:
    policy = default_policy()

    data = json.loads(json.dumps(policy.to_data()))

    assert parse_policy(data) == policy
    assert data["defaults"]["store_credit_bonus_percent"] == "10"
    assert "name_ar" not in data["rules"][0]["when"]


def test_numeric_product_ids_are_read_as_text() -> None:
    data = valid_data()
    data["rules"][0]["when"] = {"product_ids": [8123456789]}

    assert parse_policy(data).rules[0].when.product_ids == ("8123456789",)


def test_a_parsed_policy_is_immutable() -> None:
    policy = default_policy()

    with pytest.raises(ValueError, match="frozen"):
        policy.defaults.window_days = 5


def test_policy_invalid_message_lists_every_error() -> None:
    invalid = PolicyInvalid([PolicyError("a", "bad"), PolicyError("b.0", "worse")])

    assert str(invalid) == "a: bad; b.0: worse"


percents = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False)
patches = st.fixed_dictionaries(
    {},
    optional={
        "window_days": st.integers(min_value=0, max_value=365),
        "restocking_fee_percent": percents,
        "store_credit_bonus_percent": percents,
        "manual_review": st.booleans(),
        "refund_timing": st.sampled_from(["immediate", "first_scan", "delivered", "inspected"]),
        "waive_shipping_for_reasons": st.lists(st.sampled_from(["defective", "wrong_item"])),
    },
).filter(bool)


@given(
    bonus=percents,
    rule_patches=st.lists(patches, max_size=4),
    rate=st.decimals(min_value=0, max_value=1, places=4, allow_nan=False),
)
def test_any_valid_policy_survives_a_json_round_trip(
    bonus: Decimal, rule_patches: list[dict[str, Any]], rate: Decimal
) -> None:
    data = valid_data()
    data["defaults"]["store_credit_bonus_percent"] = str(bonus)
    data["rules"] = [
        {
            "id": f"rule-{i}",
            "name": f"Rule {i}",
            "when": {"customer_return_rate_min": rate},
            "then": p,
        }
        for i, p in enumerate(rule_patches)
    ]
    policy = parse_policy(data)

    again = parse_policy(json.loads(json.dumps(policy.to_data())))

    assert again == policy
    assert again.to_data() == policy.to_data()


def test_policy_document_is_the_pydantic_model_the_api_can_use() -> None:
    schema = PolicyDocument.model_json_schema()

    assert schema["additionalProperties"] is False
    assert "defaults" in schema["required"]


def test_errors_are_in_the_users_language() -> None:
    data = valid_data()
    data["defaults"]["window_days"] = 400
    data["defaults"]["windw_days"] = 10
    del data["defaults"]["returnable"]

    with translation.override("ar"):
        reasons = {e.field: e.reason for e in errors_of(data)}

    assert reasons["defaults.window_days"] == "يجب ألا تزيد القيمة على 365 (القيمة المُدخلة 400)"
    assert reasons["defaults.windw_days"] == "حقل غير معروف؛ هل تقصد 'window_days'؟"
    assert reasons["defaults.returnable"] == "هذا الحقل مطلوب."
