"""The demo store: a bilingual catalog, orders with a history, and returns with timelines."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from awda.analytics import selectors
from awda.catalog.models import Category, Product, Supplier, Variant
from awda.core import clock
from awda.demo import DEMO_PASSWORD, DemoInfo, seed_demo
from awda.merchants.models import ApiKey, Merchant, StaffMembership
from awda.merchants.services import authenticate_api_key
from awda.orders.models import Order, OrderLine, Payment, PaymentMethod
from awda.returns.models import Return, ReturnItem, ReturnStatus, TimelineEntry
from awda.returns.services import ItemRequest, request_return

ARABIC = re.compile(r"[\u0600-\u06FF]")


@pytest.fixture
def demo(db: None, settings: Any) -> DemoInfo:
    # The owner's password is hashed and checked on every seed; a slow hasher only costs time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return seed_demo(orders=60, seed=3, progress=False)


def _merchant() -> Merchant:
    return Merchant.objects.get(slug="demo")


def test_demo_store_is_an_arabic_first_saudi_merchant(demo: DemoInfo) -> None:
    merchant = _merchant()
    assert demo.created
    assert (merchant.currency, merchant.country, merchant.default_language) == ("SAR", "SA", "ar")
    assert ARABIC.search(merchant.name_ar)


def test_every_demo_product_has_an_arabic_and_an_english_title(demo: DemoInfo) -> None:
    products = Product.objects.for_merchant(_merchant())
    assert demo.products == products.count() >= 45
    for product in products:
        assert ARABIC.search(product.title_ar), product.title_en
        assert product.title_en and not ARABIC.search(product.title_en)


def test_demo_catalog_has_bilingual_categories_suppliers_and_sized_variants(
    demo: DemoInfo,
) -> None:
    merchant = _merchant()
    categories = Category.objects.for_merchant(merchant)
    assert {"underwear", "electronics", "abayas"} <= set(categories.values_list("code", flat=True))
    assert all(ARABIC.search(c.name_ar) for c in categories)
    assert 6 <= Supplier.objects.for_merchant(merchant).count() <= 8
    abaya = Variant.objects.for_merchant(merchant).get(sku="ABY-BLK-54")
    assert abaya.options == {"colour": "black", "size": "54"}
    assert abaya.price_minor == 24900
    assert Product.objects.for_merchant(merchant).filter(final_sale=True).count() >= 2


def test_demo_orders_span_the_last_90_days_with_payments_for_card_orders(demo: DemoInfo) -> None:
    merchant = _merchant()
    orders = Order.objects.for_merchant(merchant)
    assert demo.orders == orders.count() == 60
    now = clock.now()
    for order in orders:
        assert (now - order.placed_at).days <= 90
        if order.delivered_at is not None:
            assert order.placed_at < order.delivered_at <= now
        assert order.prices_include_tax and order.currency == "SAR"
    card = orders.filter(payment_method=PaymentMethod.CARD)
    assert card.exists()
    for order in card:
        payment = Payment.objects.get(order=order)
        assert (payment.gateway, payment.captured_minor) == ("sandbox", order.total_minor)
    lines = OrderLine.objects.for_merchant(merchant)
    assert all(line.tax_rate == 15 for line in lines)
    assert all(line.variant_id is not None for line in lines)


def test_demo_customers_have_saudi_style_contacts(demo: DemoInfo) -> None:
    orders = Order.objects.for_merchant(_merchant()).select_related("customer")
    for order in orders:
        customer = order.customer
        assert "@" in customer.email
        if order.shipping_country == "SA":
            assert re.fullmatch(r"\+9665\d{8}", customer.phone)


def test_demo_returns_have_items_and_a_timeline_in_the_past(demo: DemoInfo) -> None:
    merchant = _merchant()
    returns = Return.objects.for_merchant(merchant)
    assert demo.returns == returns.count() >= 3
    assert sum(demo.returns_by_status.values()) == demo.returns
    now = clock.now()
    for ret in returns:
        assert ret.order.delivered_at is not None
        assert ret.order.delivered_at < ret.requested_at < now
        assert ReturnItem.objects.filter(return_request=ret).exists()
        timeline = list(TimelineEntry.objects.filter(return_request=ret))
        changes = [entry for entry in timeline if entry.kind == "status_changed"]
        assert changes[0].to_status == ReturnStatus.REQUESTED
        assert changes[-1].to_status == ret.status
        assert all(entry.at < now for entry in timeline)


def test_demo_never_returns_underwear_or_final_sale_items(demo: DemoInfo) -> None:
    items = ReturnItem.objects.for_merchant(_merchant()).select_related(
        "order_line__product__category"
    )
    for item in items:
        product = item.order_line.product
        assert product is not None and product.category is not None
        assert not product.final_sale
        assert product.category.code != "underwear"


def test_demo_prints_a_working_login_and_api_key(demo: DemoInfo) -> None:
    merchant = _merchant()
    roles = {
        m.user.username: m
        for m in StaffMembership.objects.select_related("user").filter(merchant=merchant)
    }
    assert {name: m.role for name, m in roles.items()} == {
        "owner": "owner",
        demo.warehouse_username: "warehouse",
    }
    assert demo.staff_password == DEMO_PASSWORD
    for membership in roles.values():
        assert membership.user.check_password(demo.staff_password)
    assert authenticate_api_key(demo.api_key) == merchant


def test_the_demo_example_order_can_be_returned(demo: DemoInfo) -> None:
    merchant = _merchant()
    order = Order.objects.for_merchant(merchant).get(number=demo.example_order_number)
    assert order.customer.email == demo.example_order_email
    line = order.lines.order_by("pk")[0]
    ret = request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref=line.line_ref, quantity=1, reason="quality")],
        method="qr_dropoff",
    )
    assert ret.status in (ReturnStatus.APPROVED, ReturnStatus.PENDING_REVIEW)


def test_seeding_again_returns_the_existing_store_and_adds_nothing(demo: DemoInfo) -> None:
    again = seed_demo(orders=500, seed=99, progress=False)
    assert not again.created
    assert (again.orders, again.products, again.returns) == (
        demo.orders,
        demo.products,
        demo.returns,
    )
    assert Order.objects.count() == 60
    # Key plaintexts aren't stored, so each call issues a fresh, working key.
    assert again.api_key != demo.api_key
    assert authenticate_api_key(again.api_key) == _merchant()
    assert ApiKey.objects.filter(merchant=_merchant()).count() == 2


def test_the_same_seed_builds_the_same_orders(demo: DemoInfo) -> None:
    def snapshot(slug: str) -> list[tuple[str, str, int, int]]:
        return list(
            Order.objects.filter(merchant__slug=slug)
            .order_by("number", "lines__line_ref")
            .values_list("number", "customer__email", "total_minor", "lines__quantity")
        )

    # Move the first store aside so the seed builds a second one next to it.
    Merchant.objects.filter(slug="demo").update(slug="demo-first")
    seed_demo(orders=60, seed=3, progress=False)
    assert snapshot("demo") == snapshot("demo-first")


def test_the_demo_opens_the_analytics_with_figures(demo: DemoInfo) -> None:
    merchant = Merchant.objects.get(slug=demo.merchant_slug)
    today = clock.now().astimezone(ZoneInfo(merchant.timezone)).date()
    summary = selectors.return_summary(
        merchant=merchant, start=today - timedelta(days=89), end=today
    )
    assert summary.sold_units > 0 and summary.returned_units > 0
    share = selectors.customers_who_return(
        merchant=merchant, start=today - timedelta(days=89), end=today
    )
    assert share.buying > 0 and share.returning > 0
