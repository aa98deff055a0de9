"""Returns ready for the warehouse, built through the real services."""

from __future__ import annotations

from typing import Any

from awda.catalog.models import Stock, StockMove
from awda.payments import services as payments
from awda.policies.document import default_policy, parse_policy
from awda.returns.models import Return, ReturnItem
from awda.returns.services import ItemRequest, request_return
from awda.shipping import services as shipping
from tests import factories


def merchant(timing: str = "delivered") -> factories.Merchant:
    data = default_policy(currency="SAR", country="SA").to_data()
    data["defaults"].update(refund_timing=timing, return_shipping_paid_by="merchant")
    m = factories.merchant(policy=parse_policy(data))
    shipping.connect_carrier(merchant=m, carrier="sandbox", name="Sandbox", settings={})
    payments.connect_gateway(merchant=m, gateway="sandbox", name="Sandbox", settings={})
    return m


def a_return(
    m: factories.Merchant,
    refs: tuple[str, ...] = ("1",),
    *,
    quantity: int = 1,
    reason: str = "size",
    resolution: str = "refund",
    **line: Any,
) -> Return:
    order = factories.order(
        m,
        lines=[factories.line(ref, quantity=quantity, price=20000, **line) for ref in refs],
    )
    ret = request_return(
        merchant=m,
        order_number=order.number,
        items=[
            ItemRequest(line_ref=ref, quantity=quantity, reason=reason, resolution=resolution)
            for ref in refs
        ],
        method="label",
    )
    factories.run_jobs()  # the label
    return Return.objects.get(pk=ret.pk)


def tracking(ret: Return) -> str:
    return ret.shipments.get().tracking_number


def item(ret: Return, ref: str = "1") -> ReturnItem:
    return ReturnItem.objects.select_related("order_line").get(
        return_request=ret, order_line__line_ref=ref
    )


def on_hand(sku: str, location: str = "main") -> int:
    row = Stock.objects.filter(variant__sku=sku, location__code=location).first()
    return row.on_hand if row else 0


def moves(sku: str) -> list[StockMove]:
    return list(StockMove.objects.filter(variant__sku=sku).order_by("pk"))
