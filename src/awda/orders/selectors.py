"""Reads of orders, always scoped to one merchant."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Prefetch
from django.utils.dateparse import parse_datetime

from awda.catalog.models import Category, Product, Supplier
from awda.core.errors import NotFound
from awda.merchants.models import Merchant
from awda.orders.models import Customer, Order, OrderLine


def get_order(*, merchant: Merchant, number: str) -> Order:
    """The order with its customer, lines (with product facts) and payments, or NotFound."""
    order = (
        Order.objects.for_merchant(merchant)
        .select_related("customer")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=OrderLine.objects.select_related(
                    "product", "product__category", "product__supplier", "variant"
                ).order_by("pk"),
            ),
            "payments",
        )
        .filter(number=number)
        .first()
    )
    if order is None:
        raise NotFound(details={"order": number})
    return order


# The hot read path (returnable lines) in plain SQL: the same query through the ORM spent
# ~3 ms of Python per request building and compiling SQL (bench/README.md has the profile).
_LINE_COLUMNS = (
    "id", "line_ref", "sku", "title_en", "title_ar", "quantity", "delivered_quantity",
    "returned_quantity", "unit_price_minor", "discount_minor", "tax_minor", "product_id",
)  # fmt: skip
_ORDER_COLUMNS = (
    "id", "number", "currency", "payment_method", "prices_include_tax", "placed_at",
    "delivered_at", "total_minor", "shipping_country", "tags", "customer_id",
)  # fmt: skip
_CUSTOMER_COLUMNS = (
    "email", "tags", "units_bought", "units_returned", "returns_count", "returns_value_minor",
)  # fmt: skip
_PRODUCT_COLUMNS = ("external_id", "tags", "final_sale", "returnable")


@cache
def _lines_sql() -> str:
    line, order, customer = OrderLine._meta.db_table, Order._meta.db_table, "orders_customer"
    product, category, supplier = "catalog_product", "catalog_category", "catalog_supplier"
    columns = [
        *(f"l.{c}" for c in _LINE_COLUMNS),
        *(f"o.{c}" for c in _ORDER_COLUMNS),
        *(f"c.{c}" for c in _CUSTOMER_COLUMNS),
        *(f"p.{c}" for c in _PRODUCT_COLUMNS),
        "cat.code",
        "sup.code",
    ]
    return (
        f"SELECT {', '.join(columns)} FROM {order} o "  # noqa: S608 (no user input in names)
        f"JOIN {line} l ON l.order_id = o.id "
        f"JOIN {customer} c ON c.id = o.customer_id "
        f"LEFT JOIN {product} p ON p.id = l.product_id "
        f"LEFT JOIN {category} cat ON cat.id = p.category_id "
        f"LEFT JOIN {supplier} sup ON sup.id = p.supplier_id "
        "WHERE o.merchant_id = %s AND o.number = %s"
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    # SQLite hands back naive datetimes (or text); stored values are UTC.
    parsed = value if isinstance(value, datetime) else parse_datetime(str(value))
    if parsed is None:
        raise ValueError(f"not a datetime: {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def get_order_lines(*, merchant: Merchant, number: str) -> tuple[Order, list[OrderLine]]:
    """An order and its lines with customer and product facts, in one query, or NotFound.

    The instances carry only what the returns path reads; they are for reading, not saving.
    """
    with connection.cursor() as cursor:
        cursor.execute(_lines_sql() + " ORDER BY l.id", [merchant.pk, number])
        rows = cursor.fetchall()
    if not rows:  # an order always has lines, so no rows means no such order here
        raise NotFound(details={"order": number})
    lines = _from_rows(merchant, rows)
    return lines[0].order, lines


def lock_order_lines(
    *, merchant: Merchant, number: str, line_refs: Sequence[str]
) -> list[OrderLine]:
    """Some lines of an order, locked for update in primary-key order, each with its order
    (and customer) and product facts; lines the order doesn't have are left out.

    Locking in primary-key order everywhere means concurrent returns of one order queue
    instead of deadlocking. NotFound when the merchant has no such order.
    """
    if not line_refs:
        raise ValueError("no line refs")
    sql = _lines_sql() + f" AND l.line_ref IN ({', '.join(['%s'] * len(line_refs))}) ORDER BY l.id"
    if connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF l"  # SQLite has no row locks: BEGIN IMMEDIATE serialises writers
    with connection.cursor() as cursor:
        cursor.execute(sql, [merchant.pk, number, *line_refs])
        rows = cursor.fetchall()
        if not rows:
            cursor.execute(
                f"SELECT 1 FROM {Order._meta.db_table} "  # noqa: S608
                "WHERE merchant_id = %s AND number = %s",
                [merchant.pk, number],
            )
            if cursor.fetchone() is None:
                raise NotFound(details={"order": number})
            return []
    return _from_rows(merchant, rows)


def _from_rows(merchant: Merchant, rows: Sequence[Sequence[Any]]) -> list[OrderLine]:
    n_line, n_order, n_customer = len(_LINE_COLUMNS), len(_ORDER_COLUMNS), len(_CUSTOMER_COLUMNS)
    first = rows[0]
    o = dict(zip(_ORDER_COLUMNS, first[n_line : n_line + n_order], strict=True))
    c = dict(
        zip(_CUSTOMER_COLUMNS, first[n_line + n_order : n_line + n_order + n_customer], strict=True)
    )
    customer = Customer(
        id=o["customer_id"],
        merchant_id=merchant.pk,
        email=c["email"],
        tags=_json(c["tags"]),
        units_bought=c["units_bought"],
        units_returned=c["units_returned"],
        returns_count=c["returns_count"],
        returns_value_minor=c["returns_value_minor"],
    )
    placed_at = _datetime(o["placed_at"])
    if placed_at is None:  # NOT NULL in the schema
        raise ValueError("order without placed_at")
    order = Order(
        id=o["id"],
        merchant_id=merchant.pk,
        number=o["number"],
        currency=o["currency"],
        payment_method=o["payment_method"],
        prices_include_tax=bool(o["prices_include_tax"]),
        placed_at=placed_at,
        delivered_at=_datetime(o["delivered_at"]),
        total_minor=o["total_minor"],
        shipping_country=o["shipping_country"],
        tags=_json(o["tags"]),
        customer_id=o["customer_id"],
    )
    order.customer = customer
    lines = []
    start = n_line + n_order + n_customer
    for row in rows:
        line = OrderLine(
            merchant_id=merchant.pk,
            order_id=order.pk,
            **dict(zip(_LINE_COLUMNS, row, strict=False)),
        )
        line.order = order
        if line.product_id is not None:
            external_id, tags, final_sale, returnable = row[start : start + 4]
            category_code, supplier_code = row[start + 4], row[start + 5]
            product = Product(
                id=line.product_id,
                merchant_id=merchant.pk,
                external_id=external_id,
                tags=_json(tags),
                final_sale=bool(final_sale),
                returnable=bool(returnable),
            )
            product.category = Category(code=category_code) if category_code else None
            product.supplier = Supplier(code=supplier_code) if supplier_code else None
            line.product = product
        lines.append(line)
    return lines
