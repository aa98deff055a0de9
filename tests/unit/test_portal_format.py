"""The portal's formatting helpers read the page language and the merchant's options from the
template's context; money comes isolated in <bdi> so it keeps its direction inside the other
script. Translations are trusted like Django's translate tags; the values put into them are
escaped."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.template import engines
from django.utils import translation

from awda.core.formatting import FormatOptions
from awda.core.money import Money

RLM = "\u200f"
NBSP = "\u00a0"
NNBSP = "\u202f"

RIYADH_HIJRI_DIGITS = FormatOptions(arabic_digits=True, hijri=True, timezone="Asia/Riyadh")


def render(source: str, **context) -> str:
    return engines["jinja2"].env.from_string(source).render(context)


def test_money_in_english_is_a_bdi_span():
    html = render("{{ amount(24000, 'SAR') }}", lang="en")
    assert html == f'<bdi class="money">SAR{NBSP}240.00</bdi>'


def test_money_in_arabic_keeps_babels_bidi_marks_inside_the_bdi():
    html = render("{{ amount(24000, 'SAR') }}", lang="ar")
    assert html == f'<bdi class="money">{RLM}240.00{NBSP}ر.س.{RLM}</bdi>'


def test_money_uses_arabic_indic_digits_when_the_merchant_chose_them():
    html = render("{{ amount(24000, 'SAR') }}", lang="ar", merchant_options=RIYADH_HIJRI_DIGITS)
    assert html == f'<bdi class="money">{RLM}٢٤٠٫٠٠{NBSP}ر.س.{RLM}</bdi>'


def test_money_accepts_a_money_value():
    html = render("{{ amount(value) }}", lang="en", value=Money(12345, "KWD"))
    assert html == f'<bdi class="money">KWD{NBSP}12.345</bdi>'


def test_money_refuses_a_currency_other_than_the_money_values_own():
    with pytest.raises(ValueError, match="shown as SAR"):
        render("{{ amount(value, 'SAR') }}", lang="en", value=Money(12345, "KWD"))


def test_number_follows_the_merchants_digits():
    assert render("{{ number(n) }}", lang="ar", n=1234) == "1,234"
    assert (
        render("{{ number(n) }}", lang="ar", n=1234, merchant_options=RIYADH_HIJRI_DIGITS)
        == "١٬٢٣٤"
    )


def test_date_without_merchant_options_is_gregorian_in_utc():
    moment = datetime(2026, 12, 11, 23, 30, tzinfo=UTC)
    assert render("{{ date(moment) }}", lang="en", moment=moment) == "11 December 2026"


def test_date_uses_the_merchants_timezone_calendar_and_digits():
    moment = datetime(2026, 12, 11, 23, 30, tzinfo=UTC)
    html = render(
        "{{ date(moment) }}", lang="ar", moment=moment, merchant_options=RIYADH_HIJRI_DIGITS
    )
    assert html == "٣ رجب ١٤٤٨ هـ"


def test_date_takes_a_style():
    html = render('{{ date(day, style="day_month") }}', lang="en", day=date(2023, 3, 23))
    assert html == "23 March"


def test_datetime_shows_hour_and_minute_in_the_merchants_timezone():
    moment = datetime(2026, 12, 11, 23, 30, tzinfo=UTC)
    options = FormatOptions(timezone="Asia/Riyadh")
    html = render("{{ datetime(moment) }}", lang="en", moment=moment, merchant_options=options)
    assert html == f"12 December 2026, 2:30{NNBSP}am"


def test_without_lang_in_the_context_the_active_language_is_used():
    with translation.override("ar"):
        assert render("{{ date(day) }}", day=date(2023, 3, 23)) == "23 مارس 2023"


def test_a_translation_is_trusted_and_the_values_put_into_it_are_escaped():
    html = render('{{ _("Returns for %(name)s") | format(name=name) }}', name="<b>Tom's</b>")
    assert html == "Returns for &lt;b&gt;Tom&#39;s&lt;/b&gt;"
    assert render('{{ _("We couldn\'t find an order with these details.") }}').startswith(
        "We couldn't"
    )


def test_a_missing_value_renders_empty_as_on_djangos_pages():
    assert render("[{{ nothing.at.all }}]") == "[]"
