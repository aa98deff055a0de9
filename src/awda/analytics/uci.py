"""Loading the UCI "Online Retail" history (a UK gift-ware shop, Dec 2010 – Dec 2011) from
Parquet, so the analytics run on real numbers (docs/analytics.md).

One row per invoice line: ``InvoiceNo, StockCode, Description, Quantity, InvoiceDate (UK
local time, no zone), UnitPrice (GBP, float), CustomerID (float, often missing), Country``.

- Sales invoices become orders (``number`` = the invoice, delivered when placed; line
  ``line_ref`` = the row's position within its invoice), each StockCode a product with one
  variant (SKU = StockCode), each CustomerID a customer (``external_id``). An invoice
  without a CustomerID gets a guest customer of its own (no ``external_id``), so guests are
  never merged into one giant customer and are left out of per-customer figures.
- Credit invoices (``C…``, negative quantities) become returns: each credit line is matched,
  best effort, to the same customer's latest earlier sale lines of the same StockCode in the
  file that still have units not returned (spread over several lines when needed; one
  ``Return`` per credit invoice and original order, numbered ``C536379`` then
  ``C536379-2``…, completed, resolution refund, no reason given). What can't be matched (a
  guest, a sale before the file starts, more units than were bought) is kept as an
  ``UnlinkedReturnLine``: it counts as returned in the analytics.
- Product categories: the data has none, so a product's category is the last word of its
  description ("… T-LIGHT HOLDER" → ``holder``), a heuristic good enough to compare like
  with like when flagging products.
- Quirks are counted and reported, never fatal: non-product codes (postage, manual,
  discount, bank charges, Amazon fees, gift vouchers… skipped), zero or negative prices
  (skipped), negative quantities on sales invoices and the ``A`` bad-debt adjustments
  (skipped), positive quantities on credit invoices (skipped), "Unknown" descriptions
  (imported, titled by the StockCode), missing CustomerIDs (guests, above).
- Idempotent by invoice: invoices already imported for the merchant (an order, a return or
  an unlinked line under that number) are skipped whole, so a second run adds nothing.
  Credit notes are matched only to sales of the same run.

On PostgreSQL rows go in by ``COPY`` in one transaction (ids reserved from the sequences);
on SQLite by ``bulk_create``. This is a bulk loader of history: like ``bench/seed.py`` it
writes the orders, catalog and returns tables directly (what the services would write,
with no events: nothing happens to a shopper for a return made in 2011), then refreshes
the rollups.
"""

from __future__ import annotations

import array
import json
import operator
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Model

from awda.analytics.models import UnlinkedReturnLine
from awda.analytics.services import RefreshResult, refresh_rollups
from awda.catalog.models import Category, Product, Variant
from awda.core import clock
from awda.merchants.models import Merchant
from awda.orders.models import Customer, Order, OrderLine
from awda.returns.models import Return, ReturnItem

