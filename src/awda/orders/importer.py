"""Importing orders from a CSV file with one row per order line.

Header names are matched case-insensitively (spaces and dashes count as underscores).

- Required columns: ``order_number``, ``placed_at``, ``currency``, ``title_en``,
  ``quantity``, ``unit_price``, and ``customer_email`` or ``customer_phone`` (one of them).
- Optional columns: ``delivered_at``, ``payment_method`` (default ``card``),
  ``customer_name``, ``line_ref`` (default: the row's position within its order), ``sku``,
  ``product_id`` (groups a product's variants; default: the SKU), ``title_ar``,
  ``discount``, ``tax_rate``, ``prices_include_tax`` (default true), ``shipping_country``,
  ``category``, ``supplier``, ``tags`` (``a|b``), ``final_sale``. Unknown columns are ignored.

Amounts are in major units (``149.00``). Dates are ISO 8601 (``2025-03-01`` or
``2025-03-01 14:30``); without an offset they are read in the merchant's time zone.
Arabic-Indic digits and Arabic decimal separators are accepted wherever numbers are.

An order's rows needn't be next to each other. Order-level cells (dates, currency, customer…)
may be left empty on an order's later rows, as store exports do; where filled they must agree.
An order with any bad row is skipped whole and each bad row is reported by its line in the
file, with the column and the reason; every other order is imported in its own transaction.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from tqdm import tqdm

from awda.core import clock
from awda.core.errors import DomainError, InvalidInput
from awda.core.money import Money, exponent
from awda.merchants.models import Merchant
from awda.orders.models import PaymentMethod
from awda.orders.rules import normalise_email, normalise_phone
from awda.orders.services import (
    CustomerData,
    LineData,
    LineProductData,
    OrderData,
    upsert_order,
)

T = TypeVar("T")

REQUIRED_COLUMNS = ("order_number", "placed_at", "currency", "title_en", "quantity", "unit_price")
CUSTOMER_COLUMNS = ("customer_email", "customer_phone")
OPTIONAL_COLUMNS = (
    "delivered_at",
    "payment_method",
    "customer_name",
    "line_ref",
    "sku",
    "product_id",
    "title_ar",
    "discount",
    "tax_rate",
    "prices_include_tax",
    "shipping_country",
    "category",
    "supplier",
    "tags",
    "final_sale",
)
KNOWN_COLUMNS = frozenset(REQUIRED_COLUMNS + CUSTOMER_COLUMNS + OPTIONAL_COLUMNS)

# The database's column sizes: longer text would fail on PostgreSQL, so it is a row error.
MAX_LENGTH = {
    "order_number": 40,
    "line_ref": 80,
    "sku": 80,
    "product_id": 80,
    "title_en": 200,
    "title_ar": 200,
    "customer_name": 160,
    "customer_email": 254,
    "category": 60,
    "supplier": 60,
}
MAX_QUANTITY = 1_000_000
MAX_AMOUNT_MINOR = 10**13

# Arabic-Indic and Extended Arabic-Indic digits, and the Arabic decimal and thousands marks.
_ARABIC_NUMERALS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫٬", "01234567890123456789.,")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_GROUPED_NUMBER = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")
_SLASH_DATE = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_TRUE = frozenset({"true", "yes", "y", "1", "نعم", "صح"})
_FALSE = frozenset({"false", "no", "n", "0", "لا", "خطأ"})
_PAYMENT_ALIASES = {
    "cod": PaymentMethod.CASH_ON_DELIVERY,
    "cash": PaymentMethod.CASH_ON_DELIVERY,
    "credit_card": PaymentMethod.CARD,
    "debit_card": PaymentMethod.CARD,
    "mada": PaymentMethod.CARD,
    "apple_pay": PaymentMethod.WALLET,
    "stc_pay": PaymentMethod.WALLET,
    "bank": PaymentMethod.BANK_TRANSFER,
}
# Where validate_order's field names point in the file.
_COLUMN_FOR_FIELD = {
    "line_ref": "line_ref",
    "quantity": "quantity",
    "unit_price_minor": "unit_price",
    "discount_minor": "discount",
    "customer": "customer_email",
    "lines": "order_number",
}


@dataclass(frozen=True)
class RowError:
    """A problem with one row: its line in the file, the column and the reason."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return _("line %(line)s: %(field)s: %(reason)s") % {
            "line": self.line,
            "field": self.field,
            "reason": self.reason,
        }


