"""API shapes for exchanges (out only: an exchange is asked for as a return's resolution)."""

from __future__ import annotations

from pydantic import BaseModel


class ExchangeItemOut(BaseModel):
    sku: str
    quantity: int
    unit_price_minor: int


class PaymentLinkOut(BaseModel):
    purpose: str  # difference, unreturned
    status: str  # pending, sent, paid, failed, cancelled
    amount_minor: int
    url: str


class ExchangeOut(BaseModel):
    """A return's exchange: the replacement order and what became of the price difference."""

    status: str  # reserved, awaiting_payment, issued, review, cancelled
    items: list[ExchangeItemOut]
    currency: str
    replacement_value_minor: int
    credit_minor: int
    # > 0: the shopper pays it; < 0: the shopper gets it back.
    difference_minor: int
    difference_handling: str  # "" until issued; none, charge_link, collect_on_delivery, ...
    replacement_order_number: str
    replacement_status: str  # held, ready, pushed, cancelled
    collect_on_delivery_minor: int
    instant: bool
    originals: str  # awaiting, back, not_back, kept
    unreturned_minor: int
    unreturned_action: str  # "", charge, review
    payment_links: list[PaymentLinkOut]
