"""Reads of exchanges: a return's exchange as plain values, and the money they moved."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from awda.exchanges.models import (
    DifferenceHandling,
    Exchange,
    ExchangePayment,
    ExchangeStatus,
    PaymentPurpose,
    PaymentStatus,
)


@dataclass(frozen=True)
class ExchangeItem:
    sku: str
    quantity: int
    unit_price_minor: int


@dataclass(frozen=True)
class PaymentLinkView:
    purpose: str  # difference, unreturned
    status: str  # pending, sent, paid, failed, cancelled
    amount_minor: int
    url: str


@dataclass(frozen=True)
class ExchangeView:
    """A return's exchange, as the API and the status page show it."""

    status: str
    items: tuple[ExchangeItem, ...]
    currency: str
    replacement_value_minor: int
    credit_minor: int
    difference_minor: int  # > 0 the shopper pays, < 0 the shopper gets back
    difference_handling: str
    replacement_order_number: str
    replacement_status: str
    collect_on_delivery_minor: int
    instant: bool
    originals: str
    unreturned_minor: int
    unreturned_action: str
    payments: tuple[PaymentLinkView, ...]

    @property
    def payment_url(self) -> str:
        """The link the shopper still has to pay, if any."""
        for p in self.payments:
            if p.status == PaymentStatus.SENT:
                return p.url
        return ""


def exchange_for_return(*, return_id: int) -> ExchangeView | None:
    """The return's exchange with its items and payment links, or None."""
    ex = (
        Exchange.objects.select_related("replacement_order")
        .prefetch_related("lines__variant", "payments")
        .filter(return_id=return_id)
        .first()
    )
    if ex is None:
        return None
    order = ex.replacement_order
    return ExchangeView(
        status=ex.status,
        items=tuple(
            ExchangeItem(li.variant.sku, li.quantity, li.unit_price_minor)
            for li in sorted(ex.lines.all(), key=lambda li: li.pk)
        ),
        currency=ex.currency,
        replacement_value_minor=ex.replacement_value_minor,
        credit_minor=ex.credit_minor,
        difference_minor=ex.difference_minor,
        difference_handling=ex.difference_handling,
        replacement_order_number=order.number if order else "",
        replacement_status=order.replacement_status if order else "",
        collect_on_delivery_minor=order.collect_on_delivery_minor if order else 0,
        instant=ex.instant,
        originals=ex.originals,
        unreturned_minor=ex.unreturned_minor,
        unreturned_action=ex.unreturned_action,
        payments=tuple(
            PaymentLinkView(p.purpose, p.status, p.amount_minor, p.url)
            for p in sorted(ex.payments.all(), key=lambda p: p.pk)
        ),
    )


def differences_given_back(*, merchant_id: int, references: Iterable[str]) -> dict[str, int]:
    """Per return number, the price difference its exchange gave back by refund or bank
    transfer (what the money report adds to the return's promised refund)."""
    return {
        reference: -difference
        for reference, difference in Exchange.objects.filter(
            merchant_id=merchant_id,
            reference__in=list(references),
            difference_minor__lt=0,
            difference_handling__in=[DifferenceHandling.REFUND, DifferenceHandling.BANK_TRANSFER],
        ).values_list("reference", "difference_minor")
    }


def differences_credited(*, merchant_id: int, references: Iterable[str]) -> dict[str, int]:
    """Per return number, the price difference its exchange gave back as store credit."""
    return {
        reference: -difference
        for reference, difference in Exchange.objects.filter(
            merchant_id=merchant_id,
            reference__in=list(references),
            difference_minor__lt=0,
            difference_handling=DifferenceHandling.STORE_CREDIT,
        ).values_list("reference", "difference_minor")
    }


def open_payment_link(*, return_id: int) -> str:
    """The payment link a return's shopper has yet to pay ("" when none)."""
    url = (
        ExchangePayment.objects.filter(
            exchange__return_id=return_id,
            status=PaymentStatus.SENT,
            purpose__in=[PaymentPurpose.DIFFERENCE, PaymentPurpose.UNRETURNED],
        )
        .order_by("pk")
        .values_list("url", flat=True)
        .first()
    )
    return url or ""


def may_ship_early(*, return_id: int) -> bool:
    """Whether the return has an exchange still waiting that its policy lets ship at once
    (the risk rule is checked when it is issued)."""
    return bool(may_ship_early_of(return_ids=[return_id]))


def may_ship_early_of(*, return_ids: Sequence[int]) -> set[int]:
    """``may_ship_early`` for several returns at once: the ids of those that may."""
    return set(
        Exchange.objects.filter(
            return_id__in=return_ids, status=ExchangeStatus.RESERVED, instant_allowed=True
        ).values_list("return_id", flat=True)
    )