@dataclass
class ImportReport:
    orders_created: int = 0
    orders_updated: int = 0
    rows_read: int = 0
    errors: list[RowError] = field(default_factory=list)
    orders_skipped: int = 0

    @property
    def orders_imported(self) -> int:
        return self.orders_created + self.orders_updated


class ImportFileInvalid(InvalidInput):
    """The file as a whole can't be read as a CSV of orders (nothing was imported)."""

    code = "import_file_invalid"
    default_message = gettext_lazy("The file could not be read as a CSV file of orders.")


class BadValue(ValueError):
    """A cell that can't be read; the message is the translated reason."""


@dataclass(frozen=True)
class _Row:
    line: int
    cells: Mapping[str, str]

    def get(self, column: str) -> str:
        return self.cells.get(column, "").strip()


# -- reading the file -------------------------------------------------------------------------


def _read_text(path_or_file: str | os.PathLike[str] | IO[str] | IO[bytes]) -> str:
    if isinstance(path_or_file, str | os.PathLike):
        path = Path(path_or_file)
        try:
            raw: str | bytes = path.read_bytes()
        except FileNotFoundError:
            raise ImportFileInvalid(_("There is no file at %(path)s.") % {"path": path}) from None
        except OSError as exc:
            raise ImportFileInvalid(
                _("The file could not be opened: %(error)s.") % {"error": exc.strerror or exc}
            ) from None
    else:
        raw = path_or_file.read()
    if isinstance(raw, str):
        return raw.removeprefix("\ufeff")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export.
        try:
            return raw.decode("utf-16").removeprefix("\ufeff")
        except UnicodeDecodeError:
            pass
    if b"\x00" in raw[:8192]:
        raise ImportFileInvalid(
            _("This is not a text file. Export the orders as CSV (UTF-8) and try again.")
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileInvalid(
            _("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")
        ) from None


def sniff_delimiter(text: str) -> str:
    # Spreadsheets in locales with a decimal comma write semicolons; some tools write tabs.
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def normalise_header(cell: str) -> str:
    return re.sub(r"[\s\-]+", "_", cell.strip().removeprefix("\ufeff").lower())


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) of each non-blank record."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    previous_end = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileInvalid(
                _("Line %(line)s could not be read as CSV: %(error)s.")
                % {"line": reader.line_num, "error": exc}
            ) from None
        start, previous_end = previous_end + 1, reader.line_num
        if any(cell.strip() for cell in cells):
            yield start, cells


