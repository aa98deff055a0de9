"""The way back on the status page: the label to print, the QR to show, the booked courier,
and the parcel's scans. While the carrier is still making the label, the card asks again
every few seconds (htmx) and stops once it is there."""

from __future__ import annotations

import functools
from typing import Any

import segno
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from awda.core.errors import DomainError
from awda.merchants.models import Merchant
from awda.portal import access
from awda.portal.pages import context, store_page
from awda.returns.models import ReturnMethod, ReturnStatus
from awda.returns.selectors import ReturnSummary, get_return_summary
from awda.shipping.selectors import ParcelView, label_data, parcel_for_return, shipment_for_return

LABEL_SIZES = ("4x6", "a4")
# A return in these states still needs (or has) a parcel on its way to the store.
_SHIPPING = {ReturnStatus.APPROVED, ReturnStatus.IN_TRANSIT, ReturnStatus.DELIVERED}


def parcel_context(merchant: Merchant, ret: ReturnSummary) -> dict[str, Any]:
    """What the parcel card shows for ``ret`` (also used by the status page itself)."""
    parcel = parcel_for_return(merchant_id=merchant.pk, return_id=ret.id)
    waiting = (
        parcel is None
        and ret.status == ReturnStatus.APPROVED
        and ret.method != ReturnMethod.KEEP_ITEM
    )
    failed = waiting and any(fact.kind == "label_failed" for fact in ret.timeline)
    return {
        "parcel": parcel,
        "parcel_waiting": waiting and not failed,
        "parcel_failed": failed,
        # The label and QR are for handing the parcel over: once it moved, only its scans.
        "parcel_active": parcel is not None and ret.status == ReturnStatus.APPROVED,
        "qr_svg": _qr_svg(parcel) if parcel and ret.method == ReturnMethod.QR_DROPOFF else "",
    }


def _qr_svg(parcel: ParcelView) -> str:
    return _qr_svg_of(parcel.qr_payload)


@functools.lru_cache(maxsize=2048)
def _qr_svg_of(payload: str) -> str:
    # Encoding a QR code costs a millisecond or two (mask scoring); a payload never changes.
    qr = segno.make(payload, error="m")
    svg = qr.svg_inline(scale=5, border=4, dark="#000", light="#fff", omitsize=False)
    return mark_safe(svg)  # noqa: S308 (segno's own markup of our own payload)


def _visible_return(request: HttpRequest, merchant: Merchant, number: str) -> ReturnSummary | None:
    try:
        ret = get_return_summary(merchant=merchant, number=number)
    except DomainError:
        raise Http404("no such return") from None
    return ret if access.may_see(request, merchant, ret.order_id) else None


@require_http_methods(["GET"])
@store_page
def return_parcel(request: HttpRequest, merchant: Merchant, number: str) -> HttpResponse:
    """The parcel card alone, for the status page's polling while the label is made."""
    ret = _visible_return(request, merchant, number)
    if ret is None:
        return HttpResponse(status=403)
    return render(
        request,
        "portal/_parcel.html",
        context(request, merchant, ret=ret, **parcel_context(merchant, ret)),
    )


@require_http_methods(["GET"])
@store_page
def return_label(request: HttpRequest, merchant: Merchant, number: str) -> HttpResponse:
    """The parcel's label as a PDF (``?size=a4`` for office printers; 4×6 in by default)."""
    from awda.shipping.labels import render_pdf

    ret = _visible_return(request, merchant, number)
    if ret is None:
        return HttpResponseRedirect(reverse("portal:lookup", kwargs={"store": merchant.slug}))
    shipment = shipment_for_return(merchant=merchant, number=ret.number)
    if shipment is None or ret.status not in _SHIPPING:
        raise Http404("no label for this return")
    size = request.GET.get("size", "4x6")
    if size not in LABEL_SIZES:
        size = "4x6"
    pdf = render_pdf(label_data(shipment, merchant), size=size)  # type: ignore[arg-type]
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="label-{ret.number}-{size}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
