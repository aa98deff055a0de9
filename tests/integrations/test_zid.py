"""Zid: the real order detail (SAR, Arabic product name, bank transfer, amounts as strings
with float noise) and order list, reverse statuses, the token in the webhook address, and
the reverse order + refund and stock requests the SDK makes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from awda.integrations import services
from awda.integrations.base import to_minor
from awda.integrations.models import PushStatus, StoreWebhook, SyncIssue
from awda.orders.models import Order
from tests import factories
from tests.integrations.helpers import connect, import_payload, payload, post_hook, refunded_return

pytestmark = pytest.mark.django_db

FOLDER = "zid-sdk-python"
API = "https://api.zid.sa"


def test_amounts_with_float_noise_round_half_even_to_halalas():
    # order_total values of the real order list
    assert to_minor("223.56000086523000", "SAR") == 22356
    assert to_minor("62395.80000187300000", "SAR") == 6239580
    assert to_minor(62395.800001873, "SAR") == 6239580
    assert to_minor("0.125", "SAR") == 12 and to_minor("0.135", "SAR") == 14
    assert to_minor("1.2345", "KWD") == 1234


def test_the_order_detail_imports_in_halalas_with_its_arabic_title_and_riyadh_time():
    merchant = factories.merchant(currency="SAR")
    store = connect(merchant, "zid")

    import_payload(store, payload(FOLDER, "order_detail.json"))

    order = Order.objects.get(merchant=merchant, number="39018491")
    [line] = order.lines.all()
    assert (line.line_ref, line.sku, line.unit_price_minor, line.paid_minor) == (
        "62262",
        "Z.1.1723970467001006",
        10000,
        10000,
    )
    assert line.title_ar == "نسخة من TrialProduct"
    assert order.total_minor == 10000
    assert order.placed_at == datetime(2026, 1, 30, 12, 56, 2, tzinfo=UTC)  # 15:56 in Riyadh
    assert order.payment_method == "bank_transfer"
    assert order.payments.get().captured_minor == 10000  # the transfer is confirmed
    assert order.customer.phone.endswith("500000005")
    assert "zid:new" in order.tags
    assert order.shipping_address["zid_city_id"] == "2"
    assert not SyncIssue.objects.filter(connection=store).exists()


@pytest.mark.parametrize("status", ["reversed", "reverse_in_progress", "partially_reversed"])
def test_an_order_reversed_in_zid_is_tagged_as_returned_in_the_store(status):
    merchant = factories.merchant(currency="SAR")
    store = connect(merchant, "zid")
    data = copy.deepcopy(payload(FOLDER, "order_detail.json"))  # the real order, status changed
    data["order"]["order_status"]["code"] = status

    import_payload(store, data)

    order = Order.objects.get(merchant=merchant, number="39018491")
    assert {f"zid:{status}", "returned_in_store"} <= set(order.tags)


def test_the_webhook_address_token_is_required_and_checked():
    merchant = factories.merchant(currency="SAR")
    store = connect(merchant, "zid")
    body = json.dumps(payload(FOLDER, "order_detail.json")).encode()

    missing = post_hook(store, body, {})
    wrong = post_hook(store, body, {}, query="?token=guess")
    good = post_hook(store, body, {}, query=f"?token={store.webhook_secret}")
    again = post_hook(store, body, {}, query=f"?token={store.webhook_secret}")

    assert [r.status_code for r in (missing, wrong, good, again)] == [401, 401, 202, 200]
    row = StoreWebhook.objects.get()
    assert row.event_id == "39018491@2026-01-30 15:56:06"
    assert services.process_store_webhook(webhook_id=row.pk) == "imported 39018491"


@respx.mock
def test_backfill_fetches_each_listed_orders_detail_and_one_it_cant_fetch_is_written_down():
    merchant = factories.merchant(currency="SAR")
    store = connect(merchant, "zid")
    listing = respx.get(f"{API}/v1/managers/store/orders").mock(
        return_value=httpx.Response(200, json=payload(FOLDER, "orders_list.json"))
    )
    respx.get(f"{API}/v1/managers/store/orders/39018491/view").mock(
        return_value=httpx.Response(200, json=payload(FOLDER, "order_detail.json"))
    )
    respx.get(url__regex=rf"{API}/v1/managers/store/orders/390182(92|32)/view").mock(
        return_value=httpx.Response(404, json={"message": {"description": "Order not found"}})
    )

    result = services.backfill(connection_id=store.pk, days=30)

    assert (result.seen, result.imported, result.failed) == (3, 1, 2)
    request = listing.calls.last.request
    assert request.headers["Authorization"] == "Bearer partner-token"
    assert request.headers["X-Manager-Token"] == "store-token"
    assert {
        i.external_id for i in SyncIssue.objects.filter(connection=store, code="fetch_failed")
    } == {
        "39018292",
        "39018232",
    }
    assert Order.objects.filter(merchant=merchant, number="39018491").exists()


@respx.mock
def test_a_refund_becomes_a_zid_reverse_order_and_its_refund():
    merchant = factories.merchant(currency="SAR")
    store = connect(merchant, "zid")
    import_payload(store, payload(FOLDER, "order_detail.json"))
    order = Order.objects.get(merchant=merchant, number="39018491")
    from awda.orders.models import Payment

    Payment.objects.filter(order=order).update(method="card")  # paid by card for this test
    refund = refunded_return(order, line_ref="62262", quantity=1, amount_minor=10000)
    reverse = respx.post(f"{API}/v1/managers/store/reverse-orders").mock(
        return_value=httpx.Response(200, json={"order_reverse": {"id": "rev-uuid-1"}})
    )
    refund_route = respx.post(f"{API}/v1/managers/store/reverse-orders/refund").mock(
        return_value=httpx.Response(
            200, json={"order_reverse": {"id": "rev-uuid-1", "refund": {"id": "ref-9"}}}
        )
    )

    push = services.push_refund(refund_id=refund.pk)

    created = reverse.calls.last.request
    assert created.headers["Access-Token"] == "store-token"
    assert created.headers["Authorization"] == "Bearer partner-token"
    assert json.loads(created.content) == {
        "order_id": 39018491,
        "consignee_name": "Test User 5",
        "consignee_mobile": "966500000005",
        "consignee_city_id": 2,
        "consignee_address_1": "street",
        "is_partial": True,
        "products": [{"order_product_id": 62262, "quantity": 1}],
    }
    sent = refund_route.calls.last.request
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(sent.content.decode()) == {
        "order_reverse_id": ["rev-uuid-1"],
        "amount": ["100.00"],
        "payment_method": ["credit_card"],
        "notes": [f"Awda return {refund.reference} (awda-refund-{refund.pk})"],
    }
    assert push is not None and (push.status, push.remote_id) == (PushStatus.DONE, "ref-9")


@respx.mock
def test_a_restock_raises_the_products_available_quantity():
    merchant = factories.merchant(currency="SAR")
    store = connect(merchant, "zid")
    import_payload(store, payload(FOLDER, "order_detail.json"))
    product = "23edd6a6-3533-495d-8ffc-7f9e7c8c1f6a"
    respx.get(f"{API}/v1/products/{product}/stocks/").mock(
        return_value=httpx.Response(
            200,
            json={
                "results": [
                    {
                        "id": "stk-1",
                        "location": {"id": "loc-1"},
                        "available_quantity": 4,
                        "is_infinite": False,
                    }
                ]
            },
        )
    )
    patch = respx.patch(f"{API}/v1/products/{product}/stocks/stk-1/").mock(
        return_value=httpx.Response(200, json={"id": "stk-1", "available_quantity": 5})
    )

    [push] = services.push_restock(
        merchant_id=merchant.pk, move_id=9, sku="Z.1.1723970467001006", quantity=1, reason="restock"
    )

    assert patch.calls.last.request.headers["Access-Token"] == "store-token"
    assert json.loads(patch.calls.last.request.content) == {"available_quantity": 5}
    assert (push.status, push.remote_id) == (PushStatus.DONE, "stk-1=5")
