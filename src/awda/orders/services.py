"""Order use cases: upserting orders pushed by a store, the API or a CSV import."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from awda.catalog.models import Variant
from awda.catalog.services import ProductData, VariantData, upsert_product
from awda.core.db import lock_keys
from awda.core.errors import Conflict, InvalidInput
from awda.core.money import allocate_minor, exponent
from awda.merchants.models import Merchant
from awda.orders.models import Customer, Order, OrderLine, Payment, PaymentMethod
from awda.orders.rules import line_tax_minor, normalise_email, normalise_phone


@dataclass(frozen=True)
class CustomerData:
    external_id: str | None = None
    email: str = ""
    phone: str = ""
    name: str = ""
    language: str = ""
    tags: Sequence[str] = ()


@dataclass(frozen=True)
class LineProductData:
    """Catalog facts sent with a line whose SKU Awda doesn't know yet."""

    external_id: str
    category: str | None = None
    category_ar: str | None = None
    supplier: str | None = None
    tags: Sequence[str] = ()
    final_sale: bool = False
    returnable: bool = True
    image_url: str = ""


@dataclass(frozen=True)
class LineData:
    line_ref: str
    title_en: str
    quantity: int
    unit_price_minor: int
    sku: str = ""
    title_ar: str = ""
    discount_minor: int = 0
    tax_rate: Decimal = Decimal(0)
    tax_minor: int | None = None  # computed from tax_rate when not given
    delivered_quantity: int | None = None  # all units when the order is delivered
    product: LineProductData | None = None


@dataclass(frozen=True)
class PaymentData:
    gateway: str
    reference: str
    method: str
    captured_minor: int
    refunded_minor: int = 0
    card_last4: str = ""


@dataclass(frozen=True)
class OrderData:
    number: str
    currency: str
    placed_at: datetime
    customer: CustomerData
    lines: Sequence[LineData]
    payment_method: str = PaymentMethod.CARD
    external_id: str = ""
    prices_include_tax: bool = True
    fulfilled_at: datetime | None = None
    delivered_at: datetime | None = None
    discount_minor: int = 0
    shipping_minor: int = 0
    shipping_country: str = ""
    shipping_address: dict[str, str] = field(default_factory=dict)
    tags: Sequence[str] = ()
    payments: Sequence[PaymentData] = ()
    total_minor: int | None = None


def validate_order(data: OrderData, *, merchant: Merchant) -> None:
    """Raise ``InvalidInput`` naming the first field that makes no sense."""
    try:
        exponent(data.currency)
    except ValueError:
        raise InvalidInput(_("Unknown currency."), field="currency") from None
    if data.currency != merchant.currency:
        # Policies, fees and thresholds are in the store's currency; several currencies per
        # store would need exchange rates fixed at order time, which Awda doesn't keep yet.
        raise InvalidInput(
            _("Orders must be in the store's currency (%(currency)s).")
            % {"currency": merchant.currency},
            field="currency",
        )
    if data.payment_method not in PaymentMethod.values:
        raise InvalidInput(_("Unknown payment method."), field="payment_method")
    if not data.lines:
        raise InvalidInput(_("An order needs at least one line."), field="lines")
    if not (data.customer.email or data.customer.phone or data.customer.external_id):
        raise InvalidInput(_("A customer needs an email, a phone or an id."), field="customer")
    seen: set[str] = set()
    for i, line in enumerate(data.lines):
        where = f"lines.{i}"
        if line.line_ref in seen:
            raise InvalidInput(_("Line ids must be unique in an order."), field=f"{where}.line_ref")
        seen.add(line.line_ref)
        if line.quantity < 1:
            raise InvalidInput(_("Quantity must be at least 1."), field=f"{where}.quantity")
        if line.unit_price_minor < 0:
            raise InvalidInput(_("A price can't be negative."), field=f"{where}.unit_price_minor")
        if line.discount_minor < 0 or line.discount_minor > line.unit_price_minor * line.quantity:
            raise InvalidInput(
                _("The discount must be between zero and the line's amount."),
                field=f"{where}.discount_minor",
            )
        if (
            line.delivered_quantity is not None
            and not 0 <= line.delivered_quantity <= line.quantity
        ):
            raise InvalidInput(
                _("Delivered quantity must be between 0 and the quantity ordered."),
                field=f"{where}.delivered_quantity",
            )
    gross = sum(li.unit_price_minor * li.quantity - li.discount_minor for li in data.lines)
    if data.discount_minor < 0 or data.discount_minor > gross:
        raise InvalidInput(
            _("The order discount must be between zero and the lines' amount."),
            field="discount_minor",
        )
    for i, p in enumerate(data.payments):
        if p.method not in PaymentMethod.values:
            raise InvalidInput(_("Unknown payment method."), field=f"payments.{i}.method")
        if p.captured_minor < 0 or not 0 <= p.refunded_minor <= p.captured_minor:
            raise InvalidInput(
                _("Refunded must be between zero and the captured amount."),
                field=f"payments.{i}.refunded_minor",
            )


