"""CSV import and export of orders, products and returns, one documented template per kind
(docs/csv.md).

- Orders: one row per order line, the columns of ``orders.importer`` (which parses and
  upserts them); this module adds what a file upload needs around it: the size limit, the
  encoding and delimiter, the formula guard undone, and a report counting every row.
- Products: one row per variant (SKU); rows sharing a ``product_id`` are one product.
- Returns: export only, one row per returned item.

A file that can't be used as a whole (too large, binary, not UTF-8, not CSV, no header of
known columns) raises before anything is written. Otherwise each order or product is written
in its own transaction; one with a bad row is rejected whole and every row of it is reported
(row, column, reason), the others are kept. Re-importing a file changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from awda.catalog.models import Product, Variant
from awda.catalog.services import ProductData, VariantData, upsert_product
from awda.core.errors import DomainError
from awda.core.money import Money
from awda.core.spreadsheet import guard_cell, unguard_cell
from awda.merchants.models import Merchant

# The cells are read as the orders importer reads them (one set of rules for both).
from awda.orders.importer import BadValue as _BadValue
from awda.orders.importer import ImportFileInvalid, import_orders_csv
from awda.orders.importer import normalise_header as _normalise_header
from awda.orders.importer import parse_amount as _amount
from awda.orders.importer import parse_boolean as _boolean
from awda.orders.importer import sniff_delimiter as _delimiter
from awda.orders.models import Order, OrderKind, OrderLine
from awda.returns.models import ReturnItem

# Large enough for ~100,000 order lines; a bigger history goes in several files.
MAX_FILE_BYTES = 20 * 1024 * 1024

ORDER_COLUMNS = (
    "order_number",
    "placed_at",
    "delivered_at",
    "currency",
    "payment_method",
    "customer_email",
    "customer_phone",
    "customer_name",
    "shipping_country",
    "prices_include_tax",
    "line_ref",
    "sku",
    "product_id",
    "title_en",
    "title_ar",
    "quantity",
    "unit_price",
    "discount",
    "tax_rate",
    "category",
    "supplier",
    "tags",
    "final_sale",
)
PRODUCT_COLUMNS = (
    "product_id",
    "sku",
    "title_en",
    "title_ar",
    "options",
    "price",
    "currency",
    "barcode",
    "category",
    "category_name_en",
    "category_name_ar",
    "supplier",
    "supplier_name",
    "tags",
    "final_sale",
    "returnable",
    "image_url",
)
PRODUCT_REQUIRED = ("sku", "title_en", "price")
RETURN_COLUMNS = (
    "return_number",
    "order_number",
    "status",
    "method",
    "requested_at",
    "closed_at",
    "currency",
    "refund_total",
    "store_credit_total",
    "line_ref",
    "sku",
    "title_en",
    "quantity",
    "reason",
    "sub_reason",
    "resolution",
    "item_refund",
    "received_quantity",
    "decision",
    "comment",
)
COLUMNS = {"orders": ORDER_COLUMNS, "products": PRODUCT_COLUMNS, "returns": RETURN_COLUMNS}
IMPORT_KINDS = ("orders", "products")

_EXAMPLES: dict[str, Mapping[str, str]] = {
    "orders": {
        "order_number": "1001",
        "placed_at": "2025-03-01T10:00:00+03:00",
        "delivered_at": "2025-03-04T16:30:00+03:00",
        "currency": "SAR",
        "payment_method": "card",
        "customer_email": "noura@example.com",
        "customer_phone": "+966501234567",
        "customer_name": "نورة القحطاني",
        "shipping_country": "SA",
        "prices_include_tax": "true",
        "line_ref": "1",
        "sku": "ABY-BLK-54",
        "product_id": "ABY-BLK",
        "title_en": "Classic Abaya",
        "title_ar": "عباية كلاسيكية",
        "quantity": "1",
        "unit_price": "249.00",
        "discount": "0.00",
        "tax_rate": "15",
        "category": "abayas",
        "supplier": "riyadh-atelier",
        "tags": "bestseller|new",
        "final_sale": "false",
    },
    "products": {
        "product_id": "ABY-BLK",
        "sku": "ABY-BLK-54",
        "title_en": "Classic Abaya",
        "title_ar": "عباية كلاسيكية",
        "options": "size=54|colour=black",
        "price": "249.00",
        "currency": "SAR",
        "barcode": "6281234567890",
        "category": "abayas",
        "category_name_en": "Abayas",
        "category_name_ar": "عبايات",
        "supplier": "riyadh-atelier",
        "supplier_name": "Riyadh Atelier",
        "tags": "bestseller|new",
        "final_sale": "false",
        "returnable": "true",
        "image_url": "https://shop.example.com/img/aby-blk.jpg",
    },
}

# Arabic-Indic and Extended Arabic-Indic digits, and the Arabic decimal and thousands marks.
_PRODUCT_MAX_LENGTH = {
    "product_id": 80,
    "sku": 80,
    "title_en": 200,
    "title_ar": 200,
    "barcode": 64,
    "category": 60,
    "category_name_en": 120,
    "category_name_ar": 120,
    "supplier": 60,
    "supplier_name": 120,
    "image_url": 200,
}
_PRODUCT_LEVEL = (
    "title_en",
    "title_ar",
    "category",
    "category_name_en",
    "category_name_ar",
    "supplier",
    "supplier_name",
    "tags",
    "final_sale",
    "returnable",
    "image_url",
)
MAX_AMOUNT_MINOR = 10**13


class CsvFileInvalid(DomainError):
    """The file as a whole can't be used; nothing was imported."""

    code = "csv_file_invalid"
    status = 400
    default_message = gettext_lazy("The file could not be read as a CSV file.")


