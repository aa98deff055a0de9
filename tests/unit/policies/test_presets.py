"""Legal presets: the statutory return windows by country."""

from __future__ import annotations

import re

import pytest

from awda.policies.presets import (
    EU_MEMBER_STATES,
    LEGAL_PRESETS,
    legal_minimum_for,
)

ARABIC_LETTER = re.compile(r"[\u0621-\u064A]")


def test_saudi_law_gives_seven_days_from_receipt_for_unused_goods() -> None:
    saudi = LEGAL_PRESETS["SA"]

    assert saudi.window_days == 7
    assert saudi.requires_unused
    assert {"custom_made", "perishable", "opened_personal_hygiene"} <= set(saudi.exceptions)


def test_kuwait_egypt_and_the_eu_give_fourteen_days() -> None:
    assert {code: LEGAL_PRESETS[code].window_days for code in ("KW", "EG", "EU")} == {
        "KW": 14,
        "EG": 14,
        "EU": 14,
    }


def test_egypt_requires_the_refund_within_seven_days() -> None:
    assert LEGAL_PRESETS["EG"].refund_within_days == 7


def test_the_eu_has_27_member_states() -> None:
    assert len(EU_MEMBER_STATES) == 27
    assert {"DE", "FR", "GR", "IE", "MT"} <= EU_MEMBER_STATES
    assert "GB" not in EU_MEMBER_STATES


@pytest.mark.parametrize("country", sorted(EU_MEMBER_STATES))
def test_every_eu_member_state_maps_to_the_eu_preset(country: str) -> None:
    assert legal_minimum_for(country) is LEGAL_PRESETS["EU"]


def test_eea_states_outside_the_eu_get_the_eu_directive_too() -> None:
    assert legal_minimum_for("NO") is LEGAL_PRESETS["EU"]


@pytest.mark.parametrize("country", ["AE", "US", "GB", "", None])
def test_country_without_a_preset_has_no_legal_minimum(country: str | None) -> None:
    assert legal_minimum_for(country) is None


def test_country_codes_are_matched_in_any_case() -> None:
    assert legal_minimum_for("sa") is LEGAL_PRESETS["SA"]
    assert legal_minimum_for("de") is LEGAL_PRESETS["EU"]


@pytest.mark.parametrize("code", sorted(LEGAL_PRESETS))
def test_every_preset_names_its_law_in_english_and_arabic(code: str) -> None:
    preset = LEGAL_PRESETS[code]

    assert preset.code == code
    assert preset.label_en and not ARABIC_LETTER.search(preset.label_en)
    assert ARABIC_LETTER.search(preset.label_ar)
