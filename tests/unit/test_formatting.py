"""Money, numbers and dates per page language, with Arabic-Indic digits and Hijri dates as
merchant options. Expected strings are spelled out, bidi marks and no-break spaces included."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from awda.core.formatting import (
    FormatOptions,
    format_date,
    format_datetime,
    format_money,
    format_number,
)

RLM = "\u200f"  # right-to-left mark: Babel's ar currency pattern opens and closes with one
NBSP = "\u00a0"
NNBSP = "\u202f"  # narrow no-break space, before "am"/"pm" in English times


# -- money ----------------------------------------------------------------------------------

MONEY = [
    # minor, currency, en, ar, ar with Arabic-Indic digits
    (
        24000,
        "SAR",
        f"SAR{NBSP}240.00",
        f"{RLM}240.00{NBSP}ر.س.{RLM}",
        f"{RLM}٢٤٠٫٠٠{NBSP}ر.س.{RLM}",
    ),
    (
        12345,
        "KWD",
        f"KWD{NBSP}12.345",
        f"{RLM}12.345{NBSP}د.ك.{RLM}",
        f"{RLM}١٢٫٣٤٥{NBSP}د.ك.{RLM}",
    ),
    (1500, "JPY", "JP¥1,500", f"{RLM}1,500{NBSP}JP¥", f"{RLM}١٬٥٠٠{NBSP}JP¥"),
    (
        123450,
        "EGP",
        f"EGP{NBSP}1,234.50",
        f"{RLM}1,234.50{NBSP}ج.م.{RLM}",
        f"{RLM}١٬٢٣٤٫٥٠{NBSP}ج.م.{RLM}",
    ),
]


@pytest.mark.parametrize(
    ("minor", "currency", "en", "ar", "ar_digits"), MONEY, ids=[m[1] for m in MONEY]
)
def test_money_shows_the_currencys_own_decimals_in_each_language(
    minor, currency, en, ar, ar_digits
):
    assert format_money(minor, currency, "en") == en
    assert format_money(minor, currency, "ar") == ar
    assert format_money(minor, currency, "ar", arabic_digits=True) == ar_digits


def test_arabic_digits_leave_english_pages_in_latin_digits():
    assert format_money(24000, "SAR", "en", arabic_digits=True) == f"SAR{NBSP}240.00"
    assert format_number(1234, "en", arabic_digits=True) == "1,234"


def test_a_letter_currency_code_is_spaced_from_a_negative_amount_too():
    assert format_money(-500, "SAR", "en") == f"-SAR{NBSP}5.00"


def test_money_is_exact_for_amounts_a_float_would_round():
    assert format_money(10_000_000_000_000_001, "SAR", "en") == f"SAR{NBSP}100,000,000,000,000.01"


def test_money_refuses_a_float_of_minor_units():
    with pytest.raises(TypeError):
        format_money(240.0, "SAR", "en")  # type: ignore[arg-type]


def test_money_refuses_an_unknown_currency():
    with pytest.raises(ValueError, match="unknown currency"):
        format_money(100, "XYZ", "en")


# -- numbers --------------------------------------------------------------------------------


def test_numbers_group_per_language_and_use_arabic_separators_with_arabic_digits():
    assert format_number(1234567, "en") == "1,234,567"
    assert format_number(1234567, "ar") == "1,234,567"
    assert format_number(1234567, "ar", arabic_digits=True) == "١٬٢٣٤٬٥٦٧"
    assert format_number(Decimal("1234.5"), "ar", arabic_digits=True) == "١٬٢٣٤٫٥"


def test_numbers_refuse_floats():
    with pytest.raises(TypeError, match="never a float"):
        format_number(1.5, "en")  # type: ignore[arg-type]


# -- Gregorian dates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "style", "expected"),
    [
        ("en", "long", "12 December 2026"),
        ("en", "medium", "12 Dec 2026"),
        ("en", "day_month", "12 December"),
        ("ar", "long", "12 ديسمبر 2026"),
        ("ar", "medium", f"12{RLM}/12{RLM}/2026"),
        ("ar", "day_month", "12 ديسمبر"),
    ],
)
def test_gregorian_dates_put_the_day_first_in_both_languages(lang, style, expected):
    assert format_date(date(2026, 12, 12), lang, style=style) == expected


def test_gregorian_date_in_arabic_indic_digits():
    assert format_date(date(2026, 12, 12), "ar", arabic_digits=True) == "١٢ ديسمبر ٢٠٢٦"


def test_an_unknown_date_style_is_refused():
    with pytest.raises(ValueError, match="unknown date style"):
        format_date(date(2026, 12, 12), "en", style="short")  # type: ignore[arg-type]


# -- Hijri dates ----------------------------------------------------------------------------


def test_23_march_2023_is_1_ramadan_1444():
    day = date(2023, 3, 23)
    assert format_date(day, "en", hijri=True) == "1 Ramadan 1444 AH"
    assert format_date(day, "ar", hijri=True) == "1 رمضان 1444 هـ"
    assert format_date(day, "ar", hijri=True, arabic_digits=True) == "١ رمضان ١٤٤٤ هـ"


def test_24_november_2026_is_14_jumada_al_akhirah_1448():
    day = date(2026, 11, 24)
    assert format_date(day, "en", hijri=True) == "14 Jumada al-Akhirah 1448 AH"
    assert format_date(day, "ar", hijri=True) == "14 جمادى الآخرة 1448 هـ"


def test_7_july_2024_is_1_muharram_1446_the_hijri_new_year():
    assert format_date(date(2024, 7, 7), "en", hijri=True) == "1 Muharram 1446 AH"
    assert format_date(date(2024, 7, 7), "ar", hijri=True) == "1 محرم 1446 هـ"


def test_hijri_dates_follow_the_locales_pattern_for_each_style():
    day = date(2023, 3, 23)
    assert format_date(day, "ar", hijri=True, style="medium") == f"01{RLM}/09{RLM}/1444 هـ"
    assert format_date(day, "en", hijri=True, style="medium") == "1 Ramadan 1444 AH"
    assert format_date(day, "en", hijri=True, style="day_month") == "1 Ramadan"
    assert format_date(day, "ar", hijri=True, style="day_month", arabic_digits=True) == "١ رمضان"


def test_a_date_beyond_the_umm_al_qura_tables_falls_back_to_gregorian():
    assert format_date(date(2090, 1, 1), "en", hijri=True) == "1 January 2090"


# -- timezones ------------------------------------------------------------------------------

LATE_UTC = datetime(2026, 12, 11, 23, 30, tzinfo=UTC)


def test_2330_utc_is_already_the_next_day_in_riyadh():
    assert format_date(LATE_UTC, "en") == "11 December 2026"
    assert format_date(LATE_UTC, "en", tz="Asia/Riyadh") == "12 December 2026"
    assert format_date(LATE_UTC, "en", tz="Asia/Riyadh", hijri=True) == "3 Rajab 1448 AH"


def test_a_naive_datetime_is_refused_because_its_local_date_is_unknown():
    with pytest.raises(ValueError, match="naive"):
        format_date(datetime(2026, 12, 11, 23, 30), "en", tz="Asia/Riyadh")


def test_a_plain_date_is_not_shifted_by_the_timezone():
    assert format_date(date(2026, 12, 11), "en", tz="Pacific/Kiritimati") == "11 December 2026"


# -- datetimes ------------------------------------------------------------------------------


def test_datetimes_show_hour_and_minute_in_the_merchants_timezone():
    assert format_datetime(LATE_UTC, "en", tz="Asia/Riyadh") == f"12 December 2026, 2:30{NNBSP}am"
    assert format_datetime(LATE_UTC, "ar", tz="Asia/Riyadh") == "12 ديسمبر 2026، 2:30 ص"
    assert (
        format_datetime(LATE_UTC, "ar", tz="Asia/Riyadh", hijri=True, arabic_digits=True)
        == "٣ رجب ١٤٤٨ هـ، ٢:٣٠ ص"
    )
    assert format_datetime(LATE_UTC, "en", style="day_month") == f"11 December, 11:30{NNBSP}pm"


def test_format_datetime_wants_a_datetime_not_a_date():
    with pytest.raises(TypeError):
        format_datetime(date(2026, 12, 12), "en")  # type: ignore[arg-type]


# -- options --------------------------------------------------------------------------------


class _Merchant:
    arabic_digits = True
    hijri_dates = False
    timezone = "Asia/Kuwait"


def test_format_options_read_a_merchants_settings():
    assert FormatOptions.of(_Merchant()) == FormatOptions(
        arabic_digits=True, hijri=False, timezone="Asia/Kuwait"
    )


def test_format_options_refuse_an_unknown_timezone_up_front():
    with pytest.raises(ValueError, match="unknown timezone"):
        FormatOptions(timezone="Asia/Atlantis")
