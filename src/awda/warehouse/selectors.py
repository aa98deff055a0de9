"""Warehouse reads: what a scan opens, what the station shows, stock per SKU."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from awda.catalog.models import Stock, StockMove, Variant
from awda.core.errors import NotFound
from awda.core.ids import RETURN_NUMBER_ALPHABET, normalise_return_number
from awda.merchants.models import Merchant
from awda.returns.models import Return, ReturnItem, ReturnMethod
from awda.shipping.models import Shipment
from awda.warehouse.rules import ItemFacts, suggest_disposition

# A return number, dashes and all, inside a longer payload (a URL in a QR code, a prefix a
# scanner adds); without the dashes a word such as "RETURNS" would look like one.
_NUMBER_IN_TEXT = re.compile(
    rf"(?<![A-Z0-9])R-([{RETURN_NUMBER_ALPHABET}]{{4}})-([{RETURN_NUMBER_ALPHABET}]{{2}})(?![A-Z0-9])"
)


def find_by_scan(*, merchant: Merchant, code: str) -> Return | None:
    """The merchant's return a scanned or typed code names: a parcel's tracking number or QR
    payload, or a return number (any case, with or without dashes, alone or inside a
    longer payload such as a URL); None when nothing matches."""
    code = code.strip()
    if not code or len(code) > 500:
        return None
    shipment = (
        Shipment.objects.for_merchant(merchant)
        .filter(Q(tracking_number__in={code, code.upper()}) | Q(qr_payload=code))
        .order_by("-created_at", "-pk")
        .values_list("return_request_id", flat=True)
        .first()
    )
    returns = Return.objects.for_merchant(merchant)
    if shipment is not None:
        return returns.filter(pk=shipment).first()
    found = returns.filter(number=normalise_return_number(code)).first()
    if found is None and (match := _NUMBER_IN_TEXT.search(code.upper())):
        found = returns.filter(number=f"R-{match[1]}-{match[2]}").first()
    return found


@dataclass(frozen=True)
class StationItem:
    line_ref: str
    sku: str
    title_en: str
    title_ar: str
    quantity: int
    reason: str
    reception: str
    received_quantity: int
    condition: str
    decision: str
    decision_note: str
    disposition: str
    suggested_disposition: str | None


@dataclass(frozen=True)
class StationReturn:
    number: str
    status: str
    method: str
    refund_timing: str
    items: list[StationItem]


def station_items(ret: Return) -> list[ReturnItem]:
    """The return's items with what the station reads of them (line, variant, product)."""
    return list(
        ReturnItem.objects.filter(return_request=ret)
        .select_related("order_line__variant__product__category")
        .order_by("pk")
    )


def suggestion_for(ret: Return, item: ReturnItem) -> str | None:
    variant = item.order_line.variant
    product = variant.product if variant is not None else None
    category = product.category if product is not None else None
    return suggest_disposition(
        ItemFacts(
            condition=item.condition,
            decision=item.decision,
            reception=item.reception,
            reason=item.reason_code,
            category=category.code if category is not None else "",
            has_supplier=product is not None and product.supplier_id is not None,
            keep_item=ret.method == ReturnMethod.KEEP_ITEM,
        )
    )


def station_view(*, merchant: Merchant, number: str) -> StationReturn:
    """What the receiving station shows for a return: each item, its state and the
    suggested disposition. NotFound outside the merchant."""
    ret = Return.objects.for_merchant(merchant).filter(number=normalise_return_number(number))
    found = ret.first()
    if found is None:
        raise NotFound(details={"return": number})
    items = [
        StationItem(
            line_ref=i.order_line.line_ref,
            sku=i.order_line.sku,
            title_en=i.order_line.title_en,
            title_ar=i.order_line.title_ar,
            quantity=i.quantity,
            reason=i.reason_code,
            reception=i.reception,
            received_quantity=i.received_quantity,
            condition=i.condition,
            decision=i.decision,
            decision_note=i.decision_note,
            disposition=i.disposition,
            suggested_disposition=suggestion_for(found, i),
        )
        for i in station_items(found)
    ]
    return StationReturn(
        number=found.number,
        status=found.status,
        method=found.method,
        refund_timing=found.refund_timing,
        items=items,
    )


@dataclass(frozen=True)
class StockLevel:
    location_code: str
    location_name: str
    is_default: bool
    on_hand: int
    reserved: int
    available: int


@dataclass(frozen=True)
class StockMoveView:
    location_code: str
    quantity: int
    on_hand_after: int
    reason: str
    reference: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class StockView:
    sku: str
    levels: list[StockLevel]
    moves: list[StockMoveView]


def stock_for_sku(*, merchant: Merchant, sku: str, moves: int = 20) -> StockView:
    """A SKU's units per location and its latest moves (newest first), or NotFound."""
    variant = Variant.objects.for_merchant(merchant).filter(sku=sku).first()
    if variant is None:
        raise NotFound(field="sku", details={"sku": sku})
    levels = [
        StockLevel(
            location_code=s.location.code,
            location_name=s.location.name,
            is_default=s.location.is_default,
            on_hand=s.on_hand,
            reserved=s.reserved,
            available=s.available,
        )
        for s in Stock.objects.filter(variant=variant).select_related("location").order_by("pk")
    ]
    recent = [
        StockMoveView(
            location_code=m.location.code,
            quantity=m.quantity,
            on_hand_after=m.on_hand_after,
            reason=m.reason,
            reference=m.reference,
            actor=m.actor,
            at=m.at,
        )
        for m in StockMove.objects.filter(variant=variant)
        .select_related("location")
        .order_by("-at", "-pk")[:moves]
    ]
    return StockView(sku=variant.sku, levels=levels, moves=recent)
