"""API shapes for orders (in and out)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Schema
from pydantic import ConfigDict, Field

from awda.core.schemas import UtcDatetime
from awda.orders.models import PaymentMethod
from awda.orders.services import (
    CustomerData,
    LineData,
    LineProductData,
    OrderData,
    PaymentData,
)


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class CustomerIn(_In):
    external_id: str | None = Field(default=None, max_length=80)
    email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=32)
    name: str = Field(default="", max_length=160)
    language: str = Field(default="", max_length=5)
    tags: list[str] = []


class LineProductIn(_In):
    external_id: str = Field(max_length=80)
    category: str | None = Field(default=None, max_length=60)
    category_ar: str | None = Field(default=None, max_length=120)
    supplier: str | None = Field(default=None, max_length=60)
    tags: list[str] = []
    final_sale: bool = False
    returnable: bool = True
    image_url: str = ""


class LineIn(_In):
    line_ref: str = Field(min_length=1, max_length=80)
    sku: str = Field(default="", max_length=80)
    title_en: str = Field(min_length=1, max_length=200)
    title_ar: str = Field(default="", max_length=200)
    quantity: int = Field(ge=1, le=100_000)
    unit_price_minor: int = Field(ge=0)
    discount_minor: int = Field(default=0, ge=0)
    tax_rate: Decimal = Field(default=Decimal(0), ge=0, le=100)
    tax_minor: int | None = Field(default=None, ge=0)
    delivered_quantity: int | None = Field(default=None, ge=0)
    product: LineProductIn | None = None


class PaymentIn(_In):
    gateway: str = Field(min_length=1, max_length=40)
    reference: str = Field(min_length=1, max_length=120)
    method: PaymentMethod
    captured_minor: int = Field(ge=0)
    refunded_minor: int = Field(default=0, ge=0)
    card_last4: str = Field(default="", max_length=4)


class OrderIn(_In):
    currency: str = Field(min_length=3, max_length=3)
    placed_at: UtcDatetime
    customer: CustomerIn
    lines: list[LineIn] = Field(min_length=1, max_length=500)
    payment_method: PaymentMethod = PaymentMethod.CARD
    external_id: str = Field(default="", max_length=80)
    prices_include_tax: bool = True
    fulfilled_at: UtcDatetime | None = None
    delivered_at: UtcDatetime | None = None
    discount_minor: int = Field(default=0, ge=0)
    shipping_minor: int = Field(default=0, ge=0)
    shipping_country: str = Field(default="", max_length=2)
    shipping_address: dict[str, str] = {}
    tags: list[str] = []
    payments: list[PaymentIn] = []
    total_minor: int | None = Field(default=None, ge=0)

    def to_data(self, number: str) -> OrderData:
        return OrderData(
            number=number,
            currency=self.currency.upper(),
            placed_at=self.placed_at,
            customer=CustomerData(**self.customer.model_dump()),
            lines=[
                LineData(
                    **line.model_dump(exclude={"product"}),
                    product=LineProductData(**line.product.model_dump()) if line.product else None,
                )
                for line in self.lines
            ],
            payment_method=self.payment_method,
            external_id=self.external_id,
            prices_include_tax=self.prices_include_tax,
            fulfilled_at=self.fulfilled_at,
            delivered_at=self.delivered_at,
            discount_minor=self.discount_minor,
            shipping_minor=self.shipping_minor,
            shipping_country=self.shipping_country,
            shipping_address=self.shipping_address,
            tags=self.tags,
            payments=[PaymentData(**p.model_dump()) for p in self.payments],
            total_minor=self.total_minor,
        )


class LineOut(Schema):
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


class PaymentOut(Schema):
    gateway: str
    reference: str
    method: str
    captured_minor: int
    refunded_minor: int


class OrderOut(Schema):
    number: str
    currency: str
    payment_method: str
    prices_include_tax: bool
    placed_at: datetime
    delivered_at: datetime | None
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int
    tax_minor: int
    total_minor: int
    customer_email: str = Field(validation_alias="customer.email")
    lines: list[LineOut]
    payments: list[PaymentOut]
