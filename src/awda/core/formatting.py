"""Numbers, money and dates as a shopper reads them, per page language (Babel / CLDR), with
the merchant's two options: Arabic-Indic digits and Hijri (Umm al-Qura) dates.

There are two page languages, ``ar`` and ``en``. English is CLDR's ``en_001`` (international
English, as written in the Gulf: "12 December 2026"), not US ``en`` ("December 12, 2026").
Arabic-Indic digits apply to Arabic pages only; English pages always use Latin digits.
Datetimes are converted to the merchant's timezone before the date is taken, so 23:30 UTC
is the next day in Riyadh.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Literal, Protocol, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.dates import parse_pattern
from babel.numbers import format_currency, format_decimal, get_currency_symbol
from hijridate import Gregorian

from awda.core.money import Money

DateStyle = Literal["long", "medium", "day_month"]
DATE_STYLES: frozenset[str] = frozenset(get_args(DateStyle))

_LOCALES = {"ar": "ar", "en": "en_001"}
_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_NBSP = "\u00a0"


class MerchantFormatSettings(Protocol):
    """What ``FormatOptions.of`` reads from a merchant (core does not import merchants)."""

    @property
    def arabic_digits(self) -> bool: ...
    @property
    def hijri_dates(self) -> bool: ...
    @property
    def timezone(self) -> str: ...


@dataclass(frozen=True, slots=True)
class FormatOptions:
    """A merchant's display choices for the portal."""

    arabic_digits: bool = False
    hijri: bool = False
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        _zone(self.timezone)  # an unknown zone fails here, not halfway through a page

    @classmethod
    def of(cls, merchant: MerchantFormatSettings) -> FormatOptions:
        return cls(
            arabic_digits=merchant.arabic_digits,
            hijri=merchant.hijri_dates,
            timezone=merchant.timezone,
        )


# -- numbers and money ----------------------------------------------------------------------


def format_money(minor: int, currency: str, lang: str, *, arabic_digits: bool = False) -> str:
    """An amount of minor units for display: ``SAR 240.00`` / ``‏240.00 ر.س.‏``."""
    amount = Money(minor, currency)  # checks: int minor units, a known currency
    locale = _locale(lang)
    text = format_currency(
        amount.to_decimal(),
        currency,
        locale=locale,
        numbering_system=_numbering(lang, arabic_digits),
    )
    # Babel keeps the bidi marks of the ar pattern (RLM ... RLM); we keep them too.
    return _digits(
        _space_currency(text, get_currency_symbol(currency, locale)), lang, arabic_digits
    )


def format_number(value: int | Decimal, lang: str, *, arabic_digits: bool = False) -> str:
    """A count or quantity with the locale's grouping (up to three decimals)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError("format_number takes an int or a Decimal, never a float")
    text = format_decimal(
        value, locale=_locale(lang), numbering_system=_numbering(lang, arabic_digits)
    )
    return _digits(text, lang, arabic_digits)


def _space_currency(text: str, symbol: str) -> str:
    # Babel does not apply CLDR's currencySpacing rule, which ICU and browsers (Intl) do: a
    # symbol ending (or starting) in a letter gets a no-break space next to a digit, so
    # "SAR 240.00" rather than "SAR240.00", while "¥1,500" stays joined.
    start = text.find(symbol)
    if start < 0:
        return text
    end = start + len(symbol)
    if end < len(text) and text[end].isdigit() and _is_letterlike(symbol[-1]):
        text = text[:end] + _NBSP + text[end:]
    if start > 0 and text[start - 1].isdigit() and _is_letterlike(symbol[0]):
        text = text[:start] + _NBSP + text[start:]
    return text


def _is_letterlike(char: str) -> bool:
    # CLDR's currencyMatch [[:^S:]&[:^Z:]]: neither a symbol nor a separator.
    return unicodedata.category(char)[0] not in "SZ"


# -- dates ----------------------------------------------------------------------------------


def format_date(
    moment: datetime | date,
    lang: str,
    *,
    tz: str = "UTC",
    hijri: bool = False,
    arabic_digits: bool = False,
    style: DateStyle = "long",
) -> str:
    """The calendar date of ``moment`` in ``tz``: ``12 December 2026`` / ``3 رجب 1448 هـ``."""
    # A calendar date has no timezone to convert from; a datetime is read in ``tz``.
    day = _in_zone(moment, tz).date() if isinstance(moment, datetime) else moment
    return _digits(_date_text(day, lang, hijri=hijri, style=style), lang, arabic_digits)


def format_datetime(
    moment: datetime,
    lang: str,
    *,
    tz: str = "UTC",
    hijri: bool = False,
    arabic_digits: bool = False,
    style: DateStyle = "long",
) -> str:
    """Date and hour:minute in ``tz``, for timelines: ``12 December 2026, 11:30 pm``."""
    if not isinstance(moment, datetime):
        raise TypeError("format_datetime needs a datetime; use format_date for a date")
    local = _in_zone(moment, tz)
    locale = _babel_locale(lang)
    day = _date_text(local.date(), lang, hijri=hijri, style=style)
    time = babel_format_time(local.time(), locale.time_formats["short"].pattern, locale=locale)
    # As babel.dates.format_datetime does: the glue pattern's quotes mark literal text.
    glue = locale.datetime_formats["medium" if style == "day_month" else style]
    text = str(glue).replace("'", "").replace("{0}", time).replace("{1}", day)
    return _digits(text, lang, arabic_digits)


def format_time(
    moment: datetime, lang: str, *, tz: str = "UTC", arabic_digits: bool = False
) -> str:
    """Hour and minute of ``moment`` in ``tz``, in the locale's short form: ``3:00 PM``."""
    locale = _babel_locale(lang)
    local = _in_zone(moment, tz)
    text = babel_format_time(local.time(), locale.time_formats["short"].pattern, locale=locale)
    return _digits(text, lang, arabic_digits)


