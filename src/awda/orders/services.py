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
from awda.core import clock
from awda.core.db import lock_in_order, lock_keys
from awda.core.errors import Conflict, DomainError, InvalidInput
from awda.core.money import allocate_minor, exponent
from awda.core.outbox import record_event
from awda.merchants.models import Merchant
from awda.orders.models import (
    Customer,
    LineRefund,
    LineRefundKind,
    Order,
    OrderKind,
    OrderLine,
    Payment,
    PaymentMethod,
    ReplacementStatus,
)
from awda.orders.rules import (
    line_paid_minor,
    line_tax_minor,
    normalise_email,
    normalise_phone,
    split_lines_over_parts,
)


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
                "paid_minor": line_paid_minor(
                    unit_price_minor=li.unit_price_minor,
                    quantity=li.quantity,
                    discount_minor=discount,
                    tax_minor=tax,
                    prices_include_tax=data.prices_include_tax,
                ),
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
    """Count ``(payment_id, amount_minor)`` parts as refunded on the order's payments, which
    are locked first in primary-key order (so two refunds of one order can't deadlock); the
    database refuses a payment refunded above what it captured
    (``payment_refund_within_captured``). Negative amounts give a part back (a refund the
    gateway refused). Refunds are counted on the payments by ``save_refunded``.
    """
    ids = sorted({payment_id for payment_id, _amount in parts})
    list(Payment.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    for payment_id, amount in sorted(parts):
        Payment.objects.filter(pk=payment_id).update(refunded_minor=F("refunded_minor") + amount)


def lock_payments_of(*, merchant_ids: Sequence[int], order_ids: Sequence[int]) -> list[Payment]:
    """The orders' payments, locked in primary-key order (several refunds split at once)."""
    if not order_ids:
        return []
    return list(
        Payment.objects.select_for_update()
        .filter(merchant_id__in=sorted(set(merchant_ids)), order_id__in=sorted(set(order_ids)))
        .order_by("pk")
    )


def save_refunded(*, payments: Sequence[Payment]) -> None:
    """Write the locked payments' new ``refunded_minor`` (one statement); the database
    refuses one refunded above what it captured (``payment_refund_within_captured``)."""
    unique = {payment.pk: payment for payment in payments}
    if unique:
        Payment.objects.bulk_update([unique[pk] for pk in sorted(unique)], ["refunded_minor"])


def lock_money_rows(*, order_ids: Sequence[int], line_ids: Sequence[int]) -> None:
    """Lock the orders' payments, then the lines, each in primary-key order: what several
    resolutions issued in one transaction will count their money on (the order every
    single resolution keeps, so the two queue instead of deadlocking)."""
    if order_ids:
        lock_in_order(Payment.objects.filter(order_id__in=sorted(set(order_ids))))
    if line_ids:
        lock_in_order(OrderLine.objects.filter(pk__in=sorted(set(line_ids))))


# -- what each line has given back ---------------------------------------------------------------


class LineRefundExceedsPaid(DomainError):
    code = "line_refund_exceeds_paid"
    status = 409
    default_message = _("This would give back more than was paid for an order line.")


@dataclass(frozen=True)
class LineCount:
    """One resolution's money counted against what was paid for its order lines:
    ``lines`` ``(order_line_id, amount_minor)``, recorded per part ``(idempotency_key,
    amount_minor)`` — a card refund's part on each payment, or the one part of a transfer
    or a credit grant."""

    merchant_id: int
    kind: LineRefundKind | str
    reference: str
    lines: Sequence[tuple[int, int]]
    parts: Sequence[tuple[str, int]]

    def wanted(self) -> dict[int, int]:
        """The amount asked of each line (lines named twice add up; zeros left out)."""
        wanted: dict[int, int] = {}
        for line_id, amount in self.lines:
            if amount < 0:
                raise ValueError("line amounts must not be negative")
            if amount:
                wanted[line_id] = wanted.get(line_id, 0) + amount
        return wanted


def count_refunds_on_lines(counts: Sequence[LineCount]) -> None:
    """Count resolutions against what was paid for each of their lines, each once per key
    (a count whose keys are already recorded was made by an earlier call, and is skipped).

    Lock order: the caller holds the orders' payments when the money touches them; the
    lines are locked next, all at once in primary-key order, and store-credit accounts
    after them. Every caller keeps that order, so two resolutions of one order queue
    instead of deadlocking. The counts are checked in turn against the locked lines, each
    after those before it; more than a line has left raises ``LineRefundExceedsPaid`` before
    anything is written (all or nothing), and the CHECK ``line_refund_within_paid`` backs
    that up. Four statements however many counts.
    """
    wanted = [(count, count.wanted()) for count in counts]
    wanted = [(count, asked) for count, asked in wanted if asked]
    if not wanted:
        return
    line_ids = sorted({line_id for _count, asked in wanted for line_id in asked})
    merchants = {count.merchant_id for count, _asked in wanted}
    locked = {
        line.pk: line
        for line in OrderLine.objects.select_for_update()
        .filter(merchant_id__in=sorted(merchants), pk__in=line_ids)
        .only("pk", "merchant_id", "line_ref", "paid_minor", "refunded_minor")  # a cap's all
        .order_by("pk")
    }
    recorded = set(
        LineRefund.objects.filter(
            merchant_id__in=sorted(merchants),
            key__in=[key for count, _asked in wanted for key, _amount in count.parts],
        ).values_list("merchant_id", "key")
    )
    now = clock.now()
    rows: list[LineRefund] = []
    changed: dict[int, OrderLine] = {}
    for count, asked in wanted:
        if any((count.merchant_id, key) in recorded for key, _amount in count.parts):
            continue  # counted by an earlier call with the same keys
        if any(
            line_id not in locked or locked[line_id].merchant_id != count.merchant_id
            for line_id in asked
        ):
            raise InvalidInput(_("This order has no such line."), field="lines")
        for line_id, amount in sorted(asked.items()):
            line = locked[line_id]
            if line.refunded_minor + amount > line.paid_minor:
                raise LineRefundExceedsPaid(
                    field="lines",
                    details={
                        "line_ref": line.line_ref,
                        "paid_minor": line.paid_minor,
                        "refunded_minor": line.refunded_minor,
                        "requested_minor": amount,
                    },
                )
        for line_id, amount in asked.items():
            locked[line_id].refunded_minor += amount  # the next count sees this one
            changed[line_id] = locked[line_id]
        rows += [
            LineRefund(
                merchant_id=count.merchant_id,
                order_line_id=line_id,
                key=key,
                kind=count.kind,
                reference=count.reference[:80],
                amount_minor=amount,
                created_at=now,
            )
            for key, line_id, amount in split_lines_over_parts(sorted(asked.items()), count.parts)
        ]
    if not rows:
        return
    # The lines are locked: their new totals are written as values, in one statement.
    OrderLine.objects.bulk_update(
        [changed[line_id] for line_id in sorted(changed)], ["refunded_minor"]
    )
    LineRefund.objects.bulk_create(rows)


def release_line_refunds(*, merchant_id: int, key: str) -> int:
    """Give the lines back what the part ``key`` counted on them (money that never went
    out, e.g. a refund the gateway refused); once, however often called. The caller holds
    the transaction (and the payments, when it gives them back too). Returns the amount."""
    rows = list(
        LineRefund.objects.filter(merchant_id=merchant_id, key=key, released_at__isnull=True)
        .order_by("order_line_id")
        .values_list("pk", "order_line_id", "amount_minor")
    )
    if not rows:
        return 0
    list(
        OrderLine.objects.select_for_update()
        .filter(pk__in=sorted({line_id for _pk, line_id, _amount in rows}))
        .order_by("pk")
    )
    now = clock.now()
    released = 0
    for pk, line_id, amount in rows:
        # Compare-and-swap on the row: a second release of the same part gives nothing back.
        if LineRefund.objects.filter(pk=pk, released_at__isnull=True).update(released_at=now):
            OrderLine.objects.filter(pk=line_id).update(refunded_minor=F("refunded_minor") - amount)
            released += amount
    return released


# -- replacement orders (exchanges) -----------------------------------------------------------


@dataclass(frozen=True)
class ReplacementLine:
    """New units for an exchange, at the price agreed when it was asked, taxed like the
    line of the original order they replace."""

    variant_id: int
    quantity: int
    unit_price_minor: int
    replaces_line_id: int


def _replacement_data(
    original: Order, number: str, lines: Sequence[ReplacementLine], now: datetime
) -> tuple[OrderData, list[Variant]]:
    by_id = {
        v.pk: v
        for v in Variant.objects.filter(
            merchant_id=original.merchant_id, pk__in=[li.variant_id for li in lines]
        ).select_related("product")
    }
    rates = dict(
        OrderLine.objects.filter(
            order_id=original.pk, pk__in=[li.replaces_line_id for li in lines]
        ).values_list("pk", "tax_rate")
    )
    variants = [by_id[li.variant_id] for li in lines]
    data = OrderData(
        number=number,
        currency=original.currency,
        placed_at=now,
        customer=CustomerData(),
        lines=[
            LineData(
                line_ref=str(n),
                sku=variant.sku,
                title_en=variant.product.title_en,
                title_ar=variant.product.title_ar,
                quantity=li.quantity,
                unit_price_minor=li.unit_price_minor,
                tax_rate=rates.get(li.replaces_line_id, Decimal(0)),
                delivered_quantity=0,
            )
            for n, (li, variant) in enumerate(zip(lines, variants, strict=True), start=1)
        ],
        payment_method=original.payment_method,
        prices_include_tax=original.prices_include_tax,
        shipping_country=original.shipping_country,
        shipping_address=dict(original.shipping_address),
    )
    return data, variants


def price_replacement(*, original_order_id: int, lines: Sequence[ReplacementLine]) -> int:
    """What a replacement order of ``lines`` would total (tax added where the original's
    prices exclude it): the figure an exchange weighs against the returned items."""
    original = Order.objects.get(pk=original_order_id)
    data, _variants = _replacement_data(original, "", lines, clock.now())
    columns, _lines = order_columns(data)
    return int(columns["total_minor"])


def create_replacement_order(
    *,
    merchant_id: int,
    original_order_id: int,
    number: str,
    lines: Sequence[ReplacementLine],
    exchange_credit_minor: int,
    collect_on_delivery: bool,
    held: bool,
    reference: str,
) -> Order:
    """The order that sends an exchange's new items (once per ``number``).

    Its total is what the items cost; ``exchange_credit_minor`` of it (at most the total) is
    paid by the returned items. The rest is collected in cash by the courier when
    ``collect_on_delivery``, or paid by link first (``held``: the store gets the order only
    once it is released). ``ReplacementOrderCreated`` tells the store connectors.
    """
    existing = Order.objects.filter(merchant_id=merchant_id, number=number).first()
    if existing is not None:
        return existing
    if not lines or any(li.quantity < 1 or li.unit_price_minor < 0 for li in lines):
        raise InvalidInput(_("A replacement needs at least one item."), field="lines")
    with transaction.atomic():
        original = Order.objects.select_related("customer").get(
            pk=original_order_id, merchant_id=merchant_id
        )
        data, variants = _replacement_data(original, number, lines, clock.now())
        columns, line_rows = order_columns(data)
        total = int(columns["total_minor"])
        credit = min(max(exchange_credit_minor, 0), total)
        collect = total - credit if collect_on_delivery else 0
        if collect:
            columns["payment_method"] = PaymentMethod.CASH_ON_DELIVERY
        order = Order.objects.create(
            merchant_id=merchant_id,
            number=number,
            customer=original.customer,
            kind=OrderKind.REPLACEMENT,
            replaces=original,
            replacement_status=ReplacementStatus.HELD if held else ReplacementStatus.READY,
            exchange_credit_minor=credit,
            collect_on_delivery_minor=collect,
            **columns,
        )
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    merchant_id=merchant_id,
                    order=order,
                    variant=variant,
                    product=variant.product,
                    **row,
                )
                for row, variant in zip(line_rows, variants, strict=True)
            ]
        )
        record_event(
            "ReplacementOrderCreated",
            {
                "order_id": order.pk,
                "number": order.number,
                "replaces_order_id": original.pk,
                "replaces_number": original.number,
                "reference": reference,
                "status": order.replacement_status,
                "total_minor": total,
                "exchange_credit_minor": credit,
                "collect_on_delivery_minor": collect,
                "currency": order.currency,
            },
            merchant_id=merchant_id,
            aggregate_type="order",
            aggregate_id=order.pk,
        )
        return order


