"""Pure helpers for order data: contact normalisation and line money."""

from __future__ import annotations

import re
from collections.abc import Sequence
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


def line_paid_minor(
    *, unit_price_minor: int, quantity: int, discount_minor: int, tax_minor: int,
    prices_include_tax: bool,
) -> int:  # fmt: skip
    """What the shopper paid for a whole line: the most it can ever be given back (the
    quote's ``QuoteLine.paid``, the same arithmetic)."""
    net = unit_price_minor * quantity - discount_minor
    return net if prices_include_tax else net + tax_minor


def split_lines_over_parts(
    lines: Sequence[tuple[int, int]], parts: Sequence[tuple[str, int]]
) -> list[tuple[str, int, int]]:
    """Which lines each part of a resolution pays for: ``(line_id, amount)`` and
    ``(part_key, amount)``, both summing to the same total → ``(part_key, line_id, amount)``.

    The parts are filled in their order from the lines in theirs, so each part's rows add up
    to the part and each line's rows to the line, to the minor unit.
    """
    if any(amount < 0 for _, amount in [*lines, *parts]):
        raise ValueError("amounts must not be negative")
    if sum(a for _, a in lines) != sum(a for _, a in parts):
        raise ValueError("the lines and the parts must add up to the same amount")
    rows: list[tuple[str, int, int]] = []
    remaining = [[line_id, amount] for line_id, amount in lines if amount]
    i = 0
    for key, part in parts:
        left = part
        while left:
            line_id, available = remaining[i]
            take = min(left, available)
            rows.append((key, line_id, take))
            left -= take
            remaining[i][1] -= take
            if remaining[i][1] == 0:
                i += 1
    return rows


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