def _date_text(day: date, lang: str, *, hijri: bool, style: str) -> str:
    locale = _babel_locale(lang)
    pattern = _date_pattern(locale, style)
    if hijri:
        try:
            return _hijri_text(day, pattern, lang)
        except OverflowError:
            # Umm al-Qura tables cover 1924-2077 only; outside them the Gregorian date is
            # still true, which beats failing the page.
            pass
    return str(babel_format_date(day, pattern, locale=locale))


def _date_pattern(locale: Locale, style: str) -> str:
    if style not in DATE_STYLES:
        raise ValueError(f"unknown date style {style!r}; one of {sorted(DATE_STYLES)}")
    if style == "day_month":
        return str(locale.datetime_skeletons["MMMMd"].pattern)
    return str(locale.date_formats[style].pattern)


def _hijri_text(day: date, pattern: str, lang: str) -> str:
    # The locale's own Gregorian pattern with Hijri values, so order, separators and bidi
    # marks stay the locale's (ar medium is "dd‏/MM‏/y"); month names are never abbreviated,
    # there being no agreed short forms for Hijri months.
    hijri = Gregorian.fromdate(day).to_hijri()
    language: Literal["ar", "en"] = "ar" if _is_arabic(lang) else "en"
    month = hijri.month_name(language)
    fields = _HijriFields(
        {
            "d": str(hijri.day),
            "dd": f"{hijri.day:02}",
            "M": str(hijri.month),
            "MM": f"{hijri.month:02}",
            "MMM": month,
            "MMMM": month,
            "LLL": month,
            "LLLL": month,
            "y": str(hijri.year),
            "yyyy": str(hijri.year),
        }
    )
    # str(): Babel annotates DateTimePattern.format as DateTimeFormat; it is the %-string.
    text = str(parse_pattern(pattern).format) % fields
    return f"{text} {hijri.notation(language)}" if fields.used_year else text


class _HijriFields(Mapping[str, str]):
    """Pattern fields for ``%`` formatting; an unexpected field fails loudly."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values
        self.used_year = False

    def __getitem__(self, key: str) -> str:
        if key not in self._values:
            raise ValueError(f"date field {key!r} has no Hijri rendering")
        self.used_year = self.used_year or key.startswith("y")
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _in_zone(moment: datetime, tz: str) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError("naive datetime: its timezone is unknown, so its local date is too")
    return moment.astimezone(_zone(tz))


# -- shared ---------------------------------------------------------------------------------


def _is_arabic(lang: str) -> bool:
    return lang.lower().startswith("ar")


def _locale(lang: str) -> str:
    return _LOCALES["ar" if _is_arabic(lang) else "en"]


@cache
def _babel_locale(lang: str) -> Locale:
    return Locale.parse(_locale(lang))


def _numbering(lang: str, arabic_digits: bool) -> str:
    # "arab" gives the Arabic decimal and group separators (٫ ٬); Babel (2.18) keeps the
    # digits Latin even so, hence _digits.
    return "arab" if arabic_digits and _is_arabic(lang) else "latn"


def _digits(text: str, lang: str, arabic_digits: bool) -> str:
    return text.translate(_ARABIC_INDIC) if arabic_digits and _is_arabic(lang) else text


@cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown timezone {name!r}") from error
