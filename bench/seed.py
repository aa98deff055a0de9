"""Seed a benchmark store: one merchant and N order lines, fast, plus the files wrk reads.

The merchant, its reasons, policy and API key go through the real services. The bulk rows
(categories, suppliers, products, variants, customers, orders, lines, payments) are written
with PostgreSQL ``COPY`` in one transaction, but computed exactly as ``upsert_order`` and
``upsert_product`` compute them: the generator builds the services' own input types
(``OrderData``, ``ProductData``), checks them with ``validate_order`` and derives each column
with the services' own arithmetic (``orders.services.order_columns``). ``--verify K`` proves
it: the real services run on K seeded orders and products inside a rolled-back transaction
and every column is compared.

Usage: AWDA_DATABASE_URL=postgres://… python bench/seed.py --lines 100000 --out DIR
Writes DIR/api_key, DIR/orders.txt (order numbers), DIR/slots.csv (``order,line_ref`` per
returnable unit, for create-return) and DIR/seed.json (counts and timings).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "awda.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Model  # noqa: E402
from django.forms.models import model_to_dict  # noqa: E402

from awda.catalog.models import Category, Product, Supplier, Variant  # noqa: E402
from awda.catalog.services import ProductData, VariantData, upsert_product  # noqa: E402
from awda.core import clock  # noqa: E402
from awda.merchants.models import Merchant  # noqa: E402
from awda.merchants.services import create_merchant, issue_api_key  # noqa: E402
from awda.orders.models import Customer, Order, OrderLine, Payment, PaymentMethod  # noqa: E402
from awda.orders.rules import normalise_email, normalise_phone  # noqa: E402
from awda.orders.services import (  # noqa: E402
    CustomerData,
    LineData,
    OrderData,
    PaymentData,
    order_columns,
    upsert_order,
    validate_order,
)
from awda.policies.document import default_policy  # noqa: E402
from awda.policies.services import replace_policy  # noqa: E402
from awda.returns.services import install_default_reasons  # noqa: E402

CURRENCY = "SAR"
TAX_RATE = Decimal("15")
# (code, English, Arabic, share of products, price points in halalas)
CATEGORIES = [
    ("shirts", "Shirts", "قمصان", 30, [4900, 7900, 9900, 14900]),
    ("dresses", "Dresses", "فساتين", 20, [14900, 19900, 29900]),
    ("shoes", "Shoes", "أحذية", 20, [19900, 29900, 49900]),
    ("accessories", "Accessories", "إكسسوارات", 15, [2900, 4900, 9900]),
    ("electronics", "Electronics", "إلكترونيات", 10, [29900, 79900, 149900]),
    # Not returnable under the default policy: lines of these exercise the blocking paths.
    ("underwear", "Underwear", "ملابس داخلية", 5, [3900, 5900]),
]
SUPPLIERS = [("acme", "Acme Textiles"), ("nile", "Nile Trading"), ("gulf", "Gulf Supply")]
SIZES = ["S", "M", "L"]
NAMES = ["Noura", "Fahad", "Layla", "Omar", "Sara", "Khalid", "Mona", "Yousef", "Huda", "Ali"]
CITIES = ["Riyadh", "Jeddah", "Dammam", "Dubai", "Kuwait City"]
# Lines per order: mean 3.
LINES_PER_ORDER = ([1, 2, 3, 4, 5], [15, 20, 30, 20, 15])
PAYMENT_METHODS = (
    [
        PaymentMethod.CARD,
        PaymentMethod.WALLET,
        PaymentMethod.CASH_ON_DELIVERY,
        PaymentMethod.BANK_TRANSFER,
    ],
    [60, 15, 20, 5],
)
COUNTRIES = (["SA", "AE", "KW"], [80, 10, 10])


@dataclasses.dataclass(frozen=True)
class CatalogItem:
    """A product as the catalog service receives it, plus what the generator needs to know."""

    data: ProductData
    category: str
    returnable_by_default_policy: bool


# -- generation (the services' input types) ----------------------------------------------------


def make_catalog(rng: random.Random, n_products: int) -> list[CatalogItem]:
    weights = [c[3] for c in CATEGORIES]
    items = []
    for i in range(n_products):
        code, _en, _ar, _share, prices = rng.choices(CATEGORIES, weights)[0]
        final_sale = rng.random() < 0.04
        tags = (["final-sale"] if final_sale else []) + (["new"] if rng.random() < 0.1 else [])
        price = rng.choice(prices)
        supplier = rng.choice(SUPPLIERS)
        data = ProductData(
            external_id=f"P-{i + 1:05d}",
            title_en=f"{code.title()} item {i + 1}",
            title_ar=f"منتج {i + 1}",
            category_code=code,
            category_name_en=next(c[1] for c in CATEGORIES if c[0] == code),
            category_name_ar=next(c[2] for c in CATEGORIES if c[0] == code),
            supplier_code=supplier[0],
            supplier_name=supplier[1],
            tags=tags,
            variants=[
                VariantData(
                    sku=f"SKU-{i + 1:05d}-{size}",
                    price_minor=price,
                    options={"size": size},
                    barcode=f"629{i + 1:07d}{j}",
                )
                for j, size in enumerate(SIZES)
            ],
        )
        # Same facts the default policy's rules look at (final-sale tag, underwear category).
        items.append(CatalogItem(data, code, not final_sale and code != "underwear"))
    return items


def make_customers(rng: random.Random, n: int) -> list[CustomerData]:
    return [
        CustomerData(
            email=f"Shopper{i + 1}@Example.com",
            phone=f"+966 5{rng.randrange(10**8):08d}",
            name=f"{rng.choice(NAMES)} {i + 1}",
            language=rng.choice(["ar", "ar", "en"]),
        )
        for i in range(n)
    ]


def make_orders(
    rng: random.Random,
    *,
    n_lines: int,
    catalog: Sequence[CatalogItem],
    customers: Sequence[CustomerData],
    now: datetime,
) -> list[OrderData]:
    """Orders of ~3 lines (exactly ``n_lines`` in all), delivered within the last 20 days.

    Line 1 of every order is a product the default policy lets customers return.
    """
    returnable = [c for c in catalog if c.returnable_by_default_policy]
    orders: list[OrderData] = []
    left = n_lines
    i = 0
    while left > 0:
        count = min(left, rng.choices(*LINES_PER_ORDER)[0])
        left -= count
        i += 1
        lines = []
        for ref in range(1, count + 1):
            item = rng.choice(returnable if ref == 1 else catalog)
            variant = rng.choice(item.data.variants)
            quantity = rng.choices([1, 2, 3], [70, 20, 10])[0]
            own_discount = variant.price_minor * quantity * 5 // 100 if rng.random() < 0.1 else 0
            lines.append(
                LineData(
                    line_ref=str(ref),
                    sku=variant.sku,
                    title_en=f"{item.data.title_en} ({variant.options['size']})",
                    title_ar=f"{item.data.title_ar} ({variant.options['size']})",
                    quantity=quantity,
                    unit_price_minor=variant.price_minor,
                    discount_minor=own_discount,
                    tax_rate=TAX_RATE,
                )
            )
        gross = sum(li.unit_price_minor * li.quantity - li.discount_minor for li in lines)
        discount = gross // 10 if rng.random() < 0.15 else 0
        shipping = 0 if gross >= 20000 else 2500
        method = rng.choices(*PAYMENT_METHODS)[0]
        delivered = now - timedelta(seconds=rng.randrange(20 * 86400))
        placed = delivered - timedelta(days=rng.randint(2, 5), seconds=rng.randrange(86400))
        country = rng.choices(*COUNTRIES)[0]
        total = gross - discount + shipping
        orders.append(
            OrderData(
                number=f"{1_000_000 + i}",
                currency=CURRENCY,
                placed_at=placed,
                fulfilled_at=placed + timedelta(days=1),
                delivered_at=delivered,
                customer=rng.choice(customers),
                lines=lines,
                payment_method=method,
                external_id=f"gid://store/Order/{5_000_000 + i}",
                discount_minor=discount,
                shipping_minor=shipping,
                shipping_country=country.lower(),
                shipping_address={"city": rng.choice(CITIES), "line1": f"{i} King Fahd Rd"},
                tags=["vip"] if rng.random() < 0.05 else [],
                payments=(
                    []
                    if method == PaymentMethod.CASH_ON_DELIVERY
                    else [
                        PaymentData(
                            gateway="sandbox",
                            reference=f"pay_{i:08d}",
                            method=method,
                            captured_minor=total,
                            card_last4="4242" if method == PaymentMethod.CARD else "",
                        )
                    ]
                ),
            )
        )
    return orders


# -- the columns the services would write ------------------------------------------------------


def customer_columns(data: CustomerData) -> dict[str, Any]:
    """A new customer's fields as ``orders.services._upsert_customer`` sets them."""
    return {
        "external_id": data.external_id or None,
        "email": normalise_email(data.email),
        "phone": normalise_phone(data.phone),
        "name": data.name,
        "language": data.language,
        "tags": sorted(set(data.tags)) if data.tags else [],
        "units_returned": 0,
        "returns_count": 0,
        "returns_value_minor": 0,
    }


