"""Shopify: the real order #1001 (USD, discount code, 6% tax) and the real EUR VAT-inclusive
dev-store order, webhook signatures, a backfill through the Link header, and the exact
refund, restock and tag requests Shopify documents."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from awda.core.money import Money
from awda.integrations import services
from awda.integrations.models import PushStatus, StorePush, StoreVariant, StoreWebhook, SyncIssue
from awda.integrations.shopify import sign
from awda.orders.models import Order
from awda.payments.services import request_refund
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

SHOP = "https://awda-test.myshopify.com/admin/api/2024-10"


def _issues(connection) -> set[tuple[str, str, str, str]]:
    return {
        (i.code, i.field, i.expected, i.actual)
        for i in SyncIssue.objects.filter(connection=connection)
    }


def test_order_1001_is_imported_in_cents_and_its_totals_that_dont_add_up_are_flagged():
    merchant = factories.merchant(currency="USD")
    store = connect(merchant, "shopify")

    outcome = import_payload(store, payload("shopify-python-api", "order.json"))

    order = Order.objects.get(merchant=merchant, number="1001")
    assert outcome.startswith("imported 1001")
    assert order.external_id == "450789469"
    assert [
        (li.line_ref, li.sku, li.unit_price_minor, li.quantity) for li in order.lines.order_by("pk")
    ] == [
        ("466157049", "IPOD2008GREEN", 19900, 1),
        ("518995019", "IPOD2008RED", 19900, 1),
        ("703073504", "IPOD2008BLACK", 19900, 1),
    ]
    assert order.total_minor == 40994  # what the store says the shopper owes, kept as sent
    assert order.prices_include_tax is False
    payment = order.payments.get()
    assert (payment.gateway, payment.captured_minor, payment.card_last4) == (
        "shopify:authorize_net",
        0,  # only authorized
        "4242",
    )
    # Three lines of 199.00 are 597.00, not the 398.00 the payload says; the TENOFF code's
    # 10.00 is not in total_discounts; no line carries the 11.94 of tax.
    assert _issues(store) == {
        ("total_mismatch", "total_line_items_price", "59700", "39800"),
        ("discount_mismatch", "total_discounts", "1000", "0"),
        ("total_mismatch", "total_price", "59700", "40994"),
        ("total_mismatch", "total_tax", "0", "1194"),
    }


def test_importing_the_same_order_twice_changes_nothing_and_flags_once():
    merchant = factories.merchant(currency="USD")
    store = connect(merchant, "shopify")
    data = payload("shopify-python-api", "order.json")

    import_payload(store, data)
    import_payload(store, data)

    assert Order.objects.filter(merchant=merchant).count() == 1
    assert SyncIssue.objects.filter(connection=store).count() == 4


def test_the_eur_vat_inclusive_order_adds_up_with_its_shipping_tax():
    merchant = factories.merchant(currency="EUR")
    store = connect(merchant, "shopify")

    import_payload(store, payload("shopify-bc-connector", "Order.json"))

    order = Order.objects.get(merchant=merchant, number="WEB1349")
    [line] = order.lines.all()
    assert (line.unit_price_minor, line.tax_minor, line.paid_minor) == (5520, 958, 5520)
    assert order.prices_include_tax is True
    assert (order.shipping_minor, order.total_minor, order.tax_minor) == (499, 6019, 958)
    assert order.shipping_country == "BE"
    assert order.payments.get().captured_minor == 6019  # paid
    assert not SyncIssue.objects.filter(connection=store).exists()
    ref = StoreVariant.objects.get(connection=store, sku="1928-S")
    assert (ref.product_ref, ref.variant_ref) == ("6622547771464", "39470162018376")


def test_an_order_in_another_currency_is_not_imported_but_written_down():
    merchant = factories.merchant(currency="SAR")
    store = connect(merchant, "shopify")

    outcome = import_payload(store, payload("shopify-bc-connector", "Order.json"))

    assert outcome == "not imported: order 4670269816904"
    assert not Order.objects.filter(merchant=merchant).exists()
    issue = SyncIssue.objects.get(connection=store, code="rejected")
    assert issue.field == "currency"


# -- webhooks -----------------------------------------------------------------------------


def _headers(
    body: bytes, secret: str = "whsec-test", webhook_id: str = "b54557e4-1"
) -> dict[str, str]:
    return {
        "X-Shopify-Hmac-Sha256": sign(body, secret),
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Topic": "orders/create",
    }


def test_a_signed_delivery_is_stored_once_and_its_job_imports_the_order():
    merchant = factories.merchant(currency="EUR")
    store = connect(merchant, "shopify")
    body = raw("shopify-bc-connector", "Order.json")

    first = post_hook(store, body, _headers(body))
    again = post_hook(store, body, _headers(body))

    assert (first.status_code, first.json()["code"]) == (202, "accepted")
    assert (again.status_code, again.json()["code"]) == (200, "duplicate")
    row = StoreWebhook.objects.get(connection=store)
    assert (row.event_id, row.topic, row.body.encode()) == ("b54557e4-1", "orders/create", body)
    assert services.process_store_webhook(webhook_id=row.pk) == "imported WEB1349"
    assert Order.objects.filter(merchant=merchant, number="WEB1349").exists()


@pytest.mark.parametrize(
    "case", ["tampered body", "missing signature", "another connection's secret"]
)
def test_a_delivery_not_signed_with_this_connections_secret_is_refused_and_not_stored(case):
    merchant = factories.merchant(currency="EUR")
    store = connect(merchant, "shopify", secret="whsec-test")
    connect(factories.merchant(currency="EUR"), "shopify", secret="whsec-other")
    body = raw("shopify-bc-connector", "Order.json")
    headers = _headers(body)
    if case == "tampered body":
        body = body.replace(b'"60.19"', b'"0.19"')
    elif case == "missing signature":
        del headers["X-Shopify-Hmac-Sha256"]
    else:
        headers = _headers(body, secret="whsec-other")

    response = post_hook(store, body, headers)

    assert (response.status_code, response.json()["code"]) == (401, "rejected")
    assert not StoreWebhook.objects.exists()


def test_an_unknown_or_disconnected_connection_is_404():
    merchant = factories.merchant(currency="EUR")
    store = connect(merchant, "shopify")
    body = raw("shopify-bc-connector", "Order.json")
    services.disconnect_store(merchant=merchant, connection_id=store.pk)

    assert post_hook(store, body, _headers(body)).status_code == 404
    store.public_id = "nope"
    assert post_hook(store, body, _headers(body)).status_code == 404


# -- backfill -----------------------------------------------------------------------------


@respx.mock
def test_backfill_follows_the_link_header_and_an_order_it_cant_import_doesnt_stop_the_rest():
    merchant = factories.merchant(currency="EUR")
    store = connect(merchant, "shopify")
    page_one = {"orders": [payload("shopify-bc-connector", "Order.json")["order"]]}
    page_two = payload("shopify-python-api", "orders.json")  # #1001's header, no lines, USD
    listing = respx.get(f"{SHOP}/orders.json").mock(
        side_effect=[
            httpx.Response(
                200,
                json=page_one,
                headers={"Link": f'<{SHOP}/orders.json?limit=250&page_info=abc>; rel="next"'},
            ),
            httpx.Response(200, json=page_two),
        ]
    )

    result = services.backfill(connection_id=store.pk, days=30)

    assert (result.seen, result.imported, result.failed) == (2, 1, 1)
    first, second = listing.calls
    assert first.request.url.params["status"] == "any"
    assert first.request.url.params["limit"] == "250"
    assert "created_at_min" in first.request.url.params
    assert second.request.url.params["page_info"] == "abc"
    assert first.request.headers["X-Shopify-Access-Token"] == "shpat_test"
    assert Order.objects.filter(merchant=merchant, number="WEB1349").exists()
    assert SyncIssue.objects.filter(
        connection=store, external_id="450789469", code="no_lines"
    ).exists()


# -- outbound -----------------------------------------------------------------------------


def _web1349():
    """A Shopify store of a EUR merchant, connected, with the connector's recorded order
    WEB1349 imported: (merchant, connection, order)."""
    merchant = factories.merchant(currency="EUR")
    store = connect(merchant, "shopify")
    import_payload(store, payload("shopify-bc-connector", "Order.json"))
    return merchant, store, Order.objects.get(merchant=merchant, number="WEB1349")


def test_of_a_burst_of_refunds_only_those_of_a_connected_stores_orders_are_pushed():
    merchant, store, order = _web1349()
    pushed = refunded_return(order, line_ref="11883238293576", quantity=1, amount_minor=5520)
    own = factories.order(merchant, lines=[factories.line("1", price=10000)])
    (not_pushed,) = request_refund(
        merchant=merchant, order_id=own.pk, amount=Money(1000, "EUR"),
        idempotency_key="own-1", reference="R-OWN",
    )  # fmt: skip

    assert services.refunds_to_push(refund_ids=[pushed.pk, not_pushed.pk]) == {pushed.pk}
    store.active = False
    store.save(update_fields=["active"])
    assert services.refunds_to_push(refund_ids=[pushed.pk, not_pushed.pk]) == set()


@respx.mock
def test_a_refund_awda_paid_is_recorded_in_shopify_with_its_lines_and_no_money_moving():
    _merchant, _store, order = _web1349()
    refund = refunded_return(order, line_ref="11883238293576", quantity=1, amount_minor=5520)
    route = respx.post(f"{SHOP}/orders/4670269816904/refunds.json").mock(
        return_value=httpx.Response(201, json={"refund": {"id": 509562969}})
    )

    push = services.push_refund(refund_id=refund.pk)
    services.push_refund(refund_id=refund.pk)  # a replayed event

    assert route.call_count == 1
    request = route.calls.last.request
    assert request.headers["X-Shopify-Access-Token"] == "shpat_test"
    assert json.loads(request.content) == {
        "refund": {
            "currency": "EUR",
            "notify": False,
            "note": f"Awda return {refund.reference} (awda-refund-{refund.pk})",
            "refund_line_items": [
                {"line_item_id": 11883238293576, "quantity": 1, "restock_type": "no_restock"}
            ],
        }
    }
    assert push is not None
    assert (push.status, push.remote_id) == (PushStatus.DONE, "509562969")


@respx.mock
def test_a_refund_whose_answer_was_lost_is_looked_up_before_it_is_sent_again():
    _merchant, _store, order = _web1349()
    refund = refunded_return(order, line_ref="11883238293576", quantity=1, amount_minor=5520)
    create = respx.post(f"{SHOP}/orders/4670269816904/refunds.json").mock(
        side_effect=httpx.ReadTimeout("slow")
    )
    with pytest.raises(services.StoreError):
        services.push_refund(refund_id=refund.pk)
    assert create.call_count == 1  # a write without an idempotency key is not retried blindly
    respx.get(f"{SHOP}/orders/4670269816904/refunds.json").mock(
        return_value=httpx.Response(
            200,
            json={"refunds": [{"id": 77, "note": f"Awda return R (awda-refund-{refund.pk})"}]},
        )
    )

    push = services.push_refund(refund_id=refund.pk)

    assert create.call_count == 1
    assert push is not None and (push.status, push.remote_id) == (PushStatus.DONE, "77")


@respx.mock
def test_a_restock_adjusts_the_inventory_level_at_the_connections_location_once():
    merchant = factories.merchant(currency="EUR")
    store = connect(merchant, "shopify")
    import_payload(store, payload("shopify-bc-connector", "Order.json"))
    respx.get(f"{SHOP}/variants/39470162018376.json").mock(
        return_value=httpx.Response(
            200, json={"variant": {"id": 39470162018376, "inventory_item_id": 808950810}}
        )
    )
    adjust = respx.post(f"{SHOP}/inventory_levels/adjust.json").mock(
        return_value=httpx.Response(
            200,
            json={
                "inventory_level": {
                    "inventory_item_id": 808950810,
                    "location_id": 655441491,
                    "available": 6,
                }
            },
        )
    )

    services.push_restock(
        merchant_id=merchant.pk, move_id=41, sku="1928-S", quantity=2, reason="restock"
    )
    services.push_restock(
        merchant_id=merchant.pk, move_id=41, sku="1928-S", quantity=2, reason="restock"
    )
    services.push_restock(
        merchant_id=merchant.pk, move_id=42, sku="1928-S", quantity=5, reason="store_sync"
    )

    assert adjust.call_count == 1
    assert json.loads(adjust.calls.last.request.content) == {
        "location_id": 655441491,
        "inventory_item_id": 808950810,
        "available_adjustment": 2,
    }
    assert StorePush.objects.get(connection=store, key="awda-move-41").status == PushStatus.DONE


@respx.mock
def test_a_restock_whose_answer_was_lost_goes_to_a_person_and_is_never_repeated():
    merchant = factories.merchant(currency="EUR")
    store = connect(merchant, "shopify")
    import_payload(store, payload("shopify-bc-connector", "Order.json"))
    respx.get(f"{SHOP}/variants/39470162018376.json").mock(
        return_value=httpx.Response(200, json={"variant": {"inventory_item_id": 808950810}})
    )
    adjust = respx.post(f"{SHOP}/inventory_levels/adjust.json").mock(
        side_effect=httpx.ReadTimeout("slow")
    )
    with pytest.raises(services.StoreError):
        services.push_restock(
            merchant_id=merchant.pk, move_id=7, sku="1928-S", quantity=1, reason="restock"
        )

    [push] = services.push_restock(
        merchant_id=merchant.pk, move_id=7, sku="1928-S", quantity=1, reason="restock"
    )

    assert adjust.call_count == 1
    assert push.status == PushStatus.REVIEW
    assert StorePush.objects.get(connection=store).status == PushStatus.REVIEW


@respx.mock
def test_a_requested_return_tags_the_order_through_graphql():
    _merchant, _store, order = _web1349()
    refund = refunded_return(order, line_ref="11883238293576", quantity=1, amount_minor=5520)
    route = respx.post(f"{SHOP}/graphql.json").mock(
        return_value=httpx.Response(
            200, json={"data": {"tagsAdd": {"node": {"id": "x"}, "userErrors": []}}}
        )
    )
    ret = order.returns.get()

    services.note_return_in_store(return_id=ret.pk)

    body = json.loads(route.calls.last.request.content)
    assert body["query"].startswith("mutation tagsAdd($id: ID!, $tags: [String!]!)")
    assert body["variables"] == {
        "id": "gid://shopify/Order/4670269816904",
        "tags": ["awda-return", refund.reference],
    }
