"""The refund quote: what a return is worth, item by item, as pure functions.

No database and no I/O: the service loads the order lines and the policy, builds
``QuoteLine`` values, and stores ``ReturnQuote.to_data()`` with the return. The shopper sees
the same figures before submitting.

Every split goes through integer minor units and half-even rounding (DESIGN.md §6). A line's
value is handed out by *cumulative* share, so returning it in any number of parts refunds
exactly what was paid, never a minor unit more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from awda.core.money import CurrencyMismatch, Money, round_minor, sum_money

DATA_VERSION = 1

_T = TypeVar("_T")


def allocate_order_discount(discount: Money, line_totals: Sequence[Money]) -> list[Money]:
    """Spread an order-level discount over lines in proportion to their totals."""
    for total in line_totals:
        if total.currency != discount.currency:
            raise CurrencyMismatch(f"{discount.currency} vs {total.currency}")
        if total.minor < 0:
            raise ValueError("line totals must not be negative")
    if discount.minor < 0:
        raise ValueError("discount must not be negative")
    # With the discount no larger than the sum, largest remainder can never push a part
    # above its own line total, so this one check covers every line.
    if discount.minor > sum(t.minor for t in line_totals):
        raise ValueError("discount exceeds the order's line totals")
    return discount.allocate([t.minor for t in line_totals])


@dataclass(frozen=True, slots=True)
class QuoteLine:
    """One order line as stored, plus how many of its units this return takes back."""

    line_ref: str
    unit_price: Money
    ordered_quantity: int
    discount_total: Money
    tax_total: Money
    prices_include_tax: bool
    already_returned_quantity: int
    return_quantity: int
    restocking_fee_percent: Decimal
    restocking_fee_flat: Money
    waive_restocking: bool
    exchange_unit_price: Money | None = None

    def __post_init__(self) -> None:
        currency = self.unit_price.currency
        amounts = [self.discount_total, self.tax_total, self.restocking_fee_flat]
        if self.exchange_unit_price is not None:
            amounts.append(self.exchange_unit_price)
        for amount in amounts:
            if amount.currency != currency:
                raise CurrencyMismatch(f"line {self.line_ref}: {currency} vs {amount.currency}")
        if any(m.minor < 0 for m in [self.unit_price, *amounts]):
            raise ValueError(f"line {self.line_ref}: amounts must not be negative")
        if self.ordered_quantity < 1:
            raise ValueError(f"line {self.line_ref}: ordered quantity must be at least 1")
        if self.return_quantity < 1:
            raise ValueError(f"line {self.line_ref}: return quantity must be at least 1")
        if self.already_returned_quantity < 0:
            raise ValueError(f"line {self.line_ref}: already returned must not be negative")
        if self.already_returned_quantity + self.return_quantity > self.ordered_quantity:
            raise ValueError(f"line {self.line_ref}: returning more units than were ordered")
        if self.discount_total > self.gross_total:
            raise ValueError(f"line {self.line_ref}: discount exceeds the line's price")
        # Tax inside the price is part of what was paid; more tax than that is corrupt data.
        if self.prices_include_tax and self.tax_total > self.gross_total - self.discount_total:
            raise ValueError(f"line {self.line_ref}: included tax exceeds what was paid")
        if not _is_percent(self.restocking_fee_percent):
            raise ValueError(f"line {self.line_ref}: restocking percent must be in 0..100")

    @property
    def currency(self) -> str:
        return self.unit_price.currency

    @property
    def gross_total(self) -> Money:
        """Unit price times the ordered quantity, before discount and tax."""
        return self.unit_price.times(self.ordered_quantity)

    @property
    def paid(self) -> Money:
        """What the shopper paid for the whole line."""
        paid = self.gross_total - self.discount_total
        return paid if self.prices_include_tax else paid + self.tax_total


@dataclass(frozen=True, slots=True)
class ItemQuote:
    """The quote for the units of one line in this return.

    ``value`` is the authoritative cumulative share of what was paid; ``discount`` and
    ``tax`` are their own cumulative shares, shown for the receipt, so ``gross - discount
    (+ tax)`` can differ from ``value`` by a minor unit where two roundings meet.
    """

    line_ref: str
    quantity: int
    gross: Money
    discount: Money
    tax: Money
    value: Money
    restocking_fee: Money
    refund: Money
    exchange_difference: Money | None
    # Whether ``tax`` is inside ``gross`` or added on top: the stored quote must render
    # without the order at hand.
    tax_included: bool


@dataclass(frozen=True, slots=True)
class ReturnQuote:
    """The whole return: items, the shipping fee, the refund and the store-credit offer."""

    currency: str
    items: tuple[ItemQuote, ...]
    items_total: Money
    shipping_fee: Money
    refund_total: Money
    store_credit_bonus: Money
    store_credit_total: Money
    # Per-item refunds after the shipping fee, aligned with ``items``; summing to
    # ``refund_total`` so the refund can be capped and split per line.
    refund_parts: tuple[Money, ...]

    def to_data(self) -> dict[str, Any]:
        """JSON-ready form (ints in minor units, strings, bools) for storing with the return."""
        return {
            "version": DATA_VERSION,
            "currency": self.currency,
            "items": [
                {
                    "line_ref": item.line_ref,
                    "quantity": item.quantity,
                    "gross": item.gross.minor,
                    "discount": item.discount.minor,
                    "tax": item.tax.minor,
                    "tax_included": item.tax_included,
                    "value": item.value.minor,
                    "restocking_fee": item.restocking_fee.minor,
                    "refund": item.refund.minor,
                    "exchange_difference": (
                        None if item.exchange_difference is None else item.exchange_difference.minor
                    ),
                }
                for item in self.items
            ],
            "items_total": self.items_total.minor,
            "shipping_fee": self.shipping_fee.minor,
            "refund_total": self.refund_total.minor,
            "store_credit_bonus": self.store_credit_bonus.minor,
            "store_credit_total": self.store_credit_total.minor,
            "refund_parts": [part.minor for part in self.refund_parts],
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ReturnQuote:
        """Rebuild a quote stored by ``to_data``; raises ValueError on anything malformed."""
        try:
            return cls._from_data(data)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed quote data: {exc!r}") from exc

    @classmethod
    def _from_data(cls, data: Mapping[str, Any]) -> ReturnQuote:
        if data.get("version") != DATA_VERSION:
            raise ValueError(f"unsupported quote data version {data.get('version')!r}")
        currency = _typed(data, "currency", str)

        def money(minor: Any) -> Money:
            # Money itself rejects non-int minor units (floats, bools, strings).
            return Money(minor, currency)

        items = tuple(
            ItemQuote(
                line_ref=_typed(raw, "line_ref", str),
                quantity=_typed(raw, "quantity", int),
                gross=money(raw["gross"]),
                discount=money(raw["discount"]),
                tax=money(raw["tax"]),
                value=money(raw["value"]),
                restocking_fee=money(raw["restocking_fee"]),
                refund=money(raw["refund"]),
                exchange_difference=(
                    None
                    if raw["exchange_difference"] is None
                    else money(raw["exchange_difference"])
                ),
                tax_included=_typed(raw, "tax_included", bool),
            )
            for raw in data["items"]
        )
        parts = tuple(money(minor) for minor in data["refund_parts"])
        if len(parts) != len(items):
            raise ValueError("refund_parts must have one entry per item")
        return cls(
            currency=currency,
            items=items,
            items_total=money(data["items_total"]),
            shipping_fee=money(data["shipping_fee"]),
            refund_total=money(data["refund_total"]),
            store_credit_bonus=money(data["store_credit_bonus"]),
            store_credit_total=money(data["store_credit_total"]),
            refund_parts=parts,
        )


def quote_return(
    *,
    currency: str,
    lines: Sequence[QuoteLine],
    return_shipping_fee: Money,
    waive_return_shipping: bool,
    store_credit_bonus_percent: Decimal,
    store_credit_bonus_flat: Money,
) -> ReturnQuote:
    """Price a return: per-item refunds, the shipping fee, the refund and store credit."""
    if not lines:
        raise ValueError("a return quote needs at least one line")
    for amount in [return_shipping_fee, store_credit_bonus_flat, *(ln.unit_price for ln in lines)]:
        if amount.currency != currency:
            raise CurrencyMismatch(f"{currency} vs {amount.currency}")
    refs = [line.line_ref for line in lines]
    # Two entries for one line would each start from the same already-returned count and
    # hand out the same cumulative share twice.
    if len(set(refs)) != len(refs):
        raise ValueError("each order line may appear only once in a quote")
    if return_shipping_fee.minor < 0 or store_credit_bonus_flat.minor < 0:
        raise ValueError("fees and bonuses must not be negative")
    if not store_credit_bonus_percent.is_finite() or store_credit_bonus_percent < 0:
        raise ValueError("store credit bonus percent must not be negative")

    items = tuple(_quote_item(line) for line in lines)
    zero = Money.zero(currency)
    items_total = sum_money([item.refund for item in items], currency)
    # A shopper never owes money on a refund: the fee eats at most the items' refund.
    shipping_fee = zero if waive_return_shipping else min(return_shipping_fee, items_total)
    refund_total = items_total - shipping_fee
    bonus = (
        zero
        if refund_total.is_zero()
        else refund_total.percent(store_credit_bonus_percent) + store_credit_bonus_flat
    )
    # Weighted by the item refunds and never larger than their sum, no fee part exceeds its
    # item's refund, so every part stays non-negative.
    fee_parts = shipping_fee.allocate([item.refund.minor for item in items])
    return ReturnQuote(
        currency=currency,
        items=items,
        items_total=items_total,
        shipping_fee=shipping_fee,
        refund_total=refund_total,
        store_credit_bonus=bonus,
        store_credit_total=refund_total + bonus,
        refund_parts=tuple(item.refund - fee for item, fee in zip(items, fee_parts, strict=True)),
    )


def _quote_item(line: QuoteLine) -> ItemQuote:
    done = line.already_returned_quantity
    upto = done + line.return_quantity

    def share(total: Money) -> Money:
        # Difference of cumulative shares, not a share of the k units on their own: the
        # roundings telescope, so the parts of a line always add up to its total.
        return _cumulative_share(total, upto, line.ordered_quantity) - _cumulative_share(
            total, done, line.ordered_quantity
        )

    value = share(line.paid)
    if line.waive_restocking:
        fee = Money.zero(line.currency)
    else:
        fee = value.percent(line.restocking_fee_percent) + line.restocking_fee_flat.times(
            line.return_quantity
        )
        fee = fee.clamp(Money.zero(line.currency), value)
    exchange = (
        None
        if line.exchange_unit_price is None
        else line.exchange_unit_price.times(line.return_quantity) - value
    )
    return ItemQuote(
        line_ref=line.line_ref,
        quantity=line.return_quantity,
        gross=line.unit_price.times(line.return_quantity),
        discount=share(line.discount_total),
        tax=share(line.tax_total),
        value=value,
        restocking_fee=fee,
        refund=value - fee,
        exchange_difference=exchange,
        tax_included=line.prices_include_tax,
    )


def _cumulative_share(total: Money, units: int, of: int) -> Money:
    # The quotient keeps 28 significant digits, so a value is never mistaken for a tie unless
    # a line's paid minor units times its quantity nears 10**20, far past any real order.
    return Money(round_minor(Decimal(total.minor * units) / Decimal(of)), total.currency)


def _is_percent(rate: Decimal) -> bool:
    return rate.is_finite() and Decimal(0) <= rate <= Decimal(100)


def _typed(source: Mapping[str, Any], key: str, kind: type[_T]) -> _T:
    value = source[key]
    # bool is an int subclass; a stored True must not pass as a quantity, nor 1 as a flag.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{key} must be {kind.__name__}")
    return value
