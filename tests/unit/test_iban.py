"""IBANs: published examples of each market pass; each kind of mistake gets its own reason."""

from __future__ import annotations

import pytest
from django.utils import translation

from awda.core.errors import InvalidInput
from awda.core.iban import mask_iban, normalise_iban

# Example IBANs published by the banks' registries (SWIFT IBAN registry, central banks).
VALID = {
    "SA": "SA0380000000608010167519",
    "AE": "AE070331234567890123456",
    "KW": "KW81CBKU0000000000001234560101",
    "EG": "EG380019000500000000263180002",
    "GB": "GB82WEST12345698765432",
    "DE": "DE89370400440532013000",
}


def _reason(value, **kw):
    with pytest.raises(InvalidInput) as caught:
        normalise_iban(value, **kw)
    return caught.value


@pytest.mark.parametrize("iban", VALID.values(), ids=VALID.keys())
def test_published_example_ibans_are_valid_and_come_back_unchanged(iban):
    assert normalise_iban(iban) == iban


def test_spaces_dashes_and_lower_case_as_printed_on_a_bank_card_are_accepted():
    assert normalise_iban(" sa03 8000-0000 6080 1016 7519 ") == VALID["SA"]


def test_arabic_indic_digits_typed_on_an_arabic_keyboard_are_read_as_digits():
    assert normalise_iban("SA٠٣ ٨٠٠٠ ٠٠٠٠ ٦٠٨٠ ١٠١٦ ٧٥١٩") == VALID["SA"]
    assert normalise_iban("AE۰۷۰۳۳۱۲۳۴۵۶۷۸۹۰۱۲۳۴۵۶") == VALID["AE"]


def test_invisible_direction_marks_from_a_right_to_left_field_are_ignored():
    assert normalise_iban("\u200fSA03\u00a08000\u200e0000 6080 1016 7519\u2069") == VALID["SA"]


@pytest.mark.parametrize("value", ["", "   ", " - "])
def test_an_empty_iban_asks_for_one(value):
    error = _reason(value)
    assert str(error.message) == "Enter the IBAN."
    assert error.field == "iban"


def test_the_error_names_the_field_the_caller_asks_for():
    assert _reason("", field="refund_iban").field == "refund_iban"


def test_an_iban_with_other_characters_is_refused():
    assert "only Latin letters and digits" in str(_reason("SA03_8000/0000").message)


@pytest.mark.parametrize("value", ["XX0380000000608010167519", "US0380000000608010167519"])
def test_an_unknown_country_code_is_named(value):
    message = str(_reason(value).message)
    assert "country code" in message
    assert value[:2] in message


def test_a_too_short_iban_says_how_long_that_countrys_ibans_are():
    error = _reason(VALID["SA"][:-1])
    assert str(error.message) == ("An IBAN from Saudi Arabia has 24 characters; this one has 23.")
    assert error.details == {"expected_length": 24, "length": 23}


def test_the_country_in_the_length_message_is_named_in_arabic_for_arabic_readers():
    with translation.override("ar"):
        message = str(_reason(VALID["KW"] + "1").message)
    assert message == "عدد خانات رقم الآيبان في الكويت هو 30، وعدد خانات هذا الرقم 31."


@pytest.mark.parametrize(
    "value",
    [
        "SA0480000000608010167519",  # check digits changed
        "SA0380000000608010167591",  # last two digits swapped
        "GB82WEST12345698765433",  # last digit mistyped
        "DE89370400440532013001",
    ],
)
def test_a_mistyped_or_swapped_character_fails_the_check_digits(value):
    assert "check digits" in str(_reason(value).message)


def test_a_letter_where_the_country_format_has_a_digit_is_a_format_error():
    # GB: 4 letters (bank) then 14 digits; an O for a 0 is a classic typo.
    message = str(_reason("GB82WEST123456987654O2").message)
    assert message == "This is not the format of an IBAN from United Kingdom. Please check it."


@pytest.mark.parametrize(
    ("iban", "masked"),
    [
        (VALID["SA"], "SA03 **** **** **** **** 7519"),
        (VALID["AE"], "AE07 **** **** **** **** 3456"),
        (VALID["GB"], "GB82 **** **** **** **** 5432"),
        ("sa03 8000 0000 6080 1016 7519", "SA03 **** **** **** **** 7519"),
        ("SA03", "****"),
    ],
)
def test_a_masked_iban_shows_only_country_check_digits_and_the_last_four(iban, masked):
    assert mask_iban(iban) == masked
