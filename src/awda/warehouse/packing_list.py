"""The packing list of a vendor batch: what goes back to one supplier, as an A4 PDF.

Bilingual (English, Arabic shaped and right to left) through ``shipping.typeset``, the
typesetter the return labels use: the merchant and the supplier, the batch's reference (also
as a Code128 barcode the supplier's receiving desk can scan), its date, one row per item
(SKU, product and variant, units, condition, return number, reason) and the totals.
``packing_list`` reads a batch; ``render_packing_list`` is a pure function of what it read.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Sum

from awda.core.errors import NotFound
from awda.merchants.models import Merchant
from awda.shipping.services import merchant_address
from awda.shipping.typeset import LINE_MM, Sheet, draw_code128, new_document, render
from awda.warehouse.models import VendorBatch, VendorBatchItem

PAGE_W, PAGE_H = 210.0, 297.0  # A4, mm
_MARGIN = 14.0
_INNER = PAGE_W - 2 * _MARGIN
_ROW_SIZE = 8.5  # pt
_ROWS_BOTTOM = PAGE_H - 22.0  # where a page's table stops (the footer below)

# (heading English, heading Arabic, width mm); the product column takes what is left.
_COLUMNS = (
    ("SKU", "رمز المنتج", 30.0),
    ("Product", "المنتج", 0.0),
    ("Qty", "الكمية", 13.0),
    ("Condition", "الحالة", 22.0),
    ("Return", "الإرجاع", 24.0),
    ("Reason", "السبب", 32.0),
)
_PRODUCT_W = _INNER - sum(w for _en, _ar, w in _COLUMNS)


def batch_reference(batch_id: int) -> str:
    """The batch's reference, printed and encoded in the barcode: ``VB-000042``."""
    return f"VB-{batch_id:06d}"


@dataclass(frozen=True)
class PackingLine:
    sku: str
    product: str  # English title, the variant's options after it
    product_ar: str
    quantity: int
    condition: str
    return_number: str
    reason: str


@dataclass(frozen=True)
class PackingList:
    reference: str
    status: str
    created_on: datetime.date
    closed_on: datetime.date | None
    merchant_name: str
    merchant_name_ar: str
    merchant_address: tuple[str, ...]
    supplier_name: str
    supplier_code: str
    lines: tuple[PackingLine, ...]

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)


@dataclass(frozen=True)
class BatchSummary:
    id: int
    reference: str
    supplier_code: str
    supplier_name: str
    status: str
    items: int
    units: int
    created_at: datetime.datetime
    closed_at: datetime.datetime | None


def vendor_batches(*, merchant: Merchant, status: str | None = None) -> list[BatchSummary]:
    """The merchant's vendor batches, open ones first, newest first, with their counts."""
    batches = VendorBatch.objects.for_merchant(merchant).select_related("supplier")
    if status:
        batches = batches.filter(status=status)
    rows = batches.annotate(item_count=Count("items"), unit_count=Sum("items__quantity"))
    return [
        BatchSummary(
            id=b.pk,
            reference=batch_reference(b.pk),
            supplier_code=b.supplier.code,
            supplier_name=b.supplier.name,
            status=b.status,
            items=b.item_count,
            units=b.unit_count or 0,
            created_at=b.created_at,
            closed_at=b.closed_at,
        )
        for b in rows.order_by("-status", "-created_at", "-pk")  # "open" after "closed"
    ]


def packing_list(*, merchant: Merchant, batch_id: int) -> PackingList:
    """What the packing list of the merchant's batch shows; another merchant's: NotFound."""
    batch = (
        VendorBatch.objects.for_merchant(merchant)
        .select_related("supplier", "merchant")
        .filter(pk=batch_id)
        .first()
    )
    if batch is None:
        raise NotFound(field="batch", details={"batch": batch_id})
    items = (
        VendorBatchItem.objects.filter(batch=batch)
        .select_related("return_item__order_line__variant", "return_item__return_request")
        .order_by("pk")
    )
    lines = []
    for entry in items:
        item = entry.return_item
        line = item.order_line
        options = (
            " / ".join(str(v) for v in (line.variant.options or {}).values())
            if (line.variant is not None)
            else ""
        )
        lines.append(
            PackingLine(
                sku=line.sku,
                product=f"{line.title_en} ({options})" if options else line.title_en,
                product_ar=line.title_ar,
                quantity=entry.quantity,
                condition=item.condition,
                return_number=item.return_request.number,
                reason=item.reason_code,
            )
        )
    address = merchant_address(batch.merchant)
    return PackingList(
        reference=batch_reference(batch.pk),
        status=batch.status,
        created_on=batch.created_at.date(),
        closed_on=batch.closed_at.date() if batch.closed_at else None,
        merchant_name=batch.merchant.name,
        merchant_name_ar=batch.merchant.name_ar,
        merchant_address=tuple(
            part
            for part in (
                address.line1,
                address.line2,
                ", ".join(p for p in (address.district, address.city, address.postcode) if p),
                address.country,
                address.phone,
            )
            if part
        ),
        supplier_name=batch.supplier.name,
        supplier_code=batch.supplier.code,
        lines=tuple(lines),
    )


def render_packing_list(data: PackingList) -> bytes:
    """The packing list as an A4 PDF, as many pages as its rows need."""
    pdf = new_document(PAGE_W, PAGE_H)
    pdf.set_title(f"Packing list {data.reference}")
    pdf.set_lang("en")
    pages = _paginate(data.lines)
    for number, rows in enumerate(pages, start=1):
        if number > 1:
            pdf.add_page()
        sheet = Sheet(pdf, 0.0, 0.0)
        top = _header(sheet, data) if number == 1 else _MARGIN
        y = _table(sheet, rows, top)
        if number == len(pages):
            _totals(sheet, data, y + 3)
        sheet.text(
            f"{data.reference} · {number}/{len(pages)}",
            _MARGIN,
            PAGE_H - 12,
            _INNER,
            7.5,
            align="C",
        )
    return render(pdf)