def _header(line: int, cells: Sequence[str]) -> list[str]:
    header = [normalise_header(c) for c in cells]
    known = [h for h in header if h in KNOWN_COLUMNS]
    if not known:
        raise ImportFileInvalid(
            _(
                "Line %(line)s is not a header row of known columns. The first row must name "
                "the columns, such as: %(columns)s."
            )
            % {"line": line, "columns": ", ".join((*REQUIRED_COLUMNS, CUSTOMER_COLUMNS[0]))},
            field="columns",
        )
    duplicates = sorted({h for h in known if known.count(h) > 1})
    if duplicates:
        raise ImportFileInvalid(
            _("These columns appear more than once: %(columns)s.")
            % {"columns": ", ".join(duplicates)},
            field="columns",
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if not any(c in header for c in CUSTOMER_COLUMNS):
        missing.append(_("customer_email or customer_phone"))
    if missing:
        raise ImportFileInvalid(
            _("Missing required columns: %(columns)s.") % {"columns": ", ".join(missing)},
            field="columns",
            details={"missing": missing},
        )
    return header


# -- cells ------------------------------------------------------------------------------------


def _text(value: str, column: str) -> str:
    limit = MAX_LENGTH.get(column)
    if limit is not None and len(value) > limit:
        raise BadValue(_("is longer than %(max)s characters") % {"max": limit})
    return value


def parse_decimal(raw: str) -> Decimal:
    text = raw.strip().translate(_ARABIC_NUMERALS).replace(" ", "").replace("\u00a0", "")
    if _GROUPED_NUMBER.fullmatch(text):
        text = text.replace(",", "")
    if not _NUMBER.fullmatch(text):
        raise BadValue(_("not a number"))
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise BadValue(_("not a number")) from None


def _quantity(raw: str) -> int:
    try:
        value = parse_decimal(raw)
    except BadValue:
        raise BadValue(_("must be a whole number")) from None
    if value != value.to_integral_value():
        raise BadValue(_("must be a whole number"))
    if value < 1:
        raise BadValue(_("must be at least 1"))
    if value > MAX_QUANTITY:
        raise BadValue(_("must be at most %(max)s") % {"max": MAX_QUANTITY})
    return int(value)


def parse_amount(raw: str, currency: str) -> int:
    value = parse_decimal(raw)
    if value < 0:
        raise BadValue(_("can't be negative"))
    digits = exponent(currency)
    if value != value.quantize(Decimal(1).scaleb(-digits)):
        raise BadValue(
            _("has more decimals than %(currency)s allows (%(digits)s)")
            % {"currency": currency, "digits": digits}
        )
    minor = Money.from_decimal(value, currency).minor
    if minor > MAX_AMOUNT_MINOR:
        raise BadValue(_("is too large"))
    return minor


def _tax_rate(raw: str) -> Decimal:
    value = parse_decimal(raw.strip().removesuffix("%"))
    if not 0 <= value <= 100:
        raise BadValue(_("must be a percentage between 0 and 100"))
    if value != value.quantize(Decimal("0.001")):
        raise BadValue(_("may have at most 3 decimals"))
    return value


def parse_boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadValue(_("use true or false"))


def _currency(raw: str) -> str:
    code = raw.strip().upper()
    try:
        exponent(code)
    except ValueError:
        raise BadValue(_("unknown currency “%(code)s”") % {"code": raw.strip()}) from None
    return code


def _payment_method(raw: str) -> str:
    key = re.sub(r"[\s\-]+", "_", raw.strip().lower())
    key = _PAYMENT_ALIASES.get(key, key)
    if key not in PaymentMethod.values:
        raise BadValue(
            _("unknown payment method “%(method)s”; use %(known)s")
            % {"method": raw.strip(), "known": ", ".join(PaymentMethod.values)}
        )
    return str(key)


def _email(raw: str) -> str:
    email = normalise_email(raw)
    try:
        validate_email(email)
    except ValidationError:
        raise BadValue(_("not a valid email address")) from None
    return _text(email, "customer_email")


def _phone(raw: str) -> str:
    phone = normalise_phone(raw)
    if not 6 <= len(phone.lstrip("+")) <= 15:
        raise BadValue(_("not a valid phone number"))
    return phone


def _country(raw: str) -> str:
    if not _COUNTRY.fullmatch(raw.strip()):
        raise BadValue(_("use a two-letter country code such as SA"))
    return raw.strip().upper()


def _datetime_parser(tz: ZoneInfo) -> Callable[[str], datetime]:
    def parse(raw: str) -> datetime:
        text = raw.strip().translate(_ARABIC_NUMERALS)
        text = _SLASH_DATE.sub(lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", text)
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise BadValue(_("not a date; use YYYY-MM-DD or YYYY-MM-DD HH:MM")) from None
        if value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        if value > clock.now() + timedelta(days=1):
            raise BadValue(_("is in the future"))
        return value

    return parse


# -- building orders --------------------------------------------------------------------------


class _OrderBuilder:
    """Turns the rows of one order into OrderData, collecting every row's problems."""

    def __init__(self, number: str, rows: Sequence[_Row], tz: ZoneInfo) -> None:
        self.number = number
        self.rows = rows
        self.errors: list[RowError] = []
        self.source: dict[str, int] = {}  # order-level column -> line its value came from
        self.parse_datetime = _datetime_parser(tz)

    def _error(self, line: int, column: str, reason: str) -> None:
        self.errors.append(RowError(line, column, reason))

    def _cell(self, row: _Row, column: str, parse: Callable[[str], T]) -> T | None:
        raw = row.get(column)
        if not raw:
            return None
        try:
            return parse(raw)
        except BadValue as exc:
            self._error(row.line, column, str(exc))
            return None

    def _order_value(
        self, column: str, parse: Callable[[str], T], *, required: bool = False
    ) -> T | None:
        """The one value of an order-level column; later rows may leave it empty."""
        value: T | None = None
        for row in self.rows:
            parsed = self._cell(row, column, parse)
            if parsed is None:
                continue
            if value is None:
                value, self.source[column] = parsed, row.line
            elif parsed != value:
                self._error(
                    row.line,
                    column,
                    _("differs from line %(line)s of the same order")
                    % {"line": self.source[column]},
                )
        if value is None and required and not any(e.field == column for e in self.errors):
            self._error(self.rows[0].line, column, _("required"))
        return value

    def build(self) -> tuple[OrderData | None, list[int]]:
        """The order, or None when any row is bad; plus the line of each order line."""
        placed_at = self._order_value("placed_at", self.parse_datetime, required=True)
        delivered_at = self._order_value("delivered_at", self.parse_datetime)
        currency = self._order_value("currency", _currency, required=True)
        method = self._order_value("payment_method", _payment_method)
        email = self._order_value("customer_email", _email)
        phone = self._order_value("customer_phone", _phone)
        name = self._order_value("customer_name", lambda v: _text(v, "customer_name"))
        include_tax = self._order_value("prices_include_tax", parse_boolean)
        country = self._order_value("shipping_country", _country)
        first_line = self.rows[0].line
        if not email and not phone and not self._has_error("customer_email", "customer_phone"):
            self._error(first_line, "customer_email", _("an email or a phone number is required"))
        if placed_at and delivered_at and delivered_at < placed_at:
            self._error(
                self.source["delivered_at"], "delivered_at", _("is before the order was placed")
            )

        lines: list[LineData] = []
        line_numbers: list[int] = []
        seen_refs: dict[str, int] = {}
        for position, row in enumerate(self.rows, start=1):
            line = self._line(row, position, currency, seen_refs)
            if line is not None:
                lines.append(line)
                line_numbers.append(row.line)

        if self.errors or placed_at is None or currency is None:
            return None, line_numbers
        data = OrderData(
            number=self.number,
            currency=currency,
            placed_at=placed_at,
            delivered_at=delivered_at,
            customer=CustomerData(email=email or "", phone=phone or "", name=name or ""),
            lines=lines,
            payment_method=method or PaymentMethod.CARD,
            prices_include_tax=True if include_tax is None else include_tax,
            shipping_country=country or "",
        )
        return data, line_numbers

    def _has_error(self, *columns: str) -> bool:
        return any(e.field in columns for e in self.errors)

    def _line(
        self, row: _Row, position: int, currency: str | None, seen_refs: dict[str, int]
    ) -> LineData | None:
        errors_before = len(self.errors)
        line_ref = self._cell(row, "line_ref", lambda v: _text(v, "line_ref")) or str(position)
        if line_ref in seen_refs:
            self._error(
                row.line,
                "line_ref",
                _("appears twice in this order (also line %(line)s)")
                % {"line": seen_refs[line_ref]},
            )
        seen_refs.setdefault(line_ref, row.line)
        sku = self._cell(row, "sku", lambda v: _text(v, "sku")) or ""
        product_id = self._cell(row, "product_id", lambda v: _text(v, "product_id"))
        title_en = self._cell(row, "title_en", lambda v: _text(v, "title_en"))
        title_ar = self._cell(row, "title_ar", lambda v: _text(v, "title_ar")) or ""
        if not title_en and not self._row_has_error(row, "title_en"):
            self._error(row.line, "title_en", _("required"))
        quantity = self._cell(row, "quantity", _quantity)
        if quantity is None and not self._row_has_error(row, "quantity"):
            self._error(row.line, "quantity", _("required"))
        tax_rate = self._cell(row, "tax_rate", _tax_rate)
        category = self._cell(row, "category", lambda v: _text(v, "category"))
        supplier = self._cell(row, "supplier", lambda v: _text(v, "supplier"))
        tags = [t.strip() for t in row.get("tags").split("|") if t.strip()]
        final_sale = self._cell(row, "final_sale", parse_boolean)

        unit_price: int | None = None
        discount = 0
        if currency is not None:
            unit_price = self._cell(row, "unit_price", lambda v: parse_amount(v, currency))
            if unit_price is None and not self._row_has_error(row, "unit_price"):
                self._error(row.line, "unit_price", _("required"))
            discount = self._cell(row, "discount", lambda v: parse_amount(v, currency)) or 0
            if unit_price is not None and quantity is not None and discount > unit_price * quantity:
                self._error(row.line, "discount", _("is more than the line's amount"))
        else:
            # Without a currency the amounts can't be converted; still check they are numbers.
            self._cell(row, "unit_price", parse_decimal)
            self._cell(row, "discount", parse_decimal)
        if len(self.errors) > errors_before or title_en is None or quantity is None:
            return None
        if unit_price is None:
            return None
        return LineData(
            line_ref=line_ref,
            sku=sku,
            title_en=title_en,
            title_ar=title_ar,
            quantity=quantity,
            unit_price_minor=unit_price,
            discount_minor=discount,
            tax_rate=tax_rate if tax_rate is not None else Decimal(0),
            product=(
                LineProductData(
                    external_id=product_id or sku,
                    category=category,
                    supplier=supplier,
                    tags=tags,
                    final_sale=bool(final_sale),
                )
                if sku
                else None
            ),
        )

    def _row_has_error(self, row: _Row, column: str) -> bool:
        return any(e.line == row.line and e.field == column for e in self.errors)

    def locate(self, error: DomainError, line_numbers: Sequence[int]) -> RowError:
        """Where in the file a service's error about this order points."""
        name = error.field or "order_number"
        match = re.fullmatch(r"lines\.(\d+)\.(\w+)", name)
        if match and int(match[1]) < len(line_numbers):
            line = line_numbers[int(match[1])]
            column = _COLUMN_FOR_FIELD.get(match[2], match[2])
        else:
            column = _COLUMN_FOR_FIELD.get(name, name)
            line = self.source.get(column, self.rows[0].line)
        return RowError(line, column, str(error.message))


# -- the use case -----------------------------------------------------------------------------


def _time_zone(merchant: Merchant) -> ZoneInfo:
    try:
        return ZoneInfo(merchant.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def import_orders_csv(
    *,
    merchant: Merchant,
    path_or_file: str | os.PathLike[str] | IO[str] | IO[bytes],
    progress: bool = False,
) -> ImportReport:
    """Import a CSV of order lines (a path, or a file opened in text or binary mode).

    Orders with a bad row are skipped and each bad row is reported by line; the others are
    created or updated, each in its own transaction.

    Raises ``ImportFileInvalid`` when the file as a whole can't be used (not text, no header,
    missing columns); nothing is imported then.
    """
    text = _read_text(path_or_file)
    records = _records(text)
    first = next(records, None)
    if first is None:
        raise ImportFileInvalid(_("The file is empty."))
    header = _header(*first)

    report = ImportReport()
    orders: dict[str, list[_Row]] = {}
    for line, cells in records:
        report.rows_read += 1
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            report.errors.append(
                RowError(
                    line,
                    "row",
                    _("has %(cells)s cells but the header has %(columns)s")
                    % {"cells": len(cells), "columns": len(header)},
                )
            )
        row = _Row(line, {h: c for h, c in zip(header, cells, strict=False) if h in KNOWN_COLUMNS})
        number = row.get("order_number")
        if not number:
            report.errors.append(RowError(line, "order_number", _("required")))
            continue
        if len(number) > MAX_LENGTH["order_number"]:
            report.errors.append(
                RowError(
                    line,
                    "order_number",
                    _("is longer than %(max)s characters") % {"max": MAX_LENGTH["order_number"]},
                )
            )
            continue
        orders.setdefault(number, []).append(row)

    # Rows with too many cells belong to an order that must then be skipped too.
    bad_lines = {e.line for e in report.errors}
    tz = _time_zone(merchant)
    for number, rows in tqdm(
        orders.items(), desc=_("orders"), unit=_("order"), disable=not progress
    ):
        builder = _OrderBuilder(number, rows, tz)
        data, line_numbers = builder.build()
        if data is None or any(row.line in bad_lines for row in rows):
            report.errors.extend(builder.errors)
            report.orders_skipped += 1
            continue
        try:
            _order, created = upsert_order(merchant=merchant, data=data)
        except DomainError as exc:
            report.errors.append(builder.locate(exc, line_numbers))
            report.orders_skipped += 1
            continue
        if created:
            report.orders_created += 1
        else:
            report.orders_updated += 1
    report.errors.sort(key=lambda e: e.line)
    return report