UK = ZoneInfo("Europe/London")
CURRENCY = "GBP"
NON_PRODUCT_CODES = frozenset(
    {"POST", "DOT", "M", "C2", "D", "S", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS", "B"}
)
COUNTRIES = {
    "United Kingdom": "GB", "Germany": "DE", "France": "FR", "EIRE": "IE", "Spain": "ES",
    "Netherlands": "NL", "Belgium": "BE", "Switzerland": "CH", "Portugal": "PT",
    "Australia": "AU", "Norway": "NO", "Italy": "IT", "Channel Islands": "JE", "Finland": "FI",
    "Cyprus": "CY", "Sweden": "SE", "Austria": "AT", "Denmark": "DK", "Japan": "JP",
    "Poland": "PL", "Israel": "IL", "USA": "US", "Hong Kong": "HK", "Singapore": "SG",
    "Iceland": "IS", "Canada": "CA", "Greece": "GR", "Malta": "MT",
    "United Arab Emirates": "AE", "RSA": "ZA", "Lebanon": "LB", "Lithuania": "LT",
    "Brazil": "BR", "Czech Republic": "CZ", "Bahrain": "BH", "Saudi Arabia": "SA",
}  # fmt: skip
COLUMNS = (
    "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
    "CustomerID", "Country",
)  # fmt: skip
_BATCH = 50_000
NAN = float("nan")
NO_DATE = -(2**63)  # a missing InvoiceDate, as read
LINE_COLUMNS = (
    "id", "merchant_id", "order_id", "line_ref", "variant_id", "product_id", "sku", "title_en",
    "title_ar", "quantity", "delivered_quantity", "returned_quantity", "unit_price_minor",
    "discount_minor", "tax_minor", "tax_rate", "paid_minor", "refunded_minor",
)  # fmt: skip


class UciFileInvalid(Exception):
    """The file can't be read as the UCI table (missing, not Parquet, columns missing)."""


@dataclass
class UciReport:
    lines_read: int = 0
    orders: int = 0
    order_lines: int = 0
    returns: int = 0
    return_items: int = 0
    unlinked_lines: int = 0
    units_linked: int = 0
    units_unlinked: int = 0
    products: int = 0
    customers: int = 0
    guest_customers: int = 0
    invoices_already_imported: int = 0
    quirks: Counter[str] = field(default_factory=Counter)
    non_product_codes: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    refresh: RefreshResult | None = None


@dataclass(slots=True)
class _Line:
    pos: int
    code: str
    qty: int
    price_minor: int
    title: str


@dataclass
class _Invoice:
    number: str
    at: datetime
    customer: int | None  # the CustomerID
    country: str
    lines: list[_Line] = field(default_factory=list)


def read_table(path: str | Path) -> dict[str, list[Any]]:
    """The file's columns as Python lists (dates as naive microseconds since 1970; missing
    text as "", a missing CustomerID as NaN).

    Read straight from Arrow's buffers: text through a dictionary (each distinct value one
    Python string, shared by its rows), numbers through ``array.array``. Arrow's own
    ``to_pylist`` builds every value separately and took ~2 s of the 540k-line file."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.compute as pc  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    try:
        table = pq.read_table(path, columns=list(COLUMNS))
        columns: dict[str, list[Any]] = {}
        for name in COLUMNS:
            column = table.column(name)
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                encoded = pc.dictionary_encode(pc.fill_null(column, "")).combine_chunks()
                values = encoded.dictionary.to_pylist()
                columns[name] = [values[i] for i in _buffer_values(encoded.indices)]
            elif name == "InvoiceDate":
                stamps = column.cast(pa.timestamp("us")).cast(pa.int64())
                columns[name] = _buffer_values(pc.fill_null(stamps, NO_DATE))
            elif name == "Quantity":
                columns[name] = _buffer_values(pc.fill_null(column.cast(pa.int64()), 0))
            else:
                columns[name] = _buffer_values(pc.fill_null(column.cast(pa.float64()), NAN))
    except (OSError, pa.ArrowInvalid, pa.ArrowNotImplementedError, KeyError) as exc:
        raise UciFileInvalid(f"{path}: {exc}") from None
    return columns


def _buffer_values(column: Any) -> list[Any]:
    """A null-free Arrow column of 32/64-bit integers or doubles as a Python list."""
    chunk = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    if chunk.null_count:
        raise UciFileInvalid(f"missing values in a {chunk.type} column")
    code = {"int32": "i", "int64": "q", "double": "d"}[str(chunk.type)]
    values = array.array(code)
    values.frombytes(chunk.buffers()[1])
    return values[chunk.offset : chunk.offset + len(chunk)].tolist()


def import_uci(*, merchant: Merchant, path: str | Path, refresh: bool = True) -> UciReport:
    """Import the file into ``merchant`` (see the module's notes); returns what happened."""
    report = UciReport()
    started = time.perf_counter()
    cols = read_table(path)
    report.seconds["read"] = time.perf_counter() - started
    t = time.perf_counter()
    sales, credits = _parse(cols, report)
    report.seconds["parse"] = time.perf_counter() - t
    t = time.perf_counter()
    with transaction.atomic():
        # One import per merchant at a time (the invoice check below must see the other's).
        Merchant.objects.select_for_update().filter(pk=merchant.pk).first()
        _write(merchant, sales, credits, report)
    report.seconds["write"] = time.perf_counter() - t
    if refresh:
        t = time.perf_counter()
        days = [inv.at for inv in sales] + [inv.at for inv in credits]
        if days:
            since = min(days).astimezone(ZoneInfo(merchant.timezone)).date()
            report.refresh = refresh_rollups(merchant=merchant, since=since)
        report.seconds["refresh"] = time.perf_counter() - t
    report.seconds["total"] = time.perf_counter() - started
    return report


# -- reading -----------------------------------------------------------------------------------


def _parse(cols: dict[str, list[Any]], report: UciReport) -> tuple[list[_Invoice], list[_Invoice]]:
    invoices: dict[str, _Invoice] = {}
    positions: Counter[str] = Counter()
    prices: dict[float, int] = {}
    epoch = datetime(1970, 1, 1, tzinfo=UTC)  # the stamps are UK wall-clock time
    report.lines_read = len(cols["InvoiceNo"])
    quirks = report.quirks
    # Per distinct code and description (a few thousand), not per line: is it a product,
    # and the title as imported ("" when unknown).
    non_product: dict[str, bool] = {}
    titles: dict[str, str] = {}
    for number, code, title, qty, stamp, price, customer, country in zip(
        *(cols[c] for c in COLUMNS), strict=True
    ):
        positions[number] += 1
        pos = positions[number]
        credit = number.startswith("C")
        # Every quirk of a line is counted; any but the unknown description keeps it out.
        skip = False
        if not number or not code or stamp == NO_DATE:
            quirks["missing_invoice_code_or_date"] += 1
            skip = True
        elif number.startswith("A"):
            quirks["bad_debt_adjustment"] += 1
            skip = True
        is_other = non_product.get(code)
        if is_other is None:
            is_other = non_product[code] = (
                code.upper() in NON_PRODUCT_CODES or code.lower().startswith("gift_")
            )
        if is_other:
            quirks["non_product_code"] += 1
            report.non_product_codes[code.upper()] += 1
            skip = True
        if not price > 0:  # zero, negative or missing (NaN)
            quirks["zero_or_negative_price"] += 1
            skip = True
        if not credit and qty <= 0:
            quirks["negative_quantity_on_sale"] += 1
            skip = True
        if credit and qty >= 0:
            quirks["positive_quantity_on_credit"] += 1
            skip = True
        clean = titles.get(title)
        if clean is None:
            clean = titles[title] = "" if title == "Unknown" else title.strip()
        if not clean:
            quirks["unknown_description"] += 1
        if skip:
            quirks["lines_skipped"] += 1
            continue
        minor = prices.get(price)
        if minor is None:
            # A float price as the shop printed it: through its shortest decimal repr.
            minor = int((Decimal(str(price)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
            prices[price] = minor
        inv = invoices.get(number)
        if inv is None:
            if customer != customer:  # missing (NaN)
                quirks["missing_customer_id_invoices"] += 1
                customer_id = None
            else:
                customer_id = int(customer)
            local = epoch + timedelta(microseconds=stamp)
            inv = invoices[number] = _Invoice(
                number=number,
                at=local.replace(tzinfo=UK).astimezone(UTC),
                customer=customer_id,
                country=country,
            )
        inv.lines.append(_Line(pos, code, abs(qty), minor, clean))
    sales = [inv for inv in invoices.values() if not inv.number.startswith("C")]
    credits = [inv for inv in invoices.values() if inv.number.startswith("C")]
    sales.sort(key=lambda i: (i.at, i.number))
    credits.sort(key=lambda i: (i.at, i.number))
    return sales, credits


def _category_code(title: str) -> str:
    words = [w for w in title.upper().split() if w.isalpha()]
    return words[-1].lower()[:60] if words else ""


# -- writing -----------------------------------------------------------------------------------


class _Ids:
    """Consecutive new ids per table: from the sequence (PostgreSQL) or past the largest
    (SQLite, inside the import's write lock)."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def take(self, model: type[Model], n: int) -> int:
        table = model._meta.db_table
        if n <= 0:
            return 0
        if connection.vendor == "postgresql":
            self.cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            (sequence,) = self.cursor.fetchone()
            self.cursor.execute("SELECT nextval(%s)", [sequence])
            (first,) = self.cursor.fetchone()
            if n > 1:
                self.cursor.execute("SELECT setval(%s, %s)", [sequence, first + n - 1])
            return int(first)
        self.cursor.execute(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"')  # noqa: S608 (table name only)
        return int(self.cursor.fetchone()[0])


def _write(
    merchant: Merchant, sales: list[_Invoice], credits: list[_Invoice], report: UciReport
) -> None:
    m = merchant.pk
    now = clock.now()
    done = set(Order.objects.filter(merchant=merchant).values_list("number", flat=True))
    done.update(
        n.split("-")[0]
        for n in Return.objects.filter(merchant=merchant, channel="import").values_list(
            "number", flat=True
        )
    )
    done.update(
        UnlinkedReturnLine.objects.filter(merchant=merchant)
        .values_list("document", flat=True)
        .distinct()
    )
    report.invoices_already_imported = sum(1 for i in sales + credits if i.number in done)
    sales = [i for i in sales if i.number not in done]
    credits = [i for i in credits if i.number not in done]

    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor if connection.vendor == "postgresql" else django_cursor
        ids = _Ids(django_cursor)
        writer = _Writer(cursor)
        if connection.vendor == "postgresql":
            writer.checked = _skip_fk_triggers(django_cursor)

        # Products and variants: existing ones by StockCode, new ones for the rest.
        existing = dict(Variant.objects.filter(merchant=merchant).values_list("sku", "id"))
        existing_products = dict(
            Variant.objects.filter(merchant=merchant).values_list("sku", "product_id")
        )
        existing_categories = dict(
            Category.objects.filter(merchant=merchant).values_list("code", "id")
        )
        first_seen: dict[str, _Line] = {}
        titles: dict[str, str] = {}
        for inv in sales + credits:
            for li in inv.lines:
                first_seen.setdefault(li.code, li)
                if li.title and li.code not in titles:
                    titles[li.code] = li.title
        new_codes = sorted(c for c in first_seen if c not in existing)
        wanted_categories = sorted(
            {_category_code(titles.get(c, "")) for c in new_codes} - {""} - set(existing_categories)
        )
        cat_id = ids.take(Category, len(wanted_categories))
        categories = dict(existing_categories)
        rows = []
        for j, code in enumerate(wanted_categories):
            categories[code] = cat_id + j
            rows.append(
                {"id": cat_id + j, "merchant_id": m, "code": code, "name_en": code.title(),
                 "name_ar": ""}
            )  # fmt: skip
        writer.write(Category, rows)
        product_id = ids.take(Product, len(new_codes))
        variant_id = ids.take(Variant, len(new_codes))
        variants, products = dict(existing), dict(existing_products)
        product_rows, variant_rows = [], []
        for j, code in enumerate(new_codes):
            title = titles.get(code, "") or code
            category = _category_code(titles.get(code, ""))
            products[code], variants[code] = product_id + j, variant_id + j
            product_rows.append(
                {
                    "id": product_id + j, "merchant_id": m, "external_id": code,
                    "title_en": title[:200], "title_ar": "",
                    "category_id": categories.get(category), "supplier_id": None, "tags": [],
                    "final_sale": False, "returnable": True, "image_url": "",
                }
            )  # fmt: skip
            variant_rows.append(
                {
                    "id": variant_id + j, "merchant_id": m, "product_id": product_id + j,
                    "sku": code, "options": {}, "price_minor": first_seen[code].price_minor,
                    "currency": CURRENCY, "barcode": "",
                }
            )  # fmt: skip
        report.products = writer.write(Product, product_rows)
        writer.write(Variant, variant_rows)

        # Customers: by CustomerID; a guest per invoice without one.
        known = {
            int(ext): pk
            for ext, pk in Customer.objects.filter(
                merchant=merchant, external_id__isnull=False
            ).values_list("external_id", "id")
            if ext and ext.isdigit()
        }
        new_ids = sorted(
            {i.customer for i in sales + credits if i.customer is not None} - set(known)
        )
        guests = [i for i in sales if i.customer is None]
        customer_id = ids.take(Customer, len(new_ids) + len(guests))
        customers = dict(known)
        for j, ext in enumerate(new_ids):
            customers[ext] = customer_id + j
        guest_of: dict[str, int] = {
            inv.number: customer_id + len(new_ids) + j for j, inv in enumerate(guests)
        }

        # Orders and their lines (returned quantities are known only after the matching).
        order_id = ids.take(Order, len(sales))
        line_id = ids.take(OrderLine, sum(len(i.lines) for i in sales))
        # Per line (by its index k, id line_id + k): its order and units, and the units
        # the credit notes take back; the rows themselves are built once, for the COPY.
        line_order: list[int] = []
        line_qty: list[int] = []
        order_rows: list[dict[str, Any]] = []
        by_customer_code: dict[tuple[int, str], list[int]] = defaultdict(list)
        units_bought: Counter[int] = Counter()
        for j, inv in enumerate(sales):
            oid = order_id + j
            cid = customers[inv.customer] if inv.customer is not None else guest_of[inv.number]
            total = 0
            for li in inv.lines:
                total += li.qty * li.price_minor
                if inv.customer is not None:
                    by_customer_code[(inv.customer, li.code)].append(len(line_order))
                line_order.append(oid)
                line_qty.append(li.qty)
                units_bought[cid] += li.qty
            order_rows.append(
                {
                    "id": oid, "merchant_id": m, "number": inv.number, "external_id": "",
                    "customer_id": cid, "currency": CURRENCY, "payment_method": "card",
                    "prices_include_tax": True, "placed_at": inv.at, "fulfilled_at": inv.at,
                    "delivered_at": inv.at, "subtotal_minor": total, "discount_minor": 0,
                    "shipping_minor": 0, "tax_minor": 0, "total_minor": total,
                    "shipping_country": COUNTRIES.get(inv.country, ""),
                    "shipping_address": {"country_name": inv.country}, "tags": [],
                    "kind": "sale", "replaces_id": None, "replacement_status": "",
                    "exchange_credit_minor": 0, "collect_on_delivery_minor": 0,
                    "created_at": now, "updated_at": now,
                }
            )  # fmt: skip
        line_returned = [0] * len(line_order)

        # Credit notes: matched to the customer's latest earlier sale lines of the code.
        returns: dict[tuple[str, int], dict[str, Any]] = {}
        items: dict[tuple[str, int, int], dict[str, Any]] = {}
        unlinked: list[dict[str, Any]] = []
        returned_units: Counter[int] = Counter()
        for inv in credits:
            rcid = customers.get(inv.customer) if inv.customer is not None else None
            for li in inv.lines:
                left = li.qty
                candidates = (
                    by_customer_code.get((inv.customer, li.code), [])
                    if rcid and inv.customer is not None
                    else []
                )
                for k in reversed(candidates):
                    if left == 0:
                        break
                    oid = line_order[k]
                    if order_rows[oid - order_id]["placed_at"] > inv.at:
                        continue
                    free = line_qty[k] - line_returned[k]
                    if free <= 0:
                        continue
                    take = min(free, left)
                    left -= take
                    line_returned[k] += take
                    ret = returns.get((inv.number, oid))
                    if ret is None:
                        ret = returns[(inv.number, oid)] = {
                            "order_id": oid, "customer_id": rcid, "at": inv.at, "value": 0,
                            "number": inv.number,
                        }  # fmt: skip
                    item = items.get((inv.number, oid, line_id + k))
                    if item is None:
                        item = items[(inv.number, oid, line_id + k)] = {"qty": 0, "value": 0}
                    item["qty"] += take
                    item["value"] += take * li.price_minor
                    ret["value"] += take * li.price_minor
                    report.units_linked += take
                    returned_units[rcid or 0] += take
                if left:
                    report.units_unlinked += left
                    unlinked.append(
                        {
                            "merchant_id": m, "source_key": f"uci:{inv.number}:{li.pos}",
                            "document": inv.number, "returned_at": inv.at, "customer_id": rcid,
                            "product_id": products[li.code], "variant_id": variants[li.code],
                            "sku": li.code, "quantity": left, "value_minor": left * li.price_minor,
                            "currency": CURRENCY, "reason_code": "",
                        }
                    )  # fmt: skip

        # Customer rows now that their returns are known (the policy's history read model).
        returns_count: Counter[int] = Counter()
        returns_value: Counter[int] = Counter()
        for ret in returns.values():
            returns_count[ret["customer_id"]] += 1
            returns_value[ret["customer_id"]] += ret["value"]
        customer_rows = [
            {
                "id": customers[ext], "merchant_id": m, "external_id": str(ext), "email": "",
                "phone": "", "name": "", "language": "en", "tags": [],
                "units_bought": units_bought[customers[ext]],
                "units_returned": returned_units[customers[ext]],
                "returns_count": returns_count[customers[ext]],
                "returns_value_minor": returns_value[customers[ext]],
            }
            for ext in new_ids
        ] + [
            {
                "id": guest_of[inv.number], "merchant_id": m, "external_id": None, "email": "",
                "phone": "", "name": "Guest", "language": "en", "tags": ["guest"],
                "units_bought": units_bought[guest_of[inv.number]], "units_returned": 0,
                "returns_count": 0, "returns_value_minor": 0,
            }
            for inv in guests
        ]  # fmt: skip
        report.customers = writer.write(Customer, customer_rows)
        report.guest_customers = len(guests)
        report.orders = writer.write(Order, order_rows)
        zero = Decimal(0)

        def line_rows() -> Iterator[tuple[Any, ...]]:
            k = 0
            for inv in sales:
                oid = line_order[k] if inv.lines else 0
                for li in inv.lines:
                    title = (li.title or titles.get(li.code) or li.code)[:200]
                    yield (
                        line_id + k, m, oid, str(li.pos), variants[li.code], products[li.code],
                        li.code, title, "", li.qty, li.qty, line_returned[k], li.price_minor,
                        0, 0, zero, li.qty * li.price_minor, 0,
                    )  # fmt: skip
                    k += 1

        report.order_lines = writer.write_tuples(
            OrderLine, LINE_COLUMNS, line_rows(), first_id=line_id, count=len(line_order)
        )

        # Returns and their items.
        return_id = ids.take(Return, len(returns))
        item_id = ids.take(ReturnItem, len(items))
        return_rows: list[dict[str, Any]] = []
        item_rows: list[dict[str, Any]] = []
        seen: Counter[str] = Counter()
        return_pk: dict[tuple[str, int], int] = {}
        for key, ret in returns.items():
            seen[ret["number"]] += 1
            number = (
                ret["number"]
                if seen[ret["number"]] == 1
                else f"{ret['number']}-{seen[ret['number']]}"
            )
            pk = return_id + len(return_rows)
            return_pk[key] = pk
            return_rows.append(
                {
                    "id": pk, "merchant_id": m, "number": number[:12], "order_id": ret["order_id"],
                    "customer_id": ret["customer_id"], "status": "completed", "method": "label",
                    "currency": CURRENCY, "quote": {}, "refund_total_minor": ret["value"],
                    "store_credit_total_minor": 0, "policy_version": 0,
                    "refund_timing": "immediate", "language": "en", "channel": "import",
                    "idempotency_key": None, "requested_at": ret["at"],
                    "approved_at": ret["at"], "expires_at": None,
                    "expiry_reminder_sent_at": None, "closed_at": ret["at"],
                    "rejection_reason": "", "money_review_reason": "", "payout_iban": "",
                    "payout_name": "", "pickup": {}, "updated_at": now,
                }
            )  # fmt: skip
        for (number, oid, line_pk), item in items.items():
            item_rows.append(
                {
                    "id": item_id + len(item_rows), "merchant_id": m,
                    "return_request_id": return_pk[(number, oid)], "order_line_id": line_pk,
                    "quantity": item["qty"], "reason_code": "", "sub_reason_code": "",
                    "comment": "", "resolution": "refund", "exchange_variant_id": None,
                    "refund_minor": item["value"], "reception": "received",
                    "received_quantity": item["qty"], "condition": "", "decision": "accepted",
                    "decision_note": "", "at_stake_minor": 0, "disposition": "",
                }
            )  # fmt: skip
        report.returns = writer.write(Return, return_rows)
        report.return_items = writer.write(ReturnItem, item_rows)
        unlinked_id = ids.take(UnlinkedReturnLine, len(unlinked))
        for j, row in enumerate(unlinked):
            row["id"] = unlinked_id + j
        report.unlinked_lines = writer.write(UnlinkedReturnLine, unlinked)
        if writer.checked:
            writer.check_foreign_keys(django_cursor)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Product, Variant, Customer, Order, OrderLine, Return, ReturnItem):
                cursor.execute(f'ANALYZE "{model._meta.db_table}"')


def _skip_fk_triggers(cursor: Any) -> bool:
    """Skip the per-row foreign-key triggers for this transaction, when we may (superuser).

    Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: each COPYed row would queue a
    check for COMMIT, half a million single-row lookups. ``_Writer.check_foreign_keys``
    checks the new rows' keys with one anti-join per key instead (as bench/seed.py does).
    """
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL session_replication_role = replica")
    except Exception:
        return False
    return True


class _Writer:
    """COPY on PostgreSQL, ``bulk_create`` elsewhere; rows keyed by attribute name."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.checked = False
        self.written: dict[type[Model], int] = {}  # model -> smallest id written

    def check_foreign_keys(self, cursor: Any) -> None:
        """Every foreign key of the rows written points at a row (else the import fails)."""
        for model, first in self.written.items():
            table = model._meta.db_table
            for f in model._meta.concrete_fields:
                if not f.is_relation or f.related_model is None:
                    continue
                target = f.related_model._meta.db_table
                pk = f.related_model._meta.pk.column
                cursor.execute(
                    f'SELECT count(*) FROM "{table}" t LEFT JOIN "{target}" r '  # noqa: S608 (names only)
                    f'ON r."{pk}" = t."{f.column}" WHERE t.id >= %s '
                    f'AND t."{f.column}" IS NOT NULL AND r."{pk}" IS NULL',
                    [first],
                )
                (orphans,) = cursor.fetchone()
                if orphans:
                    raise RuntimeError(f"{orphans} new rows of {table}.{f.column} point nowhere")
        cursor.execute("SET LOCAL session_replication_role = origin")

    def write_tuples(
        self,
        model: type[Model],
        names: Sequence[str],
        rows: Iterable[tuple[Any, ...]],
        *,
        first_id: int,
        count: int,
    ) -> int:
        """Rows as tuples in the order of ``names`` (no JSON columns), ids from ``first_id``."""
        if not count:
            return 0
        self.written[model] = min(first_id, self.written.get(model, first_id))
        if connection.vendor != "postgresql":
            batch: list[Model] = []
            for row in rows:
                batch.append(model(**dict(zip(names, row, strict=True))))
                if len(batch) == _BATCH:
                    model._default_manager.bulk_create(batch, batch_size=500)
                    batch = []
            model._default_manager.bulk_create(batch, batch_size=500)
            return count
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        columns = ", ".join(f'"{by_attname[n].column}"' for n in names)
        with self.cursor.copy(f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        return count

    def write(self, model: type[Model], rows: Sequence[dict[str, Any]]) -> int:
        if not rows:
            return 0
        first = min(row["id"] for row in rows)
        self.written[model] = min(first, self.written.get(model, first))
        if connection.vendor != "postgresql":
            for start in range(0, len(rows), _BATCH):
                model._default_manager.bulk_create(
                    [model(**row) for row in rows[start : start + _BATCH]], batch_size=500
                )
            return len(rows)
        names = list(rows[0])
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        json_fields = {n for n in names if by_attname[n].get_internal_type() == "JSONField"}
        columns = ", ".join(f'"{by_attname[n].column}"' for n in names)
        with self.cursor.copy(f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN') as copy:
            if json_fields:
                for row in rows:
                    copy.write_row(
                        [json.dumps(row[n]) if n in json_fields else row[n] for n in names]
                    )
            else:
                values = operator.itemgetter(*names)  # a tuple per row, built in C
                for row in rows:
                    copy.write_row(values(row))
        return len(rows)
