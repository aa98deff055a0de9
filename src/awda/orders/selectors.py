"""Reads of orders, always scoped to one merchant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Prefetch

from awda.core.db import db_datetime, db_json, loaded_instance
from awda.core.errors import NotFound
from awda.merchants.models import Merchant
from awda.orders.models import Order, OrderLine
from awda.orders.rules import normalise_email, phones_match


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
        "p.image_url",
        "v.options",
    ]
    return (
        f"SELECT {', '.join(columns)} FROM {order} o "  # noqa: S608 (no user input in names)
        f"JOIN {line} l ON l.order_id = o.id "
        f"JOIN {customer} c ON c.id = o.customer_id "
        f"LEFT JOIN {product} p ON p.id = l.product_id "
        f"LEFT JOIN {category} cat ON cat.id = p.category_id "
        f"LEFT JOIN {supplier} sup ON sup.id = p.supplier_id "
        "LEFT JOIN catalog_variant v ON v.id = l.variant_id "
        "WHERE o.merchant_id = %s AND o.number = %s"
    )


@dataclass(slots=True)
class CustomerSnapshot:
    id: int
    email: str
    tags: list[str]
    units_bought: int
    units_returned: int
    returns_count: int
    returns_value_minor: int


@dataclass(slots=True)
class OrderSnapshot:
    id: int
    number: str
    currency: str
    payment_method: str
    prices_include_tax: bool
    placed_at: datetime
    delivered_at: datetime | None
    total_minor: int
    shipping_country: str
    tags: list[str]
    customer: CustomerSnapshot

    @property
    def customer_id(self) -> int:
        return self.customer.id


@dataclass(slots=True)
class ProductSnapshot:
    id: int
    external_id: str
    tags: list[str]
    final_sale: bool
    returnable: bool
    category_code: str | None
    supplier_code: str | None
    image_url: str = ""


@dataclass(slots=True)
class LineSnapshot:
    """An order line as the returns path reads it: plain values, for reading, not saving."""

    id: int
    line_ref: str
    sku: str
    title_en: str
    title_ar: str
    quantity: int
    delivered_quantity: int
    returned_quantity: int
    unit_price_minor: int
    discount_minor: int
    tax_minor: int
    product: ProductSnapshot | None
    order: OrderSnapshot
    variant_options: dict[str, str] = field(default_factory=dict)  # {"size": "M"}

    @property
    def product_id(self) -> int | None:
        return self.product.id if self.product is not None else None


def get_order_lines(*, merchant: Merchant, number: str) -> tuple[OrderSnapshot, list[LineSnapshot]]:
    """An order and its lines with customer and product facts, in one query, or NotFound."""
    with connection.cursor() as cursor:
        cursor.execute(_lines_sql() + " ORDER BY l.id", [merchant.pk, number])
        rows = cursor.fetchall()
    if not rows:  # an order always has lines, so no rows means no such order here
        raise NotFound(details={"order": number})
    lines = _from_rows(rows)
    return lines[0].order, lines


def lock_order_lines(
    *, merchant: Merchant, number: str, line_refs: Sequence[str]
) -> list[LineSnapshot]:
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
    return _from_rows(rows)


def _from_rows(rows: Sequence[Sequence[Any]]) -> list[LineSnapshot]:
    # Plain dataclasses, not model instances: building ~15 models cost ~0.15 ms a request.
    n_line, n_order = len(_LINE_COLUMNS), len(_ORDER_COLUMNS)
    first = rows[0]
    (
        order_id, number, currency, payment_method, prices_include_tax, placed_at,
        delivered_at, total_minor, shipping_country, order_tags, customer_id,
    ) = first[n_line : n_line + n_order]  # fmt: skip
    email, customer_tags, bought, returned, returns_count, returns_value = first[
        n_line + n_order : n_line + n_order + len(_CUSTOMER_COLUMNS)
    ]
    placed = db_datetime(placed_at)
    if placed is None:  # NOT NULL in the schema
        raise ValueError("order without placed_at")
    order = OrderSnapshot(
        id=order_id,
        number=number,
        currency=currency,
        payment_method=payment_method,
        prices_include_tax=bool(prices_include_tax),
        placed_at=placed,
        delivered_at=db_datetime(delivered_at),
        total_minor=total_minor,
        shipping_country=shipping_country,
        tags=db_json(order_tags),
        customer=CustomerSnapshot(
            id=customer_id,
            email=email,
            tags=db_json(customer_tags),
            units_bought=bought,
            units_returned=returned,
            returns_count=returns_count,
            returns_value_minor=returns_value,
        ),
    )
    start = n_line + n_order + len(_CUSTOMER_COLUMNS)
    lines = []
    for row in rows:
        (
            line_id, line_ref, sku, title_en, title_ar, quantity, delivered, returned_qty,
            unit_price, discount, tax, product_id,
        ) = row[:n_line]  # fmt: skip
        product = None
        image_url, options = row[start + 6], row[start + 7]
        if product_id is not None:
            external_id, tags, final_sale, returnable, category, supplier = row[start : start + 6]
            product = ProductSnapshot(
                id=product_id,
                external_id=external_id,
                tags=db_json(tags),
                final_sale=bool(final_sale),
                returnable=bool(returnable),
                category_code=category,
                supplier_code=supplier,
                image_url=image_url or "",
            )
        lines.append(
            LineSnapshot(
                id=line_id,
                line_ref=line_ref,
                sku=sku,
                title_en=title_en,
                title_ar=title_ar,
                quantity=quantity,
                delivered_quantity=delivered,
                returned_quantity=returned_qty,
                unit_price_minor=unit_price,
                discount_minor=discount,
                tax_minor=tax,
                product=product,
                order=order,
                variant_options=db_json(options) or {},
            )
        )
    return lines


def find_order_for_shopper(*, merchant: Merchant, number: str, contact: str) -> Order | None:
    """The merchant's order with this number whose customer has this e-mail or phone, else
    None (the same answer whether the order is missing or the contact doesn't match)."""
    number = number.strip().lstrip("#")
    order = (
        Order.objects.for_merchant(merchant)
        .select_related("customer")
        .filter(number=number)
        .first()
    )
    if order is None:
        return None
    customer = order.customer
    if "@" in contact:
        return order if customer.email and normalise_email(contact) == customer.email else None
    return order if customer.phone and phones_match(contact, customer.phone) else None


_PAGE_ORDER_FIELDS = (
    "id", "merchant_id", "number", "customer_id", "currency", "payment_method",
    "shipping_country", "shipping_address",
)  # fmt: skip


def order_by_number(*, merchant: Merchant, number: str) -> Order | None:
    """The merchant's order with this number, carrying what the portal's pages read (other
    fields load on first use), or None. Plain SQL: every portal step asks for it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(_PAGE_ORDER_FIELDS)} FROM {Order._meta.db_table} "  # noqa: S608
            "WHERE merchant_id = %s AND number = %s",
            [merchant.pk, number],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    values = dict(zip(_PAGE_ORDER_FIELDS, row, strict=True))
    values["shipping_address"] = db_json(values["shipping_address"]) or {}
    return loaded_instance(Order, **values)