# -- COPY --------------------------------------------------------------------------------------


def _reserve_ids(cursor: Any, model: type[Model], n: int) -> int:
    """Take ``n`` consecutive ids from the table's sequence; returns the first."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
    (sequence,) = cursor.fetchone()
    cursor.execute("SELECT nextval(%s)", [sequence])
    (first,) = cursor.fetchone()
    if n > 1:
        cursor.execute("SELECT setval(%s, %s)", [sequence, first + n - 1])
    return int(first)


def _copy(cursor: Any, model: type[Model], rows: Sequence[dict[str, Any]]) -> int:
    """COPY dict rows keyed by attribute name (``merchant_id`` for a foreign key)."""
    if not rows:
        return 0
    names = list(rows[0])
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    columns = []
    json_fields = set()
    for name in names:
        field = by_attname[name]
        columns.append(field.column)
        if field.get_internal_type() == "JSONField":
            json_fields.add(name)
    sql = f'COPY "{model._meta.db_table}" ({", ".join(columns)}) FROM STDIN'
    with cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row[n], ensure_ascii=False) if n in json_fields else row[n]
                    for n in names
                ]
            )
    return len(rows)


def seed(*, lines: int, seed_value: int, out: Path, verify: int) -> dict[str, Any]:
    rng = random.Random(seed_value)
    now = clock.now()
    timings: dict[str, float] = {}
    started = time.perf_counter()

    # The merchant and its configuration go through the services, as in production.
    merchant = create_merchant(
        slug=f"bench-{int(time.time())}-{rng.randrange(10**6)}",
        name="Bench Store",
        name_ar="متجر القياس",
        currency=CURRENCY,
        country="SA",
    )
    install_default_reasons(merchant=merchant)
    replace_policy(merchant=merchant, document=default_policy(currency=CURRENCY, country="SA"))
    key = issue_api_key(merchant=merchant, name="bench").plaintext
    timings["merchant_s"] = time.perf_counter() - started

    t = time.perf_counter()
    n_orders_estimate = max(1, lines // 3)
    catalog = make_catalog(rng, max(50, lines // 50))
    customers = make_customers(rng, max(1, n_orders_estimate // 3))
    orders = make_orders(rng, n_lines=lines, catalog=catalog, customers=customers, now=now)
    for data in orders:
        validate_order(data, merchant=merchant)
    timings["generate_s"] = time.perf_counter() - t

    t = time.perf_counter()
    counts = _write(merchant, catalog, customers, orders, now)
    timings["copy_s"] = time.perf_counter() - t

    t = time.perf_counter()
    with connection.cursor() as cursor:
        for model in (Category, Supplier, Product, Variant, Customer, Order, OrderLine, Payment):
            cursor.execute(f'VACUUM ANALYZE "{model._meta.db_table}"')
    timings["analyze_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - started

    verified = _verify(merchant, catalog, orders, verify) if verify else 0

    out.mkdir(parents=True, exist_ok=True)
    (out / "api_key").write_text(key + "\n")
    (out / "orders.txt").write_text("".join(f"{o.number}\n" for o in orders))
    slots = _return_slots(orders, catalog)
    (out / "slots.csv").write_text("".join(f"{n},{ref}\n" for n, ref in slots))
    rows = sum(counts.values())
    info = {
        "merchant_id": merchant.pk,
        "merchant_slug": merchant.slug,
        "lines": lines,
        "counts": counts,
        "rows": rows,
        "return_slots": len(slots),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "rows_per_s": round(rows / timings["copy_s"]),
        "lines_per_s_total": round(lines / timings["total_s"]),
        "verified_orders": verified,
        "seed": seed_value,
    }
    (out / "seed.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def _write(
    merchant: Merchant,
    catalog: Sequence[CatalogItem],
    customers: Sequence[CustomerData],
    orders: Sequence[OrderData],
    now: datetime,
) -> dict[str, int]:
    m = merchant.pk
    counts: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # the psycopg cursor, for COPY
        fk_triggers_off = _skip_fk_triggers(cursor)
        # Categories and suppliers as upsert_product's get_or_create makes them.
        cat_id = _reserve_ids(cursor, Category, len(CATEGORIES))
        categories = {}
        cat_rows = []
        for j, (code, en, ar, *_rest) in enumerate(CATEGORIES):
            categories[code] = cat_id + j
            cat_rows.append(
                {"id": cat_id + j, "merchant_id": m, "code": code, "name_en": en, "name_ar": ar}
            )
        counts["categories"] = _copy(cursor, Category, cat_rows)
        sup_id = _reserve_ids(cursor, Supplier, len(SUPPLIERS))
        suppliers = {code: sup_id + j for j, (code, _name) in enumerate(SUPPLIERS)}
        counts["suppliers"] = _copy(
            cursor,
            Supplier,
            [
                {"id": suppliers[code], "merchant_id": m, "code": code, "name": name}
                for code, name in SUPPLIERS
            ],
        )

        product_id = _reserve_ids(cursor, Product, len(catalog))
        n_variants = sum(len(c.data.variants) for c in catalog)
        variant_id = _reserve_ids(cursor, Variant, n_variants)
        product_rows, variant_rows = [], []
        variants: dict[str, tuple[int, int]] = {}  # sku -> (variant id, product id)
        for j, item in enumerate(catalog):
            p = item.data
            pid = product_id + j
            product_rows.append(
                {
                    "id": pid,
                    "merchant_id": m,
                    "external_id": p.external_id,
                    "title_en": p.title_en,
                    "title_ar": p.title_ar,
                    "category_id": categories[p.category_code] if p.category_code else None,
                    "supplier_id": suppliers[p.supplier_code] if p.supplier_code else None,
                    "tags": sorted(set(p.tags)),
                    "final_sale": p.final_sale,
                    "returnable": p.returnable,
                    "image_url": p.image_url,
                }
            )
            for v in p.variants:
                variants[v.sku] = (variant_id + len(variant_rows), pid)
                variant_rows.append(
                    {
                        "id": variant_id + len(variant_rows),
                        "merchant_id": m,
                        "product_id": pid,
                        "sku": v.sku,
                        "options": dict(v.options),
                        "price_minor": v.price_minor,
                        "currency": merchant.currency,
                        "barcode": v.barcode,
                    }
                )
        counts["products"] = _copy(cursor, Product, product_rows)
        counts["variants"] = _copy(cursor, Variant, variant_rows)

        # Customers: one row per distinct contact, units_bought summed over their orders as
        # upsert_order's F() increments would leave it.
        units: dict[int, int] = {}
        for data in orders:
            k = id(data.customer)
            units[k] = units.get(k, 0) + sum(li.quantity for li in data.lines)
        used = [c for c in customers if id(c) in units]
        customer_id = _reserve_ids(cursor, Customer, len(used))
        customer_ids = {id(c): customer_id + j for j, c in enumerate(used)}
        counts["customers"] = _copy(
            cursor,
            Customer,
            [
                {
                    "id": customer_ids[id(c)],
                    "merchant_id": m,
                    **customer_columns(c),
                    "units_bought": units[id(c)],
                }
                for c in used
            ],
        )

        order_id = _reserve_ids(cursor, Order, len(orders))
        n_lines = sum(len(o.lines) for o in orders)
        line_id = _reserve_ids(cursor, OrderLine, n_lines)
        n_payments = sum(len(o.payments) for o in orders)
        payment_id = _reserve_ids(cursor, Payment, max(1, n_payments))
        order_rows, line_rows, payment_rows = [], [], []
        for j, data in enumerate(orders):
            oid = order_id + j
            order, lines = order_columns(data)
            order_rows.append(
                {
                    "id": oid,
                    "number": data.number,
                    "merchant_id": m,
                    "customer_id": customer_ids[id(data.customer)],
                    **order,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for li in lines:
                vid, pid = variants[li["sku"]]
                line_rows.append(
                    {
                        "id": line_id + len(line_rows),
                        "merchant_id": m,
                        "order_id": oid,
                        "variant_id": vid,
                        "product_id": pid,
                        "returned_quantity": 0,
                        "refunded_minor": 0,
                        **li,
                    }
                )
            for p in data.payments:
                payment_rows.append(
                    {
                        "id": payment_id + len(payment_rows),
                        "merchant_id": m,
                        "order_id": oid,
                        "gateway": p.gateway,
                        "reference": p.reference,
                        "method": p.method,
                        "currency": data.currency,
                        "captured_minor": p.captured_minor,
                        "refunded_minor": p.refunded_minor,
                        "card_last4": p.card_last4,
                    }
                )
        counts["orders"] = _copy(cursor, Order, order_rows)
        counts["order_lines"] = _copy(cursor, OrderLine, line_rows)
        counts["payments"] = _copy(cursor, Payment, payment_rows)
        if fk_triggers_off:
            _check_foreign_keys(cursor)
    return counts


def _skip_fk_triggers(cursor: Any) -> bool:
    """Skip the per-row foreign-key triggers for this transaction, when we may.

    Django's foreign keys are DEFERRABLE INITIALLY DEFERRED, so each COPYed row queues a
    check that runs at COMMIT: ~180k single-row lookups, a third of the seeding time.
    ``_check_foreign_keys`` then checks every key with one anti-join per key instead.
    Needs a superuser (the local benchmark database's ``postgres``); otherwise the
    triggers run as usual.
    """
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL session_replication_role = replica")
    except Exception:
        return False
    return True


def _check_foreign_keys(cursor: Any) -> None:
    models = (Category, Supplier, Product, Variant, Customer, Order, OrderLine, Payment)
    for model in models:
        for field in model._meta.concrete_fields:
            if not field.is_relation:
                continue
            table = model._meta.db_table
            target = field.related_model._meta.db_table
            target_pk = field.related_model._meta.pk.column
            cursor.execute(
                f'SELECT count(*) FROM "{table}" t LEFT JOIN "{target}" r '
                f'ON r."{target_pk}" = t."{field.column}" '
                f'WHERE t."{field.column}" IS NOT NULL AND r."{target_pk}" IS NULL'
            )
            (orphans,) = cursor.fetchone()
            if orphans:
                raise RuntimeError(f"{orphans} rows of {table}.{field.column} point nowhere")
    cursor.execute("SET LOCAL session_replication_role = origin")


def _return_slots(
    orders: Sequence[OrderData], catalog: Sequence[CatalogItem]
) -> list[tuple[str, str]]:
    """One (order, line_ref) per unit the default policy lets customers return.

    Ordered unit by unit, line position by line position, order by order: consecutive
    requests hit different orders, and a slot is never used twice, so no request can fail
    because an earlier one took the unit.
    """
    returnable_skus = {
        v.sku for c in catalog if c.returnable_by_default_policy for v in c.data.variants
    }
    max_units = max(li.quantity for o in orders for li in o.lines)
    max_lines = max(len(o.lines) for o in orders)
    slots = []
    for unit in range(1, max_units + 1):
        for position in range(max_lines):
            for o in orders:
                if position < len(o.lines):
                    li = o.lines[position]
                    if li.sku in returnable_skus and li.quantity >= unit:
                        slots.append((o.number, li.line_ref))
    return slots


# -- verification: the real services agree with the COPYed rows -------------------------------


class _RollBack(Exception):
    pass


def _fields(obj: Model, exclude: Iterable[str]) -> dict[str, Any]:
    skip = set(exclude)
    return {
        f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.name not in skip
    }


def _verify(
    merchant: Merchant, catalog: Sequence[CatalogItem], orders: Sequence[OrderData], k: int
) -> int:
    """Run the services on ``k`` sampled orders and products, compare, roll everything back."""
    rng = random.Random(7)
    sample = rng.sample(list(orders), min(k, len(orders)))
    products = rng.sample(list(catalog), min(k, len(catalog)))
    problems: list[str] = []
    try:
        with transaction.atomic():
            for item in products:
                p = item.data
                before = Product.objects.get(merchant=merchant, external_id=p.external_id)
                vs_before = {
                    v.sku: model_to_dict(v) for v in Variant.objects.filter(product=before)
                }
                upsert_product(merchant=merchant, data=p)
                after = Product.objects.get(pk=before.pk)
                if model_to_dict(before) != model_to_dict(after):
                    problems.append(
                        f"product {p.external_id}: "
                        f"{model_to_dict(before)} != {model_to_dict(after)}"
                    )
                vs_after = {v.sku: model_to_dict(v) for v in Variant.objects.filter(product=before)}
                if vs_before != vs_after:
                    problems.append(f"variants of {p.external_id} differ")
            for data in sample:
                seeded = Order.objects.get(merchant=merchant, number=data.number)
                customer_before = Customer.objects.get(pk=seeded.customer_id)
                twin_data = dataclasses.replace(
                    data,
                    number=f"{data.number}-v",
                    payments=[
                        dataclasses.replace(p, reference=f"{p.reference}-v") for p in data.payments
                    ],
                )
                twin, created = upsert_order(merchant=merchant, data=twin_data)
                assert created
                skip_order = ("id", "number", "created_at", "updated_at")
                if _fields(seeded, skip_order) != _fields(twin, skip_order):
                    problems.append(
                        f"order {data.number}: "
                        f"{_fields(seeded, skip_order)} != {_fields(twin, skip_order)}"
                    )
                skip = ("id", "order")
                a = [_fields(li, skip) for li in seeded.lines.order_by("line_ref")]
                b = [_fields(li, skip) for li in twin.lines.order_by("line_ref")]
                if a != b:
                    problems.append(f"lines of {data.number}: {a} != {b}")
                skip = ("id", "order", "reference")
                a = [_fields(p, skip) for p in seeded.payments.all()]
                b = [_fields(p, skip) for p in twin.payments.all()]
                if a != b:
                    problems.append(f"payments of {data.number}: {a} != {b}")
                customer_after = Customer.objects.get(pk=seeded.customer_id)
                units = sum(li.quantity for li in data.lines)
                expected = _fields(customer_before, ("units_bought",))
                if _fields(customer_after, ("units_bought",)) != expected or (
                    customer_after.units_bought != customer_before.units_bought + units
                ):
                    problems.append(f"customer of {data.number} was not matched or differs")
            raise _RollBack
    except _RollBack:
        pass
    if problems:
        for p in problems[:10]:
            print(f"VERIFY FAILED: {p}", file=sys.stderr)
        raise SystemExit(f"{len(problems)} seeded rows differ from what the services write")
    return len(sample)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=int(os.environ.get("BENCH_LINES", 100_000)))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("BENCH_SEED", 42)))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--verify", type=int, default=25, help="orders/products to re-create with the services"
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("bench/seed.py needs PostgreSQL (AWDA_DATABASE_URL=postgres://…)")
    info = seed(lines=args.lines, seed_value=args.seed, out=args.out, verify=args.verify)
    t = info["timings"]
    c = info["counts"]
    print(
        f"seeded {c['order_lines']:,} lines in {c['orders']:,} orders "
        f"({c['customers']:,} customers, {c['products']:,} products, {c['variants']:,} variants, "
        f"{c['payments']:,} payments) = {info['rows']:,} rows"
    )
    print(
        f"seeding time {t['total_s']:.2f} s (generate {t['generate_s']:.2f} s, "
        f"COPY {t['copy_s']:.2f} s = {info['rows_per_s']:,} rows/s, "
        f"vacuum/analyze {t['analyze_s']:.2f} s); {info['lines_per_s_total']:,} lines/s overall"
    )
    print(
        f"verified {info['verified_orders']} orders and products against the real services; "
        f"{info['return_slots']:,} returnable units for create-return"
    )


if __name__ == "__main__":
    main()