def release_replacement_order(*, order_id: int, payment: PaymentData | None = None) -> bool:
    """A held replacement may go to the store now (its difference was paid, recorded as
    ``payment``); False when it wasn't held (already released, or cancelled)."""
    with transaction.atomic():
        released = Order.objects.filter(
            pk=order_id, kind=OrderKind.REPLACEMENT, replacement_status=ReplacementStatus.HELD
        ).update(replacement_status=ReplacementStatus.READY, updated_at=clock.now())
        if not released:
            return False
        order = Order.objects.get(pk=order_id)
        if payment is not None:
            Payment.objects.create(
                merchant_id=order.merchant_id,
                order=order,
                gateway=payment.gateway,
                reference=payment.reference,
                method=payment.method,
                currency=order.currency,
                captured_minor=payment.captured_minor,
                card_last4=payment.card_last4,
            )
        record_event(
            "ReplacementOrderReleased",
            {"order_id": order.pk, "number": order.number, "status": order.replacement_status},
            merchant_id=order.merchant_id,
            aggregate_type="order",
            aggregate_id=order.pk,
        )
        return True


def mark_replacement_pushed(*, order_id: int) -> bool:
    """The store has the replacement now: it can no longer be withdrawn in Awda. False when
    it wasn't ready (a cancel that won the race leaves it as it is)."""
    return bool(
        Order.objects.filter(
            pk=order_id, kind=OrderKind.REPLACEMENT, replacement_status=ReplacementStatus.READY
        ).update(replacement_status=ReplacementStatus.PUSHED, updated_at=clock.now())
    )


def cancel_replacement_order(*, order_id: int) -> bool:
    """Withdraw a replacement the store hasn't been sent yet; False when it can't be."""
    with transaction.atomic():
        cancelled = Order.objects.filter(
            pk=order_id,
            kind=OrderKind.REPLACEMENT,
            replacement_status__in=[ReplacementStatus.HELD, ReplacementStatus.READY],
        ).update(replacement_status=ReplacementStatus.CANCELLED, updated_at=clock.now())
        if not cancelled:
            return False
        order = Order.objects.get(pk=order_id)
        record_event(
            "ReplacementOrderCancelled",
            {"order_id": order.pk, "number": order.number},
            merchant_id=order.merchant_id,
            aggregate_type="order",
            aggregate_id=order.pk,
        )
        return True
