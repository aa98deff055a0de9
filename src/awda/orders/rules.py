"""Pure helpers for order data: contact normalisation and line money."""

from __future__ import annotations

import re
from decimal import Decimal

from awda.core.money import round_minor

_NON_DIGITS = re.compile(r"[^\d]")
# Arabic-Indic and Extended Arabic-Indic digits, which shoppers type on Arabic keyboards.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def normalise_email(raw: str) -> str:
    return raw.strip().lower()


def normalise_phone(raw: str) -> str:
    """Digits only with a leading ``+`` when one was typed; ``00`` becomes ``+``."""
    text = raw.strip().translate(_DIGITS)
    plus = text.startswith("+") or text.startswith("00")
    digits = _NON_DIGITS.sub("", text)
    if text.startswith("00"):
        digits = digits[2:]
    return f"+{digits}" if plus and digits else digits


def line_tax_minor(*, net_minor: int, tax_rate: Decimal, prices_include_tax: bool) -> int:
    """Tax of a line from its net amount (after discount), half-even at the minor unit."""
    if tax_rate <= 0 or net_minor <= 0:
        return 0
    if prices_include_tax:
        # The tax already inside a tax-inclusive price: net × r / (100 + r).
        return round_minor(Decimal(net_minor) * tax_rate / (Decimal(100) + tax_rate))
    return round_minor(Decimal(net_minor) * tax_rate / Decimal(100))


def phones_match(typed: str, stored: str) -> bool:
    """Whether a phone number a shopper typed is the order's: the same subscriber digits,
    with or without the country code or a trunk 0 (``0501234567`` ~ ``+966501234567``)."""
    a, b = normalise_phone(typed).lstrip("+"), normalise_phone(stored).lstrip("+")
    if len(a) < 8 or len(b) < 8:
        return False
    tail = min(9, len(a), len(b))
    return a[-tail:] == b[-tail:]


def normalise_city(raw: str) -> str:
    """A city name for comparing: case, spaces, diacritics (tashkeel) and the Arabic article
    don't matter (``Riyadh`` ~ ``riyadh ``; ``الرياض`` ~ ``رياض``)."""
    text = _TASHKEEL.sub("", raw).strip().casefold()
    text = " ".join(text.split())
    return text[2:] if text.startswith("ال") else text


_TASHKEEL = re.compile("[\u064b-\u0652\u0670\u0640]")