def _upsert_customer(merchant: Merchant, data: CustomerData) -> Customer:
    email = normalise_email(data.email)
    phone = normalise_phone(data.phone)
    # Two orders of a new customer arriving at once must not create the customer twice.
    lock_keys(
        f"customer:{merchant.pk}:{kind}:{value}"
        for kind, value in (("id", data.external_id), ("email", email), ("phone", phone))
        if value
    )
    qs = Customer.objects.for_merchant(merchant)
    customer = None
    if data.external_id:
        customer = qs.filter(external_id=data.external_id).first()
    if customer is None and email:
        customer = qs.filter(email=email).order_by("pk").first()
    if customer is None and phone:
        customer = qs.filter(phone=phone).order_by("pk").first()
    if customer is None:
        customer = Customer(merchant=merchant)
    customer.external_id = data.external_id or customer.external_id
    customer.email = email or customer.email
    customer.phone = phone or customer.phone
    customer.name = data.name or customer.name
    customer.language = data.language or customer.language
    if data.tags:
        customer.tags = sorted(set(data.tags))
    customer.save()
    return customer


def upsert_order(*, merchant: Merchant, data: OrderData) -> tuple[Order, bool]:
    """Create or update an order with its customer, lines and payments; returns (order, created)."""
    validate_order(data, merchant=merchant)
    try:
        with transaction.atomic():
            return _upsert_order(merchant, data)
    except IntegrityError as exc:
        # Only reachable when an update would shrink a line below units already returned.
        raise Conflict(
            _("This change conflicts with units already returned."),
            details={"reason": str(exc).splitlines()[0][:200]},
        ) from None