class CsvFileTooLarge(DomainError):
    code = "csv_file_too_large"
    status = 413
    default_message = gettext_lazy("The file is too large.")


@dataclass(frozen=True)
class RowError:
    """A problem with one row: its line in the file (the header is line 1), the column and
    the reason, in the language of the request."""

    row: int
    column: str
    reason: str


@dataclass
class ImportReport:
    """What happened to every row that wasn't blank: each is counted exactly once."""

    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)


# -- reading a file ----------------------------------------------------------------------------


def read_text(stream: IO[bytes] | bytes) -> str:
    """The file's text: at most ``MAX_FILE_BYTES`` of UTF-8, with or without a BOM."""
    raw = stream if isinstance(stream, bytes) else stream.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise CsvFileTooLarge(
            _("The file is larger than %(size)s MB. Split it into smaller files.")
            % {"size": MAX_FILE_BYTES // (1024 * 1024)},
            field="file",
        )
    if not raw.strip():
        raise CsvFileInvalid(_("The file is empty."), field="file")
    if b"\x00" in raw:
        raise CsvFileInvalid(
            _("This is not a text file. Save it as CSV (UTF-8) and try again."), field="file"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvFileInvalid(
            _("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again."), field="file"
        ) from None


def _records(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, cells) of every record, blank ones included, formula guards off."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    records: list[tuple[int, list[str]]] = []
    previous_end = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return records
        except csv.Error as exc:
            raise CsvFileInvalid(
                _("Line %(line)s could not be read as CSV: %(error)s.")
                % {"line": reader.line_num, "error": exc},
                field="file",
            ) from None
        records.append((previous_end + 1, [unguard_cell(c) for c in cells]))
        previous_end = reader.line_num


def _is_blank(cells: Sequence[str]) -> bool:
    return not any(c.strip() for c in cells)


# -- cells -------------------------------------------------------------------------------------


def _options(raw: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for part in raw.split("|"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise _BadValue(_("use name=value pairs separated by |, such as size=M|colour=black"))
        options[key.strip()] = value.strip()
    return options


def _url(raw: str) -> str:
    try:
        URLValidator(schemes=["http", "https"])(raw)
    except ValidationError:
        raise _BadValue(_("not a valid web address")) from None
    return raw


# -- orders ------------------------------------------------------------------------------------


def import_orders(merchant: Merchant, stream: IO[bytes] | bytes) -> ImportReport:
    """Create or update the orders of a CSV file (one row per order line)."""
    records = _records(read_text(stream))
    header_at = next((i for i, (_line, cells) in enumerate(records) if not _is_blank(cells)), None)
    if header_at is None:
        raise CsvFileInvalid(_("The file is empty."), field="file")
    header = [_normalise_header(c) for c in records[header_at][1]]
    column = header.index("order_number") if "order_number" in header else None
    rows_of: dict[str, list[int]] = {}
    loose: list[int] = []  # rows without an order number
    for line, cells in records[header_at + 1 :]:
        if _is_blank(cells):
            continue
        number = cells[column].strip() if column is not None and column < len(cells) else ""
        if number:
            rows_of.setdefault(number, []).append(line)
        else:
            loose.append(line)

    before = _order_fingerprints(merchant, list(rows_of))
    try:
        result = import_orders_csv(merchant=merchant, path_or_file=io.StringIO(_layout(records)))
    except ImportFileInvalid as exc:
        raise CsvFileInvalid(exc.message, field=exc.field or "file", details=exc.details) from None
    after = _order_fingerprints(merchant, list(rows_of))

    report = ImportReport(kind="orders", rows=sum(map(len, rows_of.values())) + len(loose))
    report.errors = [RowError(e.line, e.field, e.reason) for e in result.errors]
    bad_lines = {e.row for e in report.errors}
    report.rejected += len(loose)
    for number, lines in rows_of.items():
        problem = next((line for line in lines if line in bad_lines), None)
        if problem is not None or number not in after:
            report.rejected += len(lines)
            for line in lines:
                if line not in bad_lines:
                    # Never a silent drop: the good rows of a rejected order say why.
                    report.errors.append(
                        RowError(
                            line,
                            "order_number",
                            _("not imported: line %(line)s of the same order has a problem")
                            % {"line": problem}
                            if problem is not None
                            else _("not imported"),
                        )
                    )
        elif number not in before:
            report.created += len(lines)
        elif before[number] == after[number]:
            report.unchanged += len(lines)
        else:
            report.updated += len(lines)
    report.errors.sort(key=lambda e: (e.row, e.column))
    return report


def _layout(records: Sequence[tuple[int, list[str]]]) -> str:
    """The records as a comma-separated text whose records start on the same lines as in
    the original file, so the orders importer's line numbers are the file's."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    line = 1
    for start, cells in records:
        out.write("\n" * (start - line))
        writer.writerow(cells)
        line = start + 1 + sum(c.count("\n") + c.count("\r") - c.count("\r\n") for c in cells)
    return out.getvalue()


def _order_fingerprints(merchant: Merchant, numbers: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """What an import can change of each existing order (to tell updated from unchanged)."""
    found: dict[str, tuple[Any, ...]] = {}
    order_fields = (
        "number",
        "currency",
        "payment_method",
        "prices_include_tax",
        "placed_at",
        "delivered_at",
        "subtotal_minor",
        "discount_minor",
        "tax_minor",
        "total_minor",
        "shipping_country",
        "customer_id",
        "customer__email",
        "customer__phone",
        "customer__name",
    )
    line_fields = (
        "order__number",
        "line_ref",
        "sku",
        "variant_id",
        "title_en",
        "title_ar",
        "quantity",
        "delivered_quantity",
        "unit_price_minor",
        "discount_minor",
        "tax_minor",
        "tax_rate",
        "paid_minor",
    )
    for i in range(0, len(numbers), 500):
        chunk = numbers[i : i + 500]
        lines: dict[str, list[tuple[Any, ...]]] = {}
        for row in (
            OrderLine.objects.for_merchant(merchant)
            .filter(order__number__in=chunk)
            .order_by("order_id", "line_ref")
            .values_list(*line_fields)
        ):
            lines.setdefault(row[0], []).append(row[1:])
        for row in (
            Order.objects.for_merchant(merchant).filter(number__in=chunk).values_list(*order_fields)
        ):
            found[row[0]] = (row[1:], tuple(lines.get(row[0], ())))
    return found


# -- products ----------------------------------------------------------------------------------


@dataclass
class _ProductRows:
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def import_products(merchant: Merchant, stream: IO[bytes] | bytes) -> ImportReport:
    """Create or update products and their variants from a CSV file (one row per SKU)."""
    records = _records(read_text(stream))
    body = [(line, cells) for line, cells in records if not _is_blank(cells)]
    if not body:
        raise CsvFileInvalid(_("The file is empty."), field="file")
    header = _product_header(body[0][0], body[0][1])

    report = ImportReport(kind="products", rows=len(body) - 1)
    groups: dict[str, _ProductRows] = {}
    for line, cells in body[1:]:
        row = {h: c.strip() for h, c in zip(header, cells, strict=False) if h in PRODUCT_COLUMNS}
        if len(cells) > len(header) and not _is_blank(cells[len(header) :]):
            report.errors.append(
                RowError(
                    line,
                    "row",
                    _("has %(cells)s cells but the header has %(columns)s")
                    % {"cells": len(cells), "columns": len(header)},
                )
            )
        key = row.get("product_id") or row.get("sku", "")
        if not key:
            report.errors.append(RowError(line, "sku", _("required")))
            report.rejected += 1
            continue
        groups.setdefault(key, _ProductRows()).rows.append((line, row))

    seen_skus: dict[str, int] = {}
    for external_id, group in groups.items():
        data = _product_data(merchant, external_id, group, seen_skus, report.errors)
        lines = [line for line, _row in group.rows]
        bad = {e.row for e in report.errors}
        if data is None or any(line in bad for line in lines):
            report.rejected += len(lines)
            _explain_siblings(report, lines)
            continue
        try:
            outcome = _write_product(merchant, data)
        except (DomainError, IntegrityError) as exc:
            message = (
                exc.message
                if isinstance(exc, DomainError)
                else _("conflicts with data already saved")
            )
            report.errors.append(RowError(lines[0], "product_id", str(message)))
            report.rejected += len(lines)
            _explain_siblings(report, lines)
            continue
        setattr(report, outcome, getattr(report, outcome) + len(lines))
    report.errors.sort(key=lambda e: (e.row, e.column))
    return report


def _explain_siblings(report: ImportReport, lines: Sequence[int]) -> None:
    bad = {e.row for e in report.errors if e.row in lines}
    first = min(bad) if bad else lines[0]
    for line in lines:
        if line not in bad:
            report.errors.append(
                RowError(
                    line,
                    "product_id",
                    _("not imported: line %(line)s of the same product has a problem")
                    % {"line": first},
                )
            )


def _product_header(line: int, cells: Sequence[str]) -> list[str]:
    header = [_normalise_header(c) for c in cells]
    known = [h for h in header if h in PRODUCT_COLUMNS]
    if not known:
        raise CsvFileInvalid(
            _(
                "Line %(line)s is not a header row of known columns. The first row must name "
                "the columns, such as: %(columns)s."
            )
            % {"line": line, "columns": ", ".join(PRODUCT_REQUIRED)},
            field="columns",
        )
    duplicates = sorted({h for h in known if known.count(h) > 1})
    if duplicates:
        raise CsvFileInvalid(
            _("These columns appear more than once: %(columns)s.")
            % {"columns": ", ".join(duplicates)},
            field="columns",
        )
    missing = [c for c in PRODUCT_REQUIRED if c not in header]
    if missing:
        raise CsvFileInvalid(
            _("Missing required columns: %(columns)s.") % {"columns": ", ".join(missing)},
            field="columns",
            details={"missing": missing},
        )
    return header


def _product_data(
    merchant: Merchant,
    external_id: str,
    group: _ProductRows,
    seen_skus: dict[str, int],
    errors: list[RowError],
) -> ProductData | None:
    """The product of a group of rows, or None when any cell is bad (each one reported)."""
    count = len(errors)

    def cell(line: int, row: Mapping[str, str], column: str) -> str:
        value = row.get(column, "")
        limit = _PRODUCT_MAX_LENGTH.get(column)
        if limit is not None and len(value) > limit:
            errors.append(
                RowError(line, column, _("is longer than %(max)s characters") % {"max": limit})
            )
            return ""
        return value

    def parsed(line: int, column: str, parse: Any, raw: str) -> Any:
        try:
            return parse(raw)
        except _BadValue as exc:
            errors.append(RowError(line, column, str(exc)))
            return None

    product: dict[str, Any] = {}
    source: dict[str, int] = {}
    variants: list[VariantData] = []
    if len(external_id) > _PRODUCT_MAX_LENGTH["product_id"]:
        first = group.rows[0][0]
        errors.append(
            RowError(
                first,
                "product_id",
                _("is longer than %(max)s characters") % {"max": _PRODUCT_MAX_LENGTH["product_id"]},
            )
        )
    for line, row in group.rows:
        for column in _PRODUCT_LEVEL:
            raw = cell(line, row, column)
            if not raw:
                continue
            if column in ("final_sale", "returnable"):
                value: Any = parsed(line, column, _boolean, raw)
            elif column == "tags":
                value = tuple(sorted({t.strip() for t in raw.split("|") if t.strip()}))
            elif column == "image_url":
                value = parsed(line, column, _url, raw)
            else:
                value = raw
            if value is None:
                continue
            if column not in product:
                product[column], source[column] = value, line
            elif product[column] != value:
                errors.append(
                    RowError(
                        line,
                        column,
                        _("differs from line %(line)s of the same product")
                        % {"line": source[column]},
                    )
                )
        sku = cell(line, row, "sku")
        if not sku:
            if not any(e.row == line and e.column == "sku" for e in errors):
                errors.append(RowError(line, "sku", _("required")))
        elif sku in seen_skus:
            errors.append(
                RowError(
                    line,
                    "sku",
                    _("appears twice in this file (also line %(line)s)") % {"line": seen_skus[sku]},
                )
            )
        else:
            seen_skus[sku] = line
        currency = row.get("currency", "").strip().upper()
        if currency and currency != merchant.currency:
            errors.append(
                RowError(
                    line,
                    "currency",
                    _("must be the store's currency (%(currency)s)")
                    % {"currency": merchant.currency},
                )
            )
        price = None
        if row.get("price"):
            price = parsed(line, "price", lambda v: _amount(v, merchant.currency), row["price"])
        elif not any(e.row == line and e.column == "price" for e in errors):
            errors.append(RowError(line, "price", _("required")))
        options = parsed(line, "options", _options, row.get("options", "")) or {}
        barcode = cell(line, row, "barcode")
        if sku and price is not None:
            variants.append(
                VariantData(sku=sku, price_minor=price, options=options, barcode=barcode)
            )
    if "title_en" not in product and not any(e.column == "title_en" for e in errors[count:]):
        errors.append(RowError(group.rows[0][0], "title_en", _("required")))
    if len(errors) > count:
        return None
    return ProductData(
        external_id=external_id,
        title_en=product["title_en"],
        title_ar=product.get("title_ar", ""),
        category_code=product.get("category"),
        category_name_en=product.get("category_name_en"),
        category_name_ar=product.get("category_name_ar"),
        supplier_code=product.get("supplier"),
        supplier_name=product.get("supplier_name"),
        tags=list(product.get("tags", ())),
        final_sale=product.get("final_sale", False),
        returnable=product.get("returnable", True),
        image_url=product.get("image_url", ""),
        variants=variants,
    )


def _write_product(merchant: Merchant, data: ProductData) -> str:
    """``created``, ``updated`` or ``unchanged`` (then nothing is written)."""
    with transaction.atomic():
        existing = (
            Product.objects.for_merchant(merchant)
            .select_for_update()
            .filter(external_id=data.external_id)
            .first()
        )
        if existing is not None and _same_product(existing, data, merchant.currency):
            return "unchanged"
        upsert_product(merchant=merchant, data=data)
        return "created" if existing is None else "updated"


def _same_product(product: Product, data: ProductData, currency: str) -> bool:
    if (
        product.title_en != data.title_en
        or product.title_ar != data.title_ar
        or (product.category.code if product.category else None) != data.category_code
        or (product.supplier.code if product.supplier else None) != data.supplier_code
        or sorted(product.tags) != sorted(set(data.tags))
        or product.final_sale != data.final_sale
        or product.returnable != data.returnable
        or product.image_url != data.image_url
    ):
        return False
    current = {
        v.sku: (v.product_id, v.price_minor, v.options, v.barcode, v.currency)
        for v in Variant.objects.filter(
            merchant_id=product.merchant_id, sku__in=[v.sku for v in data.variants]
        )
    }
    return all(
        current.get(v.sku) == (product.pk, v.price_minor, dict(v.options), v.barcode, currency)
        for v in data.variants
    )


# -- export ------------------------------------------------------------------------------------


def _row(values: Iterable[Any]) -> list[str]:
    return [guard_cell("" if v is None else str(v)) for v in values]


def _money(minor: int, currency: str) -> str:
    return f"{Money(minor, currency).to_decimal():f}"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _zone(merchant: Merchant) -> ZoneInfo:
    try:
        return ZoneInfo(merchant.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _moment(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).isoformat() if value is not None else ""


def _between(tz: ZoneInfo, start: date | None, end: date | None) -> dict[str, datetime]:
    """Bounds for a moment field, the days taken in the merchant's time zone, both included."""
    bounds: dict[str, datetime] = {}
    if start is not None:
        bounds["gte"] = datetime.combine(start, time.min, tzinfo=tz)
    if end is not None:
        bounds["lt"] = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    return bounds


def template_rows(kind: str) -> list[list[str]]:
    """The import template of ``kind``: its header and one example row."""
    columns = COLUMNS[kind]
    example = _EXAMPLES[kind]
    return [list(columns), _row(example.get(c, "") for c in columns)]


def export_orders(
    merchant: Merchant, *, start: date | None = None, end: date | None = None
) -> Iterator[list[str]]:
    """The header, then one row per order line of the merchant's orders placed from
    ``start`` to ``end`` (days in the store's time zone), in the import's template."""
    tz = _zone(merchant)
    bounds = _between(tz, start, end)
    lines = (
        OrderLine.objects.for_merchant(merchant)
        .filter(order__kind=OrderKind.SALE)
        .filter(**{f"order__placed_at__{op}": at for op, at in bounds.items()})
        .select_related(
            "order", "order__customer", "product", "product__category", "product__supplier"
        )
        .order_by("order__placed_at", "order_id", "pk")
    )
    yield list(ORDER_COLUMNS)
    for line in lines.iterator(chunk_size=2000):
        order, customer, product = line.order, line.order.customer, line.product
        yield _row(
            (
                order.number,
                _moment(order.placed_at, tz),
                _moment(order.delivered_at, tz),
                order.currency,
                order.payment_method,
                customer.email,
                customer.phone,
                customer.name,
                order.shipping_country,
                _flag(order.prices_include_tax),
                line.line_ref,
                line.sku,
                product.external_id if product else "",
                line.title_en,
                line.title_ar,
                line.quantity,
                _money(line.unit_price_minor, order.currency),
                _money(line.discount_minor, order.currency),
                f"{Decimal(line.tax_rate).normalize():f}",
                product.category.code if product and product.category else "",
                product.supplier.code if product and product.supplier else "",
                "|".join(product.tags) if product else "",
                _flag(product.final_sale) if product else "",
            )
        )


def export_products(merchant: Merchant) -> Iterator[list[str]]:
    """The header, then one row per variant of the merchant's products."""
    variants = (
        Variant.objects.for_merchant(merchant)
        .select_related("product", "product__category", "product__supplier")
        .order_by("product_id", "pk")
    )
    yield list(PRODUCT_COLUMNS)
    for v in variants.iterator(chunk_size=2000):
        p = v.product
        yield _row(
            (
                p.external_id,
                v.sku,
                p.title_en,
                p.title_ar,
                "|".join(f"{k}={value}" for k, value in (v.options or {}).items()),
                _money(v.price_minor, v.currency),
                v.currency,
                v.barcode,
                p.category.code if p.category else "",
                p.category.name_en if p.category else "",
                p.category.name_ar if p.category else "",
                p.supplier.code if p.supplier else "",
                p.supplier.name if p.supplier else "",
                "|".join(p.tags),
                _flag(p.final_sale),
                _flag(p.returnable),
                p.image_url,
            )
        )


def export_returns(
    merchant: Merchant, *, start: date | None = None, end: date | None = None
) -> Iterator[list[str]]:
    """The header, then one row per returned item of the returns requested from ``start`` to
    ``end`` (days in the store's time zone)."""
    tz = _zone(merchant)
    bounds = _between(tz, start, end)
    items = (
        ReturnItem.objects.for_merchant(merchant)
        .filter(**{f"return_request__requested_at__{op}": at for op, at in bounds.items()})
        .select_related("return_request", "return_request__order", "order_line")
        .order_by("return_request__requested_at", "return_request_id", "pk")
    )
    yield list(RETURN_COLUMNS)
    for item in items.iterator(chunk_size=2000):
        ret, line = item.return_request, item.order_line
        yield _row(
            (
                ret.number,
                ret.order.number,
                ret.status,
                ret.method,
                _moment(ret.requested_at, tz),
                _moment(ret.closed_at, tz),
                ret.currency,
                _money(ret.refund_total_minor, ret.currency),
                _money(ret.store_credit_total_minor, ret.currency),
                line.line_ref,
                line.sku,
                line.title_en,
                item.quantity,
                item.reason_code,
                item.sub_reason_code,
                item.resolution,
                _money(item.refund_minor, ret.currency),
                item.received_quantity,
                item.decision,
                item.comment,
            )
        )


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Sequence[str]]) -> Iterator[str]:
    """``rows`` as CSV text, line by line, after a BOM so spreadsheets read Arabic right."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for row in rows:
        yield writer.writerow(row)
