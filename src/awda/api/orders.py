"""/api/v1/orders: upsert an order and read what it can return."""

from django.http import HttpRequest
from ninja import Path, Router, Status

from awda.api.auth import merchant_of
from awda.orders.schemas import OrderIn, OrderOut
from awda.orders.selectors import get_order
from awda.orders.services import upsert_order
from awda.returns.schemas import QuotePreviewOut, ReturnableLineOut, ReturnableLinesOut
from awda.returns.selectors import returnable_lines

router = Router(tags=["orders"])


@router.put(
    "/{number}", response={200: OrderOut, 201: OrderOut}, summary="Create or update an order"
)
def put_order(request: HttpRequest, number: Path[str], payload: OrderIn) -> Status:
    merchant = merchant_of(request)
    _order, created = upsert_order(merchant=merchant, data=payload.to_data(number))
    order = get_order(merchant=merchant, number=number)
    return Status(201 if created else 200, OrderOut.from_orm(order))


@router.get("/{number}", response=OrderOut, summary="Get an order")
def read_order(request: HttpRequest, number: Path[str]) -> OrderOut:
    return OrderOut.from_orm(get_order(merchant=merchant_of(request), number=number))


@router.get(
    "/{number}/returnable-lines",
    response=ReturnableLinesOut,
    summary="Each line's return decision, explanation and quote preview",
)
def read_returnable_lines(request: HttpRequest, number: Path[str]) -> ReturnableLinesOut:
    order, version, lines = returnable_lines(merchant=merchant_of(request), order_number=number)
    out = []
    for line in lines:
        d = line.decision
        quote = None
        if line.preview is not None:
            item = line.preview.items[0]
            quote = QuotePreviewOut(
                quantity=item.quantity,
                refund_minor=line.preview.refund_total.minor,
                store_credit_minor=line.preview.store_credit_total.minor,
                restocking_fee_minor=item.restocking_fee.minor,
            )
        out.append(
            ReturnableLineOut(
                line_ref=line.line_ref,
                sku=line.sku,
                title_en=line.title_en,
                title_ar=line.title_ar,
                quantity=line.quantity,
                returnable_quantity=line.returnable_quantity,
                returnable=d.returnable,
                blocking=d.blocking,
                deadline=d.deadline,
                days_left=d.days_left,
                matched_rules=list(d.matched_rules),
                resolutions=list(d.outcome.resolutions),
                methods=list(d.outcome.methods),
                photos_required=bool(d.outcome.photos_required),
                explanation=line.explanation,
                quote=quote,
            )
        )
    return ReturnableLinesOut(
        order_number=order.number, currency=order.currency, policy_version=version, lines=out
    )