def order_columns(data: OrderData) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The order's and its lines' money and quantity columns, as an upsert stores them.

    Pure: the order discount spread over lines by largest remainder, each line's tax, the
    totals. Relations (customer, variant, product) and counters are left to the caller.
    """
    shares = allocate_minor(
        data.discount_minor,
        [li.unit_price_minor * li.quantity - li.discount_minor for li in data.lines],
    )
    delivered = data.delivered_at is not None
    lines: list[dict[str, Any]] = []
    subtotal = 0
    tax_total = 0
    for li, share in zip(data.lines, shares, strict=True):
        discount = li.discount_minor + share
        net = li.unit_price_minor * li.quantity - discount
        tax = (
            li.tax_minor
            if li.tax_minor is not None
            else line_tax_minor(
                net_minor=net, tax_rate=li.tax_rate, prices_include_tax=data.prices_include_tax
            )
        )
        subtotal += li.unit_price_minor * li.quantity
        tax_total += tax
        lines.append(
            {
                "line_ref": li.line_ref,
                "sku": li.sku,
                "title_en": li.title_en,
                "title_ar": li.title_ar,
                "quantity": li.quantity,
                "delivered_quantity": (
                    li.delivered_quantity
                    if li.delivered_quantity is not None
                    else (li.quantity if delivered else 0)
                ),
                "unit_price_minor": li.unit_price_minor,
                "discount_minor": discount,
                "tax_minor": tax,
                "tax_rate": li.tax_rate,
            }
        )
    line_discounts = sum(li.discount_minor for li in data.lines)
    computed_total = (
        subtotal
        - line_discounts
        - data.discount_minor
        + data.shipping_minor
        + (0 if data.prices_include_tax else tax_total)
    )
    order = {
        "external_id": data.external_id,
        "currency": data.currency,
        "payment_method": data.payment_method,
        "prices_include_tax": data.prices_include_tax,
        "placed_at": data.placed_at,
        "fulfilled_at": data.fulfilled_at,
        "delivered_at": data.delivered_at,
        "subtotal_minor": subtotal,
        "discount_minor": data.discount_minor + line_discounts,
        "shipping_minor": data.shipping_minor,
        "tax_minor": tax_total,
        "total_minor": data.total_minor if data.total_minor is not None else computed_total,
        "shipping_country": data.shipping_country.upper(),
        "shipping_address": dict(data.shipping_address),
        "tags": sorted(set(data.tags)),
    }
    return order, lines


def _upsert_order(merchant: Merchant, data: OrderData) -> tuple[Order, bool]:
    customer = _upsert_customer(merchant, data.customer)
    skus = {li.sku for li in data.lines if li.sku}
    variants = {
        v.sku: v
        for v in Variant.objects.for_merchant(merchant)
        .filter(sku__in=skus)
        .select_related("product")
    }
    for li in data.lines:
        if li.sku and li.sku not in variants and li.product is not None:
            upsert_product(
                merchant=merchant,
                data=ProductData(
                    external_id=li.product.external_id,
                    title_en=li.title_en,
                    title_ar=li.title_ar,
                    category_code=li.product.category,
                    category_name_ar=li.product.category_ar,
                    supplier_code=li.product.supplier,
                    tags=li.product.tags,
                    final_sale=li.product.final_sale,
                    returnable=li.product.returnable,
                    image_url=li.product.image_url,
                    variants=[VariantData(sku=li.sku, price_minor=li.unit_price_minor)],
                ),
            )
            variants[li.sku] = Variant.objects.select_related("product").get(
                merchant=merchant, sku=li.sku
            )

    order_fields, line_fields = order_columns(data)
    defaults = {**order_fields, "customer": customer}
    line_rows: list[dict[str, Any]] = []
    for row in line_fields:
        variant = variants.get(row["sku"])
        line_rows.append(
            {**row, "variant": variant, "product": variant.product if variant else None}
        )
    payment_rows: list[dict[str, Any]] = [
        {
            "gateway": p.gateway,
            "reference": p.reference,
            "method": p.method,
            "currency": data.currency,
            "captured_minor": p.captured_minor,
            "refunded_minor": p.refunded_minor,
            "card_last4": p.card_last4,
        }
        for p in data.payments
    ]
    order = (
        Order.objects.for_merchant(merchant).select_for_update().filter(number=data.number).first()
    )
    if order is None:
        try:
            # A savepoint: a concurrent upsert of the same new order wins the race, and
            # this one then updates what it created.
            with transaction.atomic():
                order = Order.objects.create(merchant=merchant, number=data.number, **defaults)
        except IntegrityError:
            order = Order.objects.select_for_update().get(merchant=merchant, number=data.number)
        else:
            # New order: plain bulk inserts, no per-row lookups.
            OrderLine.objects.bulk_create(
                [OrderLine(merchant=merchant, order=order, **row) for row in line_rows]
            )
            Payment.objects.bulk_create(
                [Payment(merchant=merchant, order=order, **row) for row in payment_rows]
            )
            _count_units(customer, sum(li.quantity for li in data.lines))
            return order, True
    for key, value in defaults.items():
        setattr(order, key, value)
    order.save()
    existing = {li.line_ref: li for li in order.lines.all()}
    units_before = sum(li.quantity for li in existing.values())
    wanted = {row["line_ref"] for row in line_rows}
    for ref, line in existing.items():
        if ref not in wanted:
            if line.returned_quantity:
                raise Conflict(
                    _("A line with returned units can't be removed."),
                    field="lines",
                    details={"line_ref": ref},
                )
            line.delete()
    for row in line_rows:
        OrderLine.objects.update_or_create(
            merchant=merchant, order=order, line_ref=row["line_ref"], defaults=row
        )
    for pay in payment_rows:
        Payment.objects.update_or_create(
            merchant=merchant,
            order=order,
            gateway=pay["gateway"],
            reference=pay["reference"],
            defaults=pay,
        )
    _count_units(customer, sum(li.quantity for li in data.lines) - units_before)
    return order, False


def _count_units(customer: Customer, units: int) -> None:
    if units:
        Customer.objects.filter(pk=customer.pk).update(units_bought=F("units_bought") + units)


def record_customer_return(*, customer_id: int, units: int, value_minor: int) -> None:
    """Count a return in the customer's history (called by an event handler)."""
    Customer.objects.filter(pk=customer_id).update(
        returns_count=F("returns_count") + 1,
        units_returned=F("units_returned") + units,
        returns_value_minor=F("returns_value_minor") + value_minor,
    )


def count_refund_on_payments(*, parts: Sequence[tuple[int, int]]) -> None:
    """Count ``(payment_id, amount_minor)`` parts as refunded on the order's payments.

    The payments are locked in primary-key order (so two refunds of one order can't
    deadlock); the database refuses a payment refunded above what it captured
    (``payment_refund_within_captured``), which the caller turns into its own error.
    Negative amounts give a part back (a refund the gateway refused).
    """
    ids = sorted({payment_id for payment_id, _amount in parts})
    list(Payment.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    for payment_id, amount in sorted(parts):
        Payment.objects.filter(pk=payment_id).update(refunded_minor=F("refunded_minor") + amount)


def lock_order_payments(*, merchant_id: int, order_id: int) -> list[Payment]:
    """The order's payments, locked in primary-key order, for a refund to be split on."""
    return list(
        Payment.objects.select_for_update()
        .filter(merchant_id=merchant_id, order_id=order_id)
        .order_by("pk")
    )
