"""WooCommerce: the real orders (partially and fully refunded, AED, a fractional quantity,
a total that doesn't add up), the invalid-JSON order refused with a clear error, signatures,
a backfill through X-WP-TotalPages, and the exact refund and stock requests."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
import respx

from awda.integrations import services
from awda.integrations.models import PushStatus, StoreWebhook, SyncIssue
from awda.integrations.woocommerce import sign
from awda.orders.models import Order
from tests import factories
from tests.integrations.helpers import (
    connect,
    import_payload,
    payload,
    post_hook,
    raw,
    refunded_return,
)

pytestmark = pytest.mark.django_db

FOLDER = "woocommerce-ios"
API = "https://shop.example.com/wp-json/wc/v3"


def test_a_partially_refunded_order_imports_float_noise_prices_exactly_and_its_refunds():
    merchant = factories.merchant(currency="USD")
    store = connect(merchant, "woocommerce")

    import_payload(store, payload(FOLDER, "order-details-partially-refunded.json"))

    order = Order.objects.get(merchant=merchant, number="324")
    premium = order.lines.get(line_ref="40")  # "price": 10.799999999999999, 3 for 32.40
    assert (premium.unit_price_minor, premium.quantity, premium.paid_minor) == (1080, 3, 3240)
    assert order.lines.count() == 8
    assert (order.shipping_minor, order.total_minor) == (5425, 30445)
    payment = order.payments.get()
    # Two refunds of -16.20 and -8.10 in the payload.
    assert (payment.gateway, payment.reference, payment.captured_minor, payment.refunded_minor) == (
        "woocommerce:stripe",
        "ch_1EiPDtJ71fgCH5kvO01uF7ew",
        30445,
        2430,
    )
    assert order.delivered_at is not None  # completed
    assert not SyncIssue.objects.filter(connection=store).exists()


def test_a_fully_refunded_order_keeps_its_refund_and_status():
    merchant = factories.merchant(currency="USD")
    store = connect(merchant, "woocommerce")

    import_payload(store, payload(FOLDER, "order-fully-refunded.json"))

    order = Order.objects.get(merchant=merchant, number="609")
    payment = order.payments.get()
    assert (payment.captured_minor, payment.refunded_minor) == (22371, 22371)
    assert "woocommerce:refunded" in order.tags
    assert order.customer.external_id is None or order.customer.email == "julia.amosova@gmail.com"


@pytest.mark.parametrize(
    ("name", "currency"),
    [("order.json", "USD"), ("order-with-special-character-currency.json", "AED")],
)
def test_a_fractional_quantity_is_one_unit_at_the_lines_amount_and_the_bad_total_is_flagged(
    name, currency
):
    merchant = factories.merchant(currency=currency)
    store = connect(merchant, "woocommerce")

    import_payload(store, payload(FOLDER, name))

    order = Order.objects.get(merchant=merchant, number="963")
    assert order.currency == currency
    basket = order.lines.get(line_ref="890")
    assert (basket.quantity, basket.unit_price_minor, basket.discount_minor, basket.tax_minor) == (
        2,
        2500,
        2000,
        120,
    )
    bundle = order.lines.get(line_ref="891")  # quantity 1.5, subtotal 10.00, total 0.00
    assert (bundle.quantity, bundle.unit_price_minor, bundle.discount_minor) == (1, 1000, 1000)
    assert bundle.title_en == "Fruits Bundle × 1.5"
    assert order.total_minor == 3120  # the store's total, kept as sent
    issues = {
        (i.code, i.field, i.expected, i.actual) for i in SyncIssue.objects.filter(connection=store)
    }
    # The shipping line says 133.00, shipping_total 0.00; 30.00 of lines + 0.00 shipping +
    # 125.50 fee + 1.20 tax = 156.70, not 31.20.
    assert issues == {
        ("fractional_quantity", "line_items.1.quantity", "a whole number", "1.5"),
        ("total_mismatch", "shipping_total", "13300", "0"),
        ("total_mismatch", "total", "15670", "3120"),
    }


def _headers(body: bytes, secret: str = "whsec-test", delivery: str = "d-1") -> dict[str, str]:
    return {
        "X-WC-Webhook-Signature": sign(body, secret),
        "X-WC-Webhook-Delivery-ID": delivery,
        "X-WC-Webhook-Topic": "order.updated",
    }


def test_the_invalid_json_order_is_refused_with_where_it_breaks_and_nothing_is_stored():
    merchant = factories.merchant(currency="USD")
    store = connect(merchant, "woocommerce")
    body = raw(FOLDER, "order-with-deleted-refunds.json")  # a trailing comma, signed correctly

    response = post_hook(store, body, _headers(body))

    assert response.status_code == 400
    assert response.json()["code"] == "malformed"
    assert response.json()["detail"] == (
        "the body is not valid JSON: Expecting property name enclosed in double quotes"
        " at line 152 column 5"
    )
    assert not StoreWebhook.objects.exists()


def test_a_signed_order_is_accepted_and_a_tampered_or_unsigned_one_refused():
    merchant = factories.merchant(currency="USD")
    store = connect(merchant, "woocommerce")
    body = raw(FOLDER, "order-fully-refunded.json")

    tampered = post_hook(store, body.replace(b"223.71", b"1.00"), _headers(body))
    unsigned = post_hook(store, body, {"X-WC-Webhook-Delivery-ID": "d-1"})
    good = post_hook(store, body, _headers(body))

    assert (tampered.status_code, unsigned.status_code, good.status_code) == (401, 401, 202)
    row = StoreWebhook.objects.get()
    assert services.process_store_webhook(webhook_id=row.pk) == "imported 609"


@respx.mock
def test_backfill_reads_every_page_the_store_says_it_has():
    merchant = factories.merchant(currency="USD")
    store = connect(merchant, "woocommerce")
    pages = respx.get(f"{API}/orders").mock(
        side_effect=[
            httpx.Response(
                200,
                json=[payload(FOLDER, "order-fully-refunded.json")["data"]],
                headers={"X-WP-TotalPages": "2"},
            ),
            httpx.Response(
                200,
                json=[payload(FOLDER, "order-details-partially-refunded.json")["data"]],
                headers={"X-WP-TotalPages": "2"},
            ),
        ]
    )

    result = services.backfill(connection_id=store.pk, days=7)

    assert (result.seen, result.imported, result.failed) == (2, 2, 0)
    assert [c.request.url.params["page"] for c in pages.calls] == ["1", "2"]
    auth = pages.calls.last.request.headers["Authorization"]
    assert auth == "Basic " + base64.b64encode(b"ck_test:cs_test").decode()
    assert set(Order.objects.filter(merchant=merchant).values_list("number", flat=True)) == {
        "609",
        "324",
    }


@respx.mock
def test_a_refund_is_recorded_without_the_store_paying_or_restocking_it_again():
    merchant = factories.merchant(currency="USD")
    store = connect(merchant, "woocommerce")
    import_payload(store, payload(FOLDER, "order-details-partially-refunded.json"))
    order = Order.objects.get(merchant=merchant, number="324")
    refund = refunded_return(order, line_ref="39", quantity=1, amount_minor=1350)
    route = respx.post(f"{API}/orders/324/refunds").mock(
        return_value=httpx.Response(201, json={"id": 550, "amount": "13.50"})
    )

    push = services.push_refund(refund_id=refund.pk)

    request = route.calls.last.request
    assert (
        request.headers["Authorization"] == "Basic " + base64.b64encode(b"ck_test:cs_test").decode()
    )
    assert json.loads(request.content) == {
        "amount": "13.50",
        "reason": f"Awda return {refund.reference} (awda-refund-{refund.pk})",
        "api_refund": False,
        "api_restock": False,
        "line_items": [{"id": 39, "quantity": 1, "refund_total": "13.50"}],
    }
    assert push is not None and (push.status, push.remote_id) == (PushStatus.DONE, "550")


@respx.mock
def test_a_restock_adds_the_units_to_the_products_stock_quantity():
    merchant = factories.merchant(currency="USD")
    store = connect(merchant, "woocommerce")
    import_payload(store, payload(FOLDER, "order-details-partially-refunded.json"))
    respx.get(f"{API}/products/42").mock(
        return_value=httpx.Response(200, json={"id": 42, "manage_stock": True, "stock_quantity": 7})
    )
    update = respx.put(f"{API}/products/42").mock(return_value=httpx.Response(200, json={"id": 42}))

    [push] = services.push_restock(
        merchant_id=merchant.pk, move_id=3, sku="POSTER-WOO-LOGO", quantity=2, reason="restock"
    )

    assert json.loads(update.calls.last.request.content) == {"stock_quantity": 9}
    assert push.status == PushStatus.DONE


@respx.mock
def test_a_store_that_refuses_the_refund_puts_it_before_a_person():
    merchant = factories.merchant(currency="USD")
    store = connect(merchant, "woocommerce")
    import_payload(store, payload(FOLDER, "order-details-partially-refunded.json"))
    order = Order.objects.get(merchant=merchant, number="324")
    refund = refunded_return(order, line_ref="39", quantity=1, amount_minor=1350)
    respx.post(f"{API}/orders/324/refunds").mock(
        return_value=httpx.Response(
            400,
            json={
                "code": "woocommerce_rest_invalid_order_refund",
                "message": "Invalid refund amount.",
            },
        )
    )

    push = services.push_refund(refund_id=refund.pk)

    assert push is not None and push.status == PushStatus.REVIEW
    assert "Invalid refund amount." in push.message
