"""Catalog use cases: keeping products and variants in step with the store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from awda.catalog.models import Category, Product, Supplier, Variant
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
