"""Magento 2: the real orders of the OCA connector's cassettes (configurable parent + simple
child, an order edited in the admin and its cancelled original, cart-rule discounts, a 100%
coupon), the connection's own signature, the search-criteria backfill, and the offline
credit memo, stock item and order comment pushed back."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
import yaml

from awda.integrations import services
from awda.integrations.base import NotePush
from awda.integrations.magento import MagentoConnector, sign
from awda.integrations.models import (
    PushStatus,
    StoreConnection,
    StoreVariant,
    StoreWebhook,
    SyncIssue,
)
from awda.orders.models import Order, Payment
from tests import factories
from tests.integrations.helpers import SHARED, import_payload, post_hook, refunded_return

pytestmark = pytest.mark.django_db

FOLDER = SHARED / "magento2-oca-connector"
SITE = "https://magento.example.com"
API = f"{SITE}/rest/V1"
SECRET = "magento-module-secret"


def interaction(cassette: str, index: int = 0) -> dict[str, Any]:
    return yaml.safe_load((FOLDER / cassette).read_bytes())["interactions"][index]


def recorded(cassette: str, index: int = 0) -> Any:
    """The JSON body Magento answered in a recorded call."""
    return json.loads(interaction(cassette, index)["response"]["body"]["string"])


def magento_store(merchant) -> StoreConnection:
    return services.connect_store(
        merchant=merchant,
        platform="magento",
        name="Magento store",
        base_url=SITE,
        credentials={"access_token": "integration-token"},
        webhook_secret=SECRET,
    )


def test_a_magento_connection_needs_its_token_and_the_modules_secret(api_key):
    client = factories.ApiClient(api_key)
    body = {
        "platform": "magento",
        "name": "Magento",
        "base_url": SITE,
        "credentials": {"access_token": "integration-token"},
        "webhook_secret": SECRET,
    }

    no_token = client.post("/store-connections", {**body, "credentials": {"store_code": "ar"}})
    no_secret = client.post("/store-connections", {**body, "webhook_secret": ""})
    created = client.post("/store-connections", body)

    assert (no_token.status_code, no_token.json()["field"]) == (422, "credentials")
    assert no_token.json()["message"] == "Missing credentials: access_token."
    assert (no_secret.status_code, no_secret.json()["field"]) == (422, "webhook_secret")
    assert created.status_code == 201, created.content
    assert created.json()["platform"] == "magento"


def test_the_api_root_is_found_from_the_sites_address_and_store_code():
    def root(base_url: str, **settings: str) -> str:
        connector = MagentoConnector(base_url=base_url, settings=settings, webhook_secret="")
        try:
            return str(connector.http.client.base_url)
        finally:
            connector.close()

    assert root(SITE) == f"{SITE}/rest/V1/"
    assert root(f"{SITE}/rest/V1/") == f"{SITE}/rest/V1/"
    assert root(f"{SITE}/index.php", store_code="ar") == f"{SITE}/index.php/rest/ar/V1/"


def test_a_configurable_line_is_imported_as_its_child_sku_at_its_parents_price():
    merchant = factories.merchant(currency="USD")
    store = magento_store(merchant)

    assert import_payload(store, recorded("import_sale_order_9.yaml")) == "imported 000000013"

    order = Order.objects.get(merchant=merchant, number="000000013")
    lines = {li.line_ref: li for li in order.lines.all()}
    assert set(lines) == {"16", "18"}  # the child (17) is not a line of its own
    hoodie = lines["16"]
    assert (hoodie.sku, hoodie.title_en, hoodie.quantity, hoodie.unit_price_minor) == (
        "MH09-XS-Blue",
        "Abominable Hoodie-XS-Blue",
        2,
        6900,
    )
    assert hoodie.tax_minor == 1139
    assert (lines["18"].sku, lines["18"].unit_price_minor, lines["18"].tax_minor) == (
        "RACER",
        22400,
        1848,
    )
    assert (order.shipping_minor, order.total_minor) == (500, 39687)
    assert order.placed_at == datetime(2020, 4, 24, 15, 50, 17, tzinfo=UTC)
    assert order.payment_method == "bank_transfer"  # check / money order
    assert order.payments.get().captured_minor == 0  # not invoiced
    assert order.customer.email == "roni_cost@example.com"
    assert order.shipping_address["postcode"] == "49628-7978"
    # The stock that went out is the child's (product 181), not the configurable's (196).
    assert StoreVariant.objects.get(connection=store, sku="MH09-XS-Blue").product_ref == "181"
    assert not SyncIssue.objects.filter(connection=store).exists()


def test_an_edited_order_is_imported_and_its_cancelled_original_is_not_returnable():
    merchant = factories.merchant(currency="USD")
    store = magento_store(merchant)

    edited = import_payload(store, recorded("import_sale_order_10.yaml", 0))
    original = import_payload(store, recorded("import_sale_order_10.yaml", 2))

    assert edited == "imported 000000013-1"
    order = Order.objects.get(merchant=merchant, number="000000013-1")
    assert "magento:edit_of:000000013" in order.tags
    assert order.total_minor == 32217
    assert original == "not imported: order 9"
    issues = {
        (i.code, i.field): (i.expected, i.actual, i.detail)
        for i in SyncIssue.objects.filter(connection=store, external_id="9")
    }
    assert issues == {
        ("cancelled_quantity", "items.0.qty_canceled"): (
            "2",
            "2",
            "cancelled units are not returnable",
        ),
        ("cancelled_quantity", "items.2.qty_canceled"): (
            "1",
            "1",
            "cancelled units are not returnable",
        ),
        ("no_lines", "items"): ("", "", "every line is cancelled"),
    }


def test_a_partly_cancelled_order_imports_only_the_units_still_owed():
    merchant = factories.merchant(currency="USD")
    store = magento_store(merchant)
    data = copy.deepcopy(recorded("import_sale_order_9.yaml"))  # the real order, dress cancelled
    data["items"][2]["qty_canceled"] = 1
    data["total_canceled"] = 242.48

    import_payload(store, data)

    order = Order.objects.get(merchant=merchant, number="000000013")
    assert [li.line_ref for li in order.lines.all()] == ["16"]
    assert order.total_minor == 39687 - 24248
    assert list(
        SyncIssue.objects.filter(connection=store).values_list("code", "field", "actual")
    ) == [("cancelled_quantity", "items.2.qty_canceled", "1")]


def test_cart_rule_and_coupon_discounts_land_on_their_lines_and_add_up():
    merchant = factories.merchant(currency="USD")
    store = magento_store(merchant)

    import_payload(store, recorded("import_sale_order_11.yaml"))
    import_payload(store, recorded("import_sale_order_17.yaml"))

    rule = Order.objects.get(merchant=merchant, number="000000014")
    assert {li.sku: li.discount_minor for li in rule.lines.all()} == {
        "MH09-XS-Blue": 1380,
        "RACER": 4480,
    }
    assert rule.total_minor == 25374
    free = Order.objects.get(merchant=merchant, number="000000020")
    [short] = free.lines.all()
    assert (short.sku, short.unit_price_minor, short.discount_minor) == (
        "WSH08-29-Purple",
        4400,
        4400,
    )
    assert (free.shipping_minor, free.total_minor) == (0, 0)  # coupon "1" also took the shipping
    assert not SyncIssue.objects.filter(connection=store).exists()


def test_a_grand_total_that_doesnt_add_up_is_imported_and_flagged():
    merchant = factories.merchant(currency="USD")
    store = magento_store(merchant)
    data = copy.deepcopy(recorded("import_sale_order_11.yaml"))
    data["grand_total"] = 250

    assert import_payload(store, data) == "imported 000000014, 1 issue(s)"

    issue = SyncIssue.objects.get(connection=store)
    assert (issue.code, issue.field, issue.expected, issue.actual) == (
        "total_mismatch",
        "grand_total",
        "25374",
        "25000",
    )
    assert Order.objects.get(merchant=merchant, number="000000014").total_minor == 25000


def test_a_post_must_carry_the_connections_signature_and_counts_once():
    merchant = factories.merchant(currency="USD")
    store = magento_store(merchant)
    body = json.dumps(recorded("import_sale_order_9.yaml")).encode()

    unsigned = post_hook(store, body, {})
    wrong = post_hook(store, body, {"X-Awda-Hmac-Sha256": sign(body, "guess")})
    good = post_hook(store, body, {"X-Awda-Hmac-Sha256": sign(body, SECRET)})
    again = post_hook(store, body, {"X-Awda-Hmac-Sha256": sign(body, SECRET)})

    assert [r.status_code for r in (unsigned, wrong, good, again)] == [401, 401, 202, 200]
    assert "Magento sends no webhooks of its own" in unsigned.json()["detail"]
    row = StoreWebhook.objects.get()
    assert row.event_id == "9@2020-04-24 15:50:17"
    assert services.process_store_webhook(webhook_id=row.pk) == "imported 000000013"


def test_a_signed_body_that_is_not_an_order_is_a_400_with_the_reason():
    merchant = factories.merchant(currency="USD")
    store = magento_store(merchant)
    broken = b'{"entity_id": 9,'
    customer = json.dumps(recorded("import_sale_order_9.yaml", 1)).encode()  # a customer

    bad_json = post_hook(store, broken, {"X-Awda-Hmac-Sha256": sign(broken, SECRET)})
    not_order = post_hook(store, customer, {"X-Awda-Hmac-Sha256": sign(customer, SECRET)})

    assert bad_json.status_code == 400
    assert "not valid JSON" in bad_json.json()["detail"]
    assert not_order.status_code == 400
    assert not_order.json()["detail"] == "not a Magento order (no entity_id)"
    assert not StoreWebhook.objects.exists()


@respx.mock
def test_backfill_pages_by_search_criteria_until_the_total_count():
    merchant = factories.merchant(currency="USD")
    store = magento_store(merchant)
    listing = respx.get(f"{API}/orders").mock(
        return_value=httpx.Response(
            200,
            json={
                "items": [
                    recorded("import_sale_order_9.yaml"),
                    recorded("import_sale_order_11.yaml"),
                ],
                "search_criteria": {"page_size": 50, "current_page": 1},
                "total_count": 2,
            },
        )
    )

    result = services.backfill(connection_id=store.pk, days=30)

    assert (result.seen, result.imported, result.failed) == (2, 2, 0)
    assert listing.call_count == 1  # 2 orders fit in one page: no second call
    request = listing.calls.last.request
    assert request.headers["Authorization"] == "Bearer integration-token"
    params = request.url.params
    assert params["searchCriteria[filter_groups][0][filters][0][field]"] == "created_at"
    assert params["searchCriteria[filter_groups][0][filters][0][condition_type]"] == "gteq"
    assert params["searchCriteria[pageSize]"] == "50"
    assert params["searchCriteria[currentPage]"] == "1"


@respx.mock
def test_a_refund_becomes_an_offline_credit_memo_for_the_returned_items():
    merchant = factories.merchant(currency="USD")
    store = magento_store(merchant)
    data = copy.deepcopy(recorded("import_sale_order_11.yaml"))
    data["total_paid"] = data["grand_total"]  # invoiced, for this test
    import_payload(store, data)
    order = Order.objects.get(merchant=merchant, number="000000014")
    Payment.objects.filter(order=order).update(method="card")
    refund = refunded_return(order, line_ref="23", quantity=1, amount_minor=19000)
    route = respx.post(f"{API}/order/11/refund").mock(return_value=httpx.Response(200, json=7))

    push = services.push_refund(refund_id=refund.pk)

    sent = route.calls.last.request
    assert sent.headers["Authorization"] == "Bearer integration-token"
    assert json.loads(sent.content) == {
        "items": [{"order_item_id": 23, "qty": 1}],
        "notify": False,
        "appendComment": True,
        "comment": {
            "comment": f"Awda return {refund.reference}: 190.00 USD refunded by Awda "
            f"(awda-refund-{refund.pk})",
            "is_visible_on_front": 0,
        },
        "arguments": {
            "shipping_amount": 0,
            "adjustment_positive": 0,
            "adjustment_negative": 0,
            "extension_attributes": {"return_to_stock_items": []},
        },
    }
    assert push is not None and (push.status, push.remote_id) == (PushStatus.DONE, "7")


@respx.mock
def test_a_restock_adds_the_units_to_the_childs_stock_item():
    merchant = factories.merchant(currency="USD")
    store = magento_store(merchant)
    import_payload(store, recorded("import_sale_order_9.yaml"))
    respx.get(f"{API}/stockItems/MH09-XS-Blue").mock(
        return_value=httpx.Response(
            200,
            json={
                "item_id": 181,
                "product_id": 181,
                "stock_id": 1,
                "qty": 100,
                "is_in_stock": True,
            },
        )
    )
    put = respx.put(f"{API}/products/MH09-XS-Blue/stockItems/181").mock(
        return_value=httpx.Response(200, json=181)
    )

    [push] = services.push_restock(
        merchant_id=merchant.pk, move_id=9, sku="MH09-XS-Blue", quantity=1, reason="restock"
    )

    sent = put.calls.last.request
    assert sent.headers["Authorization"] == "Bearer integration-token"
    assert json.loads(sent.content) == {"stockItem": {"qty": 101, "is_in_stock": True}}
    assert (push.status, push.remote_id) == (PushStatus.DONE, "181=101")


@respx.mock
def test_a_note_is_an_order_comment_shaped_as_the_recorded_one():
    recorded_call = interaction("test_sale_order_cancel_export.yaml", 2)["request"]
    route = respx.post(f"{API}/orders/12/comments").mock(
        return_value=httpx.Response(200, json=True)
    )
    connector = MagentoConnector(
        base_url=SITE, settings={"access_token": "integration-token"}, webhook_secret=SECRET
    )

    connector.push_note(NotePush(key="k", order_ref="12", note="Awda return R-1 requested"))
    connector.close()

    sent = json.loads(route.calls.last.request.content)
    assert sent == {
        "statusHistory": {
            "comment": "Awda return R-1 requested",
            "is_customer_notified": 0,
            "is_visible_on_front": 0,
        }
    }
    assert recorded_call["uri"].endswith("/rest/V1/orders/12/comments")
    assert set(json.loads(recorded_call["body"])["statusHistory"]) == set(sent["statusHistory"])