_HEADER_H = 78.0  # how far the first page's header reaches


def _paginate(lines: tuple[PackingLine, ...]) -> list[tuple[PackingLine, ...]]:
    row_h = _ROW_SIZE * LINE_MM * 2 + 1.2  # two text lines (English, Arabic) per row
    heading_h = 12.0
    first = int((_ROWS_BOTTOM - _HEADER_H - heading_h - 14) // row_h)
    later = int((_ROWS_BOTTOM - _MARGIN - heading_h - 14) // row_h)
    pages = [lines[:first]]
    rest = lines[first:]
    while rest:
        pages.append(rest[:later])
        rest = rest[later:]
    return pages


def _header(sheet: Sheet, data: PackingList) -> float:
    left, half = _MARGIN, _INNER / 2
    sheet.text("Packing list — return to vendor", left, _MARGIN, half + 20, 15, bold=True)
    sheet.text("قائمة التعبئة — إرجاع إلى المورّد", left + half, _MARGIN + 7.5, half, 12, bold=True)
    # The batch's reference as a barcode at the top right, its text under it.
    draw_code128(sheet, data.reference, left + half + 20, _MARGIN - 1, half - 20, 9)
    sheet.text(data.reference, left + half + 20, _MARGIN + 8.5, half - 20, 9, bold=True, align="C")
    y = _MARGIN + 18.0
    dates = f"Batch {data.reference} · created {data.created_on.isoformat()}"
    if data.closed_on:
        dates += f" · packed {data.closed_on.isoformat()}"
    sheet.text(dates, left, y, _INNER, 9, align="L")
    sheet.line(left, left + _INNER, y + 6, 0.4)
    y += 8.0
    # From the merchant (left) to the supplier (right), each with its Arabic heading.
    sheet.text("From", left, y, half, 7.5, bold=True, align="L")
    sheet.text("To the supplier", left + half, y, half, 7.5, bold=True, align="L")
    y += 4.5
    from_lines = [data.merchant_name, data.merchant_name_ar, *data.merchant_address]
    to_lines = [data.supplier_name, f"Supplier code {data.supplier_code}"]
    height = 0.0
    for i, text in enumerate(line for line in from_lines if line):
        height += sheet.text(text, left, y + height, half - 4, 10 if i == 0 else 9, bold=i == 0)
    other = 0.0
    for i, text in enumerate(to_lines):
        other += sheet.text(text, left + half, y + other, half, 10 if i == 0 else 9, bold=i == 0)
    # The Arabic headings after the blocks, so each reads back as a line of its own.
    sheet.text("من", left, y - 4.8, half - 4, 8, bold=True, align="R")
    sheet.text("إلى المورّد", left + half, y - 4.8, half, 8, bold=True, align="R")
    return max(_HEADER_H, y + max(height, other) + 6)


def _columns() -> list[tuple[str, str, float, float]]:
    """(English, Arabic, x, width) per column."""
    x = _MARGIN
    out = []
    for english, arabic, width in _COLUMNS:
        w = width or _PRODUCT_W
        out.append((english, arabic, x, w))
        x += w
    return out


def _table(sheet: Sheet, rows: tuple[PackingLine, ...], top: float) -> float:
    columns = _columns()
    for english, _arabic, x, w in columns:
        sheet.text(english, x + 1, top, w - 2, 8, bold=True, align="L")
    for _english, arabic, x, w in columns:
        sheet.text(arabic, x + 1, top + 4.2, w - 2, 8, bold=True, align="L")
    y = top + 9.5
    sheet.line(_MARGIN, _MARGIN + _INNER, y, 0.5)
    y += 1.0
    line_h = _ROW_SIZE * LINE_MM
    for row in rows:
        cells = (
            row.sku,
            row.product,
            str(row.quantity),
            row.condition,
            row.return_number,
            row.reason,
        )
        for (_en, _ar, x, w), value in zip(columns, cells, strict=True):
            sheet.text(value, x + 1, y, w - 2, _ROW_SIZE, align="L", min_size=6)
        if row.product_ar:
            product = columns[1]
            sheet.text(row.product_ar, product[2] + 1, y + line_h, product[3] - 2, _ROW_SIZE)
        y += 2 * line_h + 0.6
        sheet.line(_MARGIN, _MARGIN + _INNER, y, 0.1)
        y += 0.6
    return y


def _totals(sheet: Sheet, data: PackingList, y: float) -> None:
    sheet.line(_MARGIN, _MARGIN + _INNER, y, 0.5)
    y += 1.5
    text = f"Total: {len(data.lines)} items, {data.units} units"
    sheet.text(text, _MARGIN, y, _INNER / 2, 10, bold=True, align="L")
    arabic = f"الإجمالي: {len(data.lines)} أصناف، {data.units} قطعة"
    sheet.text(arabic, _MARGIN + _INNER / 2, y + 5, _INNER / 2, 10, bold=True, align="R")
    y += 13
    sheet.text("Packed by / تم التعبئة بواسطة: ____________", _MARGIN, y, _INNER / 2, 9)
    sheet.text("Received by / استلمه: ____________", _MARGIN + _INNER / 2, y, _INNER / 2, 9)
