"""Policies as YAML: exact round trips, readable Arabic, and errors with line numbers."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from awda.policies.document import PolicyError, PolicyInvalid, default_policy, parse_policy
from awda.policies.yaml_io import dump_policy_yaml, load_policy_yaml

MINIMAL = """\
name: Simple
currency: SAR
defaults:
  window_days: 30
  returnable: true
  resolutions: [refund]
  methods: [label]
  return_shipping_paid_by: merchant
  refund_timing: inspected
  condition: any
"""


def errors_of(text: str) -> list[PolicyError]:
    with pytest.raises(PolicyInvalid) as caught:
        load_policy_yaml(text)
    return caught.value.errors


def test_dumped_policy_loads_back_equal() -> None:
    policy = default_policy()

    assert load_policy_yaml(dump_policy_yaml(policy)) == policy


def test_dumping_is_stable_across_a_round_trip() -> None:
    text = dump_policy_yaml(default_policy())

    assert dump_policy_yaml(load_policy_yaml(text)) == text


def test_dump_keeps_arabic_readable_and_fields_in_schema_order() -> None:
    text = dump_policy_yaml(default_policy())

    assert "name_ar: سياسة الإرجاع القياسية" in text
    assert "\\u" not in text
    assert text.startswith("schema_version: 1\nname: Standard returns\n")
    assert "resolutions: [refund, store_credit, exchange]" in text


def test_decimals_are_written_as_plain_numbers() -> None:
    text = dump_policy_yaml(default_policy())

    assert "store_credit_bonus_percent: 10\n" in text
    assert "restocking_fee_percent: 15\n" in text


def test_a_hand_written_minimal_policy_loads_with_off_defaults() -> None:
    policy = load_policy_yaml(MINIMAL)

    assert policy.defaults.restocking_fee_percent == 0
    assert policy.defaults.keep_item_threshold_minor == 0
    assert policy.rules == ()


def test_decimal_numbers_are_read_exactly_not_as_floats() -> None:
    text = MINIMAL + "  restocking_fee_percent: 12.35\n"

    assert load_policy_yaml(text).defaults.restocking_fee_percent == Decimal("12.35")


def test_country_code_no_is_norway_not_false() -> None:
    text = MINIMAL + (
        "rules:\n  - {id: nordic, name: Nordic, when: {countries: [NO]}, then: {window_days: 14}}\n"
    )

    assert load_policy_yaml(text).rules[0].when.countries == ("NO",)


def test_yes_and_on_are_text_not_booleans() -> None:
    text = MINIMAL.replace("returnable: true", "returnable: yes")

    [error] = errors_of(text)

    assert error.field == "defaults.returnable"


def test_malformed_yaml_reports_the_line_and_column() -> None:
    [error] = errors_of("name: Broken\ndefaults: [unclosed\n")

    assert error.field == "(document)"
    assert error.reason.startswith("invalid YAML at line 3, column 1:")


def test_duplicate_keys_are_rejected_rather_than_silently_overwritten() -> None:
    [error] = errors_of(MINIMAL + "  window_days: 60\n")

    assert error == PolicyError(
        "(document)", "invalid YAML at line 11, column 3: duplicate key 'window_days'"
    )


def test_empty_file_is_rejected() -> None:
    assert errors_of("# nothing here\n") == [PolicyError("(document)", "the file is empty")]


def test_top_level_list_is_rejected() -> None:
    assert [e.field for e in errors_of("- a\n- b\n")] == ["(document)"]


def test_validation_errors_use_dotted_paths() -> None:
    text = MINIMAL.replace("window_days: 30", "window_days: 400")

    assert [e.field for e in errors_of(text)] == ["defaults.window_days"]


def test_yaml_loader_does_not_construct_python_objects() -> None:
    [error] = errors_of("name: !!python/object/apply:os.system ['true']\n")

    assert error.field == "(document)"


def test_json_is_accepted_as_yaml() -> None:
    text = (
        '{"name": "J", "currency": "SAR", "defaults": {"window_days": 5, "returnable": false,'
        ' "resolutions": [], "methods": [], "return_shipping_paid_by": "merchant",'
        ' "refund_timing": "immediate", "condition": "any"}}'
    )

    assert load_policy_yaml(text).defaults.window_days == 5


@given(
    window=st.integers(min_value=0, max_value=365),
    percent=st.decimals(min_value=0, max_value=100, places=2, allow_nan=False),
    rate=st.decimals(min_value=0, max_value=1, places=4, allow_nan=False),
    name_ar=st.text(alphabet="ابتثجحخدذرزسشصضطظعغفقكلمنهوي ", min_size=1, max_size=20).filter(
        str.strip
    ),
    tags=st.lists(
        st.sampled_from(["NO", "yes", "on", "2024-01-01", "1.5", "a: b", "#x"]), min_size=1
    ),
)
def test_any_policy_survives_a_yaml_round_trip(
    window: int, percent: Decimal, rate: Decimal, name_ar: str, tags: list[str]
) -> None:
    data: dict[str, Any] = copy.deepcopy(default_policy().to_data())
    data["name_ar"] = name_ar
    data["defaults"]["window_days"] = window
    data["defaults"]["restocking_fee_percent"] = str(percent)
    data["rules"][0]["when"] = {"tags": tags, "customer_return_rate_min": str(rate)}
    policy = parse_policy(data)

    text = dump_policy_yaml(policy)

    assert load_policy_yaml(text) == policy
    assert dump_policy_yaml(load_policy_yaml(text)) == text
    assert yaml.safe_load(text)["name_ar"] == name_ar
