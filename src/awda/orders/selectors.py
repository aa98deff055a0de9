"""Reads of orders, always scoped to one merchant."""

from __future__ import annotations

from django.db.models import Prefetch

from awda.core.errors import NotFound
from awda.merchants.models import Merchant
from awda.orders.models import Order, OrderLine


def get_order(*, merchant: Merchant, number: str) -> Order:
    """The order with its customer, lines (with product facts) and payments, or NotFound."""
    order = (
        Order.objects.for_merchant(merchant)
        .select_related("customer")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=OrderLine.objects.select_related(
                    "product", "product__category", "product__supplier", "variant"
                ).order_by("pk"),
            ),
            "payments",
        )
        .filter(number=number)
        .first()
    )
    if order is None:
        raise NotFound(details={"order": number})
    return order


def get_order_lines(*, merchant: Merchant, number: str) -> tuple[Order, list[OrderLine]]:
    """An order and its lines with product facts in one query (the returnable-lines path)."""
    lines = list(
        OrderLine.objects.filter(merchant=merchant, order__number=number)
        .select_related(
            "order", "order__customer", "product", "product__category", "product__supplier"
        )
        .order_by("pk")
    )
    if not lines:  # an order always has lines, so no lines means no such order here
        raise NotFound(details={"order": number})
    return lines[0].order, lines
