"""/api/v1: carrier accounts, a return's parcels and label, courier pickups, and the sandbox
carrier's "move this parcel on" (the same webhook path a real carrier's update takes)."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Path, Query, Router, Schema, Status
from ninja.files import UploadedFile

from awda.api.auth import merchant_of
from awda.core.errors import Conflict, InvalidInput, NotFound
from awda.merchants.services import LABEL_LOGO_MAX_BYTES, set_label_logo
from awda.returns.selectors import get_return
from awda.shipping import selectors, services
from awda.shipping.models import CarrierAccount, Pickup, PickupStatus, Shipment
from awda.shipping.schemas import (
    AdvanceIn,
    CarrierAccountIn,
    CarrierAccountOut,
    PickupIn,
    PickupOut,
    ShipmentOut,
    SlotOut,
    SlotQuery,
)
from awda.webhooks.schemas import ErrorOut

router = Router(tags=["shipping"])


@router.get("/carrier-accounts", response=list[CarrierAccountOut], summary="Carrier accounts")
def list_carrier_accounts(request: HttpRequest) -> list[CarrierAccountOut]:
    accounts = CarrierAccount.objects.for_merchant(merchant_of(request)).order_by("priority", "pk")
    return [CarrierAccountOut.of(a) for a in accounts]


@router.post(
    "/carrier-accounts", response={201: CarrierAccountOut}, summary="Connect a carrier account"
)
def connect_carrier_account(request: HttpRequest, payload: CarrierAccountIn) -> Status:
    account = services.connect_carrier(
        merchant=merchant_of(request),
        carrier=payload.carrier,
        name=payload.name,
        settings=payload.settings,
        methods=payload.methods,
        priority=payload.priority,
    )
    return Status(201, CarrierAccountOut.of(account))


def _shipment(request: HttpRequest, number: str) -> Shipment:
    shipment = selectors.shipment_for_return(merchant=merchant_of(request), number=number)
    if shipment is None:
        raise NotFound(_("This return has no parcel yet."), details={"return": number})
    return shipment


class LabelLogoOut(Schema):
    bytes: int  # the stored (re-encoded) size; 0 when removed


@router.post(
    "/label-logo",
    response={200: LabelLogoOut},
    summary="Upload the logo printed on return labels (JPEG, PNG, WebP or HEIC)",
)
def upload_label_logo(request: HttpRequest, file: File[UploadedFile]) -> LabelLogoOut:
    data = file.read(LABEL_LOGO_MAX_BYTES + 1)
    return LabelLogoOut(bytes=set_label_logo(merchant=merchant_of(request), data=data or b"\0"))


@router.delete("/label-logo", response={200: LabelLogoOut}, summary="Print labels without a logo")
def remove_label_logo(request: HttpRequest) -> LabelLogoOut:
    return LabelLogoOut(bytes=set_label_logo(merchant=merchant_of(request), data=b""))


@router.get("/returns/{number}/shipments", response=list[ShipmentOut], summary="A return's parcels")
def list_shipments(request: HttpRequest, number: Path[str]) -> list[ShipmentOut]:
    ret = get_return(merchant=merchant_of(request), number=number)
    return [ShipmentOut.of(s) for s in ret.shipments.order_by("pk").prefetch_related("events")]


@router.post(
    "/returns/{number}/shipments",
    response={201: ShipmentOut, 200: ShipmentOut},
    summary="Issue the return's label now (again after a carrier failure; idempotent)",
)
def issue_shipment(request: HttpRequest, number: Path[str]) -> Status:
    ret = get_return(merchant=merchant_of(request), number=number)
    existed = services.live_shipment(ret.pk) is not None
    shipment = services.issue_return_shipment(return_id=ret.pk)
    if shipment is None:
        raise Conflict(
            _("No label could be issued: the return needs none, or no carrier serves it."),
            details={"status": ret.status, "method": ret.method},
        )
    return Status(200 if existed else 201, ShipmentOut.of(shipment))


class LabelQuery(Schema):
    format: Literal["pdf", "zpl"] = "pdf"
    size: Literal["4x6", "a4"] = "4x6"


@router.get(
    "/returns/{number}/label",
    summary="The parcel's label: PDF (4x6 or a4) or ZPL for thermal printers",
    openapi_extra={
        "responses": {
            200: {
                "description": "the label",
                "content": {
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "application/zpl": {"schema": {"type": "string"}},
                },
            }
        }
    },
)
def label(request: HttpRequest, number: Path[str], q: Query[LabelQuery]) -> HttpResponse:
    merchant = merchant_of(request)
    shipment = _shipment(request, number)
    from awda.shipping.labels import render_pdf, render_zpl

    data = selectors.label_data(shipment, merchant)
    if q.format == "zpl":
        response = HttpResponse(render_zpl(data), content_type="application/zpl; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="label-{data.return_number}.zpl"'
        return response
    response = HttpResponse(render_pdf(data, size=q.size), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="label-{data.return_number}-{q.size}.pdf"'
    return response


@router.get(
    "/returns/{number}/pickup-slots",
    response=list[SlotOut],
    summary="Collection windows the carrier offers on a day",
)
def pickup_slots(request: HttpRequest, number: Path[str], q: Query[SlotQuery]) -> list[SlotOut]:
    merchant = merchant_of(request)
    shipment = _shipment(request, number)
    slots = services.pickup_slots(
        merchant=merchant,
        address=services.shopper_address(shipment.return_request),
        day=q.day,
    )
    return [SlotOut(start=s.start, end=s.end) for s in slots]


@router.post(
    "/returns/{number}/pickup",
    response={201: PickupOut},
    summary="Book or rebook the courier collection",
)
def book_pickup(request: HttpRequest, number: Path[str], payload: PickupIn) -> Status:
    merchant = merchant_of(request)
    shipment = _shipment(request, number)
    slots = services.pickup_slots(
        merchant=merchant,
        address=services.shopper_address(shipment.return_request),
        day=payload.start.date(),
    )
    chosen = next((s for s in slots if s.start == payload.start), None)
    if chosen is None:
        raise InvalidInput(_("Choose one of the offered collection times."), field="start")
    return Status(201, PickupOut.of(services.schedule_pickup(shipment=shipment, slot=chosen)))


@router.delete(
    "/returns/{number}/pickup", response={200: PickupOut}, summary="Cancel the collection"
)
def cancel_pickup(request: HttpRequest, number: Path[str]) -> PickupOut:
    shipment = _shipment(request, number)
    pickup = Pickup.objects.filter(shipment=shipment, status=PickupStatus.SCHEDULED).first()
    if pickup is None:
        raise NotFound(_("No collection is booked."), details={"return": number})
    return PickupOut.of(services.cancel_pickup(pickup=pickup))


@router.post(
    "/sandbox/parcels/{tracking_number}/advance",
    response={200: ShipmentOut},
    summary="Move a sandbox parcel on (the sandbox sends its webhook)",
)
def advance_sandbox(
    request: HttpRequest, tracking_number: Path[str], payload: AdvanceIn
) -> ShipmentOut:
    merchant = merchant_of(request)
    shipment = (
        Shipment.objects.for_merchant(merchant)
        .filter(carrier="sandbox", tracking_number=tracking_number.strip().upper())
        .first()
    )
    if shipment is None:
        raise NotFound(details={"tracking_number": tracking_number})
    services.advance_sandbox_parcel(tracking_number=shipment.tracking_number, to=payload.to)
    shipment.refresh_from_db()
    return ShipmentOut.of(shipment)


class DropOffPointOut(Schema):
    carrier: str
    code: str
    name_en: str
    name_ar: str
    address_en: str
    address_ar: str
    city_en: str
    city_ar: str
    country: str
    hours_en: str
    hours_ar: str
    latitude: float | None
    longitude: float | None
    distance_km: float | None


@router.get(
    "/returns/{number}/drop-off-points",
    response={200: list[DropOffPointOut], 401: ErrorOut, 404: ErrorOut},
    summary="Drop-off points near a return's shopper",
    description="The merchant's active points nearest the order's delivery address (its "
    "coordinates when the store sent them, else its city's centre), as the portal shows them "
    "for the QR drop-off method; `distance_km` is null when unknown. 404 `not_found`: no such "
    "return.",
)
def list_drop_off_points(request: HttpRequest, number: Path[str]) -> list[DropOffPointOut]:
    merchant = merchant_of(request)
    order = get_return(merchant=merchant, number=number).order
    address = order.shipping_address or {}
    points = selectors.nearby_drop_off_points(
        merchant=merchant,
        country=order.shipping_country,
        city=str(address.get("city", "")),
        near=selectors.address_coordinates(address),
    )
    return [
        DropOffPointOut(
            carrier=p.carrier,
            code=p.code,
            name_en=p.name_en,
            name_ar=p.name_ar,
            address_en=p.address_en,
            address_ar=p.address_ar,
            city_en=p.city_en,
            city_ar=p.city_ar,
            country=p.country,
            hours_en=p.hours_en,
            hours_ar=p.hours_ar,
            latitude=None if p.latitude is None else float(p.latitude),
            longitude=None if p.longitude is None else float(p.longitude),
            distance_km=p.distance_km,  # type: ignore[attr-defined]
        )
        for p in points
    ]
