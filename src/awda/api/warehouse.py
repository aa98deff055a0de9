"""/api/v1/warehouse and /api/v1/stock: scan, receive and inspect, dispose, stock levels,
vendor batches and their packing lists."""

from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router

from awda.api.auth import merchant_of
from awda.core.errors import NotFound
from awda.warehouse import packing_list, selectors, services
from awda.warehouse.schemas import (
    DisposalOut,
    DisposeIn,
    ReceiveIn,
    ReceiveOut,
    StationReturnOut,
    StockOut,
    VendorBatchOut,
    VendorBatchQuery,
)

router = Router(tags=["warehouse"])


@router.get("/warehouse/scan/{code}", response=StationReturnOut, summary="Open a scanned parcel")
def scan(request: HttpRequest, code: Path[str]) -> StationReturnOut:
    merchant = merchant_of(request)
    ret = selectors.find_by_scan(merchant=merchant, code=code)
    if ret is None:
        raise NotFound(field="code", details={"code": code[:80]})
    return StationReturnOut.of(selectors.station_view(merchant=merchant, number=ret.number))


@router.post(
    "/warehouse/returns/{number}/receive",
    response=ReceiveOut,
    by_alias=True,
    summary="Receive a parcel and inspect its items (one call for a single item)",
)
def receive(request: HttpRequest, number: Path[str], payload: ReceiveIn) -> ReceiveOut:
    merchant = merchant_of(request)
    result = services.receive_and_inspect(
        merchant=merchant,
        code_or_number=number,
        actor="api",
        items=[i.to_check() for i in payload.items] if payload.items is not None else None,
        location=payload.location,
    )
    view = selectors.station_view(merchant=merchant, number=result.ret.number)
    return ReceiveOut.model_validate(
        {
            "return": StationReturnOut.of(view),
            "disposals": [DisposalOut.of(d) for d in result.disposals],
        }
    )


@router.post(
    "/warehouse/returns/{number}/items/{line_ref}/dispose",
    response=DisposalOut,
    summary="Record what becomes of an item (restock moves stock once)",
)
def dispose(
    request: HttpRequest, number: Path[str], line_ref: Path[str], payload: DisposeIn
) -> DisposalOut:
    # An Idempotency-Key header is welcome but not needed: the item itself is the key
    # (one disposition per item; its restock move keyed return-<id>-item-<id>-restock).
    disposal = services.dispose(
        merchant=merchant_of(request),
        number=number,
        line_ref=line_ref,
        disposition=payload.disposition,
        location=payload.location,
        note=payload.note,
        actor="api",
    )
    return DisposalOut.of(disposal)


@router.get("/stock/{sku}", response=StockOut, summary="A SKU's stock per location and moves")
def stock(request: HttpRequest, sku: Path[str]) -> StockOut:
    return StockOut.of(selectors.stock_for_sku(merchant=merchant_of(request), sku=sku))


@router.get(
    "/warehouse/vendor-batches",
    response=list[VendorBatchOut],
    summary="Batches of items going back to their suppliers (open first, newest first)",
)
def vendor_batches(request: HttpRequest, q: Query[VendorBatchQuery]) -> list[VendorBatchOut]:
    rows = packing_list.vendor_batches(merchant=merchant_of(request), status=q.status)
    return [VendorBatchOut.of(row) for row in rows]


@router.post(
    "/warehouse/vendor-batches/{batch_id}/close",
    response=VendorBatchOut,
    summary="The batch is packed: nothing more goes in (closing it again is a repeat)",
)
def close_vendor_batch(request: HttpRequest, batch_id: Path[int]) -> VendorBatchOut:
    merchant = merchant_of(request)
    batch = services.close_vendor_batch(merchant=merchant, batch_id=batch_id, actor="api")
    rows = packing_list.vendor_batches(merchant=merchant)
    return VendorBatchOut.of(next(row for row in rows if row.id == batch.pk))


@router.get(
    "/warehouse/vendor-batches/{batch_id}/packing-list.pdf",
    summary="The batch's packing list (A4 PDF, English and Arabic, the reference as Code128)",
    openapi_extra={
        "responses": {
            200: {
                "description": "the packing list",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def vendor_batch_packing_list(request: HttpRequest, batch_id: Path[int]) -> HttpResponse:
    data = packing_list.packing_list(merchant=merchant_of(request), batch_id=batch_id)
    response = HttpResponse(packing_list.render_packing_list(data), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="packing-list-{data.reference}.pdf"'
    return response
