"""/api/v1/returns: create, read, list and move returns."""

from django.http import HttpRequest
from ninja import File, Path, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate
from pydantic import Field

from awda.api.auth import merchant_of
from awda.api.pagination import BoundedLimitOffset
from awda.core.errors import NotFound
from awda.core.schemas import UtcDatetime
from awda.returns import selectors, services
from awda.returns.models import Return, ReturnStatus
from awda.returns.photos import attach_photos, store_photo
from awda.returns.schemas import (
    NoteIn,
    ReasonOut,
    RejectIn,
    ReturnIn,
    ReturnOut,
    ReturnSummaryOut,
    SettleIn,
)
from awda.support.services import open_return_for_integration
from awda.webhooks.schemas import ErrorOut, InvalidInputOut

router = Router(tags=["returns"])


@router.post(
    "",
    response={
        201: ReturnOut,
        200: ReturnOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: InvalidInputOut,
    },
    summary="Create a return",
    description="201 the return; 200 with the first answer when the idempotency key was used "
    "already. 404 `not_found`: no such order or line. 422: the policy refuses it (`code` "
    "`window_expired`, `final_sale`, `resolution_not_allowed`, `method_not_allowed`, ... with "
    "the `field`), or `quantity_exceeds_returnable`, `unknown_reason`, `invalid_input`. With "
    "`override_reason` the policy's refusals are set aside (not the units delivered, the "
    "reasons or the exchange's product): the return is approved at once, the reason is on its "
    "timeline (`policy_overridden`) and in the audit log; a blank reason is a 422 "
    "`invalid_input` with `field` `override_reason`.",
)
def create_return(request: HttpRequest, payload: ReturnIn) -> Status:
    merchant = merchant_of(request)
    key = payload.idempotency_key or request.headers.get("Idempotency-Key") or None
    if key:
        existing = selectors.find_by_idempotency_key(merchant=merchant, key=key)
        if existing is not None:
            # A retry of a request that already succeeded: same answer, nothing new created.
            return Status(200, ReturnOut.from_orm(existing))
    items = [i.to_request() for i in payload.items]
    if payload.override_reason is not None:
        ret = open_return_for_integration(
            merchant=merchant,
            order_number=payload.order_number,
            items=items,
            method=payload.method,
            reason=payload.override_reason,
            language=payload.language,
            idempotency_key=key,
        )
        return Status(201, ReturnOut.from_orm(ret))
    ret = services.request_return(
        merchant=merchant,
        order_number=payload.order_number,
        items=items,
        method=payload.method,
        language=payload.language,
        channel="api",
        actor="api",
        idempotency_key=key,
    )
    return Status(201, ReturnOut.from_orm(ret))


class ReturnFilters(Schema):
    status: ReturnStatus | None = None
    order_number: str | None = Field(default=None, max_length=40)
    customer_email: str | None = Field(default=None, max_length=254)
    requested_after: UtcDatetime | None = None
    requested_before: UtcDatetime | None = None
    # true: only returns whose money job failed and waits for a person (false: the others).
    money_review: bool | None = None


@router.get("", response=list[ReturnSummaryOut], summary="List returns, newest first")
@paginate(BoundedLimitOffset)
def list_returns(request: HttpRequest, filters: Query[ReturnFilters]) -> list[ReturnSummaryOut]:
    qs = selectors.list_returns(merchant=merchant_of(request), **filters.model_dump())
    return qs  # type: ignore[return-value]  # paginate slices the queryset, then serialises


@router.get("/reasons", response=list[ReasonOut], summary="The merchant's return reasons")
def list_reasons(request: HttpRequest) -> list[ReasonOut]:
    return [
        ReasonOut(
            code=r.code,
            parent=r.parent.code if r.parent else None,
            label_en=r.label_en,
            label_ar=r.label_ar,
            merchant_fault=r.merchant_fault,
        )
        for r in selectors.list_reasons(merchant=merchant_of(request))
    ]


@router.get("/{number}", response=ReturnOut, summary="Get a return with items and timeline")
def read_return(request: HttpRequest, number: Path[str]) -> ReturnOut:
    return ReturnOut.from_orm(selectors.get_return(merchant=merchant_of(request), number=number))


def _reloaded(request: HttpRequest, ret: Return) -> ReturnOut:
    return ReturnOut.from_orm(
        selectors.get_return(merchant=merchant_of(request), number=ret.number)
    )


@router.post("/{number}/approve", response=ReturnOut, summary="Approve a return under review")
def approve(request: HttpRequest, number: Path[str], payload: NoteIn) -> ReturnOut:
    ret = services.approve_return(
        merchant=merchant_of(request), number=number, actor="api", note=payload.note
    )
    return _reloaded(request, ret)


@router.post("/{number}/reject", response=ReturnOut, summary="Reject a return")
def reject(request: HttpRequest, number: Path[str], payload: RejectIn) -> ReturnOut:
    ret = services.reject_return(
        merchant=merchant_of(request), number=number, actor="api", reason=payload.reason
    )
    return _reloaded(request, ret)


@router.post("/{number}/cancel", response=ReturnOut, summary="Cancel a return")
def cancel(request: HttpRequest, number: Path[str], payload: NoteIn) -> ReturnOut:
    ret = services.cancel_return(
        merchant=merchant_of(request), number=number, actor="api", note=payload.note
    )
    return _reloaded(request, ret)


@router.post(
    "/{number}/settle",
    response=ReturnOut,
    summary="Settle the money of a return in review; it completes as it stands",
)
def settle(request: HttpRequest, number: Path[str], payload: SettleIn) -> ReturnOut:
    ret = services.settle_review(
        merchant=merchant_of(request),
        number=number,
        actor="api",
        note=payload.note,
        outcome=payload.outcome,
    )
    return _reloaded(request, ret)


class PhotoOut(Schema):
    id: int


@router.post(
    "/{number}/items/{line_ref}/photos",
    response={201: PhotoOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: InvalidInputOut},
    summary="Attach a photo to a returned item",
    description="Multipart, one image in `file`: checked by its content (JPEG, PNG, WebP or "
    "HEIC) within the size limits, stored re-encoded and attached to the item, as the portal "
    "does for the shopper. 201 the photo's id. 404 `not_found`: no such return or no item for "
    "the line. 422 `invalid_input` (`field` `photos`): not an image, too large, or the order's "
    "photo limit reached. 400: an unreadable form.",
)
def attach_photo(
    request: HttpRequest, number: Path[str], line_ref: Path[str], file: File[UploadedFile]
) -> Status:
    merchant = merchant_of(request)
    ret = selectors.get_return(merchant=merchant, number=number)
    item = next((i for i in ret.items.all() if i.order_line.line_ref == line_ref), None)
    if item is None:
        raise NotFound(details={"line_ref": line_ref})
    photo = store_photo(merchant=merchant, order=ret.order, data=file.read())
    attach_photos(merchant=merchant, item=item, photo_ids=[photo.pk])
    return Status(201, PhotoOut(id=photo.pk))
