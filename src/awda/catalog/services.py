"""Catalog use cases: keeping products and variants in step with the store, and holding
stock for exchanges."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from awda.catalog.errors import OutOfStock
from awda.catalog.models import Category, Location, Product, Stock, Supplier, Variant
from awda.core.errors import Conflict, InvalidInput
from awda.merchants.models import Merchant


@dataclass(frozen=True)
class VariantData:
    sku: str
    price_minor: int
    options: dict[str, str] = field(default_factory=dict)
    barcode: str = ""


@dataclass(frozen=True)
class ProductData:
    external_id: str
    title_en: str
    title_ar: str = ""
    category_code: str | None = None
    category_name_en: str | None = None
    category_name_ar: str | None = None
    supplier_code: str | None = None
    supplier_name: str | None = None
    tags: Sequence[str] = ()
    final_sale: bool = False
    returnable: bool = True
    image_url: str = ""
    variants: Sequence[VariantData] = ()


def upsert_product(*, merchant: Merchant, data: ProductData) -> Product:
    """Create or update a product, its category, supplier and variants.

    Runs inside the caller's transaction (order upserts call it for each unknown SKU).
    """
    category = None
    if data.category_code:
        category, _ = Category.objects.get_or_create(
            merchant=merchant,
            code=data.category_code,
            defaults={
                "name_en": data.category_name_en or data.category_code,
                "name_ar": data.category_name_ar or "",
            },
        )
    supplier = None
    if data.supplier_code:
        supplier, _ = Supplier.objects.get_or_create(
            merchant=merchant,
            code=data.supplier_code,
            defaults={"name": data.supplier_name or data.supplier_code},
        )
    product, _ = Product.objects.update_or_create(
        merchant=merchant,
        external_id=data.external_id,
        defaults={
            "title_en": data.title_en,
            "title_ar": data.title_ar,
            "category": category,
            "supplier": supplier,
            "tags": sorted(set(data.tags)),
            "final_sale": data.final_sale,
            "returnable": data.returnable,
            "image_url": data.image_url,
        },
    )
    for v in data.variants:
        Variant.objects.update_or_create(
            merchant=merchant,
            sku=v.sku,
            defaults={
                "product": product,
                "price_minor": v.price_minor,
                "currency": merchant.currency,
                "options": dict(v.options),
                "barcode": v.barcode,
            },
        )
    return product


# -- stock held for exchanges ---------------------------------------------------------------


@dataclass(frozen=True)
class StockTake:
    """Units of one stock row (a variant at a location) held or moved by one call."""

    stock_id: int
    variant_id: int
    quantity: int


def _lock_stock(**filters: object) -> list[Stock]:
    # Rows locked in primary-key order, everywhere, so two exchanges reserving the same
    # variants (in whatever order their items name them) queue instead of deadlocking.
    return list(Stock.objects.select_for_update().filter(**filters).order_by("pk"))


def reserve_stock(*, merchant_id: int, wants: Mapping[int, int]) -> list[StockTake]:
    """Hold ``{variant_id: units}`` from what is on hand and not yet held, in the caller's
    transaction; the default location gives first, then the others in the order they were
    created. Raises ``OutOfStock`` (``details``: the SKU and the units still available)
    naming the first variant that can't be covered; then nothing is held.
    """
    if any(quantity < 1 for quantity in wants.values()):
        raise InvalidInput(_("Quantity must be at least 1."), field="quantity")
    rows = _lock_stock(merchant_id=merchant_id, variant_id__in=list(wants))
    default = set(
        Location.objects.filter(merchant_id=merchant_id, is_default=True).values_list(
            "pk", flat=True
        )
    )
    takes: list[StockTake] = []
    for variant_id in sorted(wants):
        needed = wants[variant_id]
        mine = sorted(
            (r for r in rows if r.variant_id == variant_id),
            key=lambda r: (r.location_id not in default, r.pk),
        )
        available = sum(max(r.available, 0) for r in mine)
        if available < needed:
            sku = Variant.objects.filter(pk=variant_id).values_list("sku", flat=True).first()
            raise OutOfStock(details={"sku": sku or "", "available": available})
        for row in mine:
            units = min(needed, max(row.available, 0))
            if units:
                takes.append(StockTake(row.pk, variant_id, units))
                needed -= units
            if not needed:
                break
    for take in takes:
        # The CHECK reserved <= on_hand stands behind this arithmetic.
        Stock.objects.filter(pk=take.stock_id).update(reserved=F("reserved") + take.quantity)
    return takes


def release_stock(*, takes: Sequence[StockTake]) -> None:
    """Give held units back to what shoppers may choose (an exchange that won't ship)."""
    _move_stock(takes, on_hand=False)


def consume_stock(*, takes: Sequence[StockTake]) -> None:
    """Held units left with a replacement order: no longer held, no longer on hand."""
    _move_stock(takes, on_hand=True)


def _move_stock(takes: Sequence[StockTake], *, on_hand: bool) -> None:
    _lock_stock(pk__in=sorted({t.stock_id for t in takes}))
    for take in sorted(takes, key=lambda t: t.stock_id):
        changes = {"reserved": F("reserved") - take.quantity}
        if on_hand:
            changes["on_hand"] = F("on_hand") - take.quantity
        Stock.objects.filter(pk=take.stock_id).update(**changes)


def set_stock_levels(
    *,
    merchant: Merchant,
    levels: Mapping[str, int],
    location_code: str = "main",
    location_name: str = "Main warehouse",
) -> int:
    """Set units on hand per SKU at one location (created, as the default if the merchant
    has none, on first use), as a store's stock sync or a CSV would; returns rows written.

    A level below the units held for exchanges there is refused (``Conflict``).
    """
    with transaction.atomic():
        location = Location.objects.filter(merchant=merchant, code=location_code).first()
        if location is None:
            location = Location.objects.create(
                merchant=merchant,
                code=location_code,
                name=location_name,
                is_default=not Location.objects.filter(merchant=merchant, is_default=True).exists(),
            )
        variants = dict(
            Variant.objects.for_merchant(merchant)
            .filter(sku__in=list(levels))
            .values_list("sku", "pk")
        )
        unknown = sorted(set(levels) - set(variants))
        if unknown:
            raise InvalidInput(_("Unknown SKU."), field="levels", details={"skus": unknown})
        existing = {
            s.variant_id: s
            for s in _lock_stock(location=location, variant_id__in=variants.values())
        }
        for sku, on_hand in sorted(levels.items()):
            row = existing.get(variants[sku])
            if on_hand < 0:
                raise InvalidInput(
                    _("Stock can't be negative."), field="levels", details={"sku": sku}
                )
            if row is not None and on_hand < row.reserved:
                raise Conflict(
                    _("Stock can't go below the units held for exchanges."),
                    field="levels",
                    details={"sku": sku, "reserved": row.reserved},
                )
            if row is None:
                Stock.objects.create(
                    merchant=merchant, variant_id=variants[sku], location=location, on_hand=on_hand
                )
            else:
                Stock.objects.filter(pk=row.pk).update(on_hand=on_hand)
        return len(levels)
