"""Money as integer minor units plus an ISO 4217 currency code.

Arithmetic that can produce fractions goes through ``Decimal`` and is rounded half-even at
the currency's exponent (SAR 2, KWD 3, JPY 0), read from CLDR through Babel so a new
currency needs no code change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache

from babel.numbers import format_currency, get_currency_precision, list_currencies


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


@cache
def known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


@cache
def exponent(currency: str) -> int:
    """Number of minor-unit digits of ``currency`` (SAR 2, KWD 3, JPY 0)."""
    if currency not in known_currencies():
        raise ValueError(f"unknown currency {currency!r}")
    return int(get_currency_precision(currency))


def round_minor(value: Decimal) -> int:
    """Round a Decimal amount of minor units to an integer, half to even."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True, slots=True, order=False)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError("Money.minor must be an int of minor units")
        exponent(self.currency)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, amount: Decimal | str | int, currency: str) -> Money:
        """From a major-unit amount ("240.50"), rounded half-even at the exponent."""
        scaled = Decimal(amount).scaleb(exponent(currency))
        return cls(round_minor(scaled), currency)

    # -- conversion ---------------------------------------------------------------------
    def to_decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-exponent(self.currency))

    def format(self, locale: str = "en") -> str:
        """Locale-aware display, e.g. ``SAR 240.00`` / ``‏240.00 ر.س.‏``."""
        return str(format_currency(self.to_decimal(), self.currency, locale=locale))

    def __str__(self) -> str:
        return f"{self.to_decimal():f} {self.currency}"

    # -- arithmetic ---------------------------------------------------------------------
    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("can only combine Money with Money")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def times(self, quantity: int) -> Money:
        return Money(self.minor * quantity, self.currency)

    def percent(self, rate: Decimal) -> Money:
        """``rate`` percent of this amount (``Decimal("10")`` is 10%), rounded half-even."""
        return Money(round_minor(Decimal(self.minor) * rate / Decimal(100)), self.currency)

    def scaled(self, factor: Decimal) -> Money:
        """This amount times ``factor``, rounded half-even."""
        return Money(round_minor(Decimal(self.minor) * factor), self.currency)

    def clamp(self, low: Money, high: Money) -> Money:
        return max(low, min(self, high))

    def is_zero(self) -> bool:
        return self.minor == 0

    def allocate(self, weights: Sequence[int]) -> list[Money]:
        """Split this amount in proportion to ``weights`` by largest remainder.

        The parts always sum to exactly this amount. Ties in the remainder go to the earlier
        weight, so the split is deterministic.
        """
        return [Money(m, self.currency) for m in allocate_minor(self.minor, weights)]


def allocate_minor(total: int, weights: Sequence[int]) -> list[int]:
    """Largest-remainder split of an integer ``total`` by non-negative integer ``weights``."""
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    if not weights:
        if total:
            raise ValueError("cannot allocate a non-zero amount over no weights")
        return []
    weight_sum = sum(weights)
    if weight_sum == 0:
        # Nothing to weigh by: split evenly, remainder to the first parts.
        weights = [1] * len(weights)
        weight_sum = len(weights)
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    floors = [magnitude * w // weight_sum for w in weights]
    remainders = [magnitude * w % weight_sum for w in weights]
    leftover = magnitude - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        floors[i] += 1
    return [sign * f for f in floors]


def sum_money(amounts: Sequence[Money], currency: str) -> Money:
    total = Money.zero(currency)
    for amount in amounts:
        total = total + amount
    return total
