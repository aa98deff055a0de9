"""The two outbound actions beside refunds, restocks and notes: an exchange's replacement
order made in the store (Shopify, WooCommerce) or written on the original order as a note
(Zid, Salla, Magento), and store credit issued as a Shopify gift card for connections that
opted in. The stores' servers are mocked; each test asserts the exact request."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx

from awda.core import clock
from awda.core.errors import InvalidInput
from awda.core.money import Money
from awda.integrations import services
from awda.integrations.models import PushStatus, StoreConnection, StoreOrder, StorePush
from awda.orders.models import Customer, Order, OrderLine, ReplacementStatus
from awda.orders.services import (
    ReplacementLine,
    create_replacement_order,
    release_replacement_order,
)
from awda.wallet import services as wallet
from awda.wallet.models import CreditAccount
from tests import factories
from tests.integrations.helpers import connect, import_payload, payload
from tests.integrations.test_magento import API as MAGENTO
from tests.integrations.test_magento import magento_store, recorded
from tests.integrations.test_salla import API as SALLA
from tests.integrations.test_salla import load as salla_payload
from tests.integrations.test_salla import salla_store

pytestmark = pytest.mark.django_db

SHOP = "https://awda-test.myshopify.com/admin/api/2024-10"
WOO = "https://shop.example.com/wp-json/wc/v3"
ZID = "https://api.zid.sa/v1/managers/store/orders"


def replacement(
    order: Order,
    *,
    sku: str,
    credit_minor: int,
    collect: bool = False,
    held: bool = False,
    quantity: int = 1,
) -> Order:
    """An exchange's replacement of one line of ``order``, at the line's unit price."""
    line = OrderLine.objects.get(order=order, sku=sku)
    assert line.variant_id is not None
    return create_replacement_order(
        merchant_id=order.merchant_id,
        original_order_id=order.pk,
        number=f"{order.number}-X1",
        lines=[
            ReplacementLine(
                variant_id=line.variant_id,
                quantity=quantity,
                unit_price_minor=line.unit_price_minor,
                replaces_line_id=line.pk,
            )
        ],
        exchange_credit_minor=credit_minor,
        collect_on_delivery=collect,
        held=held,
        reference="R-1001",
    )


def body(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


def shopify_order(merchant) -> tuple[StoreConnection, Order]:
    store = connect(merchant, "shopify")
    import_payload(store, payload("shopify-bc-connector", "Order.json"))
    return store, Order.objects.get(merchant=merchant, number="WEB1349")


# -- replacement orders -------------------------------------------------------------------


@respx.mock
def test_a_replacement_paid_by_the_returned_item_is_a_paid_zero_priced_shopify_order():
    merchant = factories.merchant(currency="EUR")
    _store, order = shopify_order(merchant)
    new = replacement(order, sku="1928-S", credit_minor=5520)
    assert new.total_minor == 5520
    route = respx.post(f"{SHOP}/orders.json").mock(
        return_value=httpx.Response(201, json={"order": {"id": 450789469}})
    )

    push = services.push_replacement_order(order_id=new.pk)
    services.push_replacement_order(order_id=new.pk)  # a replayed event

    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == "POST"
    assert request.headers["X-Shopify-Access-Token"] == "shpat_test"
    assert body(route) == {
        "order": {
            "line_items": [{"variant_id": 39470162018376, "quantity": 1, "price": "0.00"}],
            "currency": "EUR",
            "financial_status": "paid",
            "tags": "awda-exchange, WEB1349-X1",
            "note": f"Awda exchange WEB1349-X1 for order WEB1349: send 1928-S × 1; "
            f"nothing to collect (awda-replacement-{new.pk})",
            "inventory_behaviour": "decrement_obeying_policy",
            "send_receipt": False,
            "send_fulfillment_receipt": False,
            "customer": {"id": 5861808898120},
            "shipping_address": {
                "name": "Test Tester",
                "address1": "Testing",
                "city": "TestTown",
                "zip": "1000",
                "country_code": "BE",
            },
        }
    }
    assert push is not None
    assert (push.kind, push.status, push.remote_id) == ("replacement", PushStatus.DONE, "450789469")
    new.refresh_from_db()
    assert new.replacement_status == ReplacementStatus.PUSHED


@respx.mock
def test_a_difference_collected_on_delivery_is_a_pending_shopify_order_with_a_discount():
    merchant = factories.merchant(currency="EUR")
    _store, order = shopify_order(merchant)
    new = replacement(order, sku="1928-S", credit_minor=2000, collect=True)
    route = respx.post(f"{SHOP}/orders.json").mock(
        return_value=httpx.Response(201, json={"order": {"id": 450789470}})
    )

    services.push_replacement_order(order_id=new.pk)

    sent = body(route)["order"]
    assert sent["line_items"] == [{"variant_id": 39470162018376, "quantity": 1, "price": "55.20"}]
    assert sent["financial_status"] == "pending"
    assert sent["discount_codes"] == [
        {"code": "AWDA-EXCHANGE-WEB1349-X1", "amount": "20.00", "type": "fixed_amount"}
    ]
    assert "collect 35.20 EUR on delivery" in sent["note"]


@respx.mock
def test_a_replacement_whose_answer_was_lost_is_found_by_its_key_not_made_twice():
    merchant = factories.merchant(currency="EUR")
    _store, order = shopify_order(merchant)
    new = replacement(order, sku="1928-S", credit_minor=5520)
    create = respx.post(f"{SHOP}/orders.json").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(services.StoreError):
        services.push_replacement_order(order_id=new.pk)
    listing = respx.get(f"{SHOP}/orders.json").mock(
        return_value=httpx.Response(
            200,
            json={
                "orders": [
                    {"id": 1, "note": "someone else's", "tags": ""},
                    {"id": 450789469, "note": f"… (awda-replacement-{new.pk})", "tags": ""},
                ]
            },
        )
    )

    push = services.push_replacement_order(order_id=new.pk)  # the outbox's retry

    assert create.call_count == 1
    params = listing.calls.last.request.url.params
    assert (params["status"], params["fields"]) == ("any", "id,note,tags")
    assert push is not None and (push.status, push.remote_id) == (PushStatus.DONE, "450789469")


@respx.mock
def test_the_replacement_orders_event_makes_it_in_the_store_through_the_job_table():
    merchant = factories.merchant(currency="EUR")
    _store, order = shopify_order(merchant)
    route = respx.post(f"{SHOP}/orders.json").mock(
        return_value=httpx.Response(201, json={"order": {"id": 450789469}})
    )
    new = replacement(order, sku="1928-S", credit_minor=5520)

    factories.run_jobs()

    assert route.call_count == 1
    assert StorePush.objects.get(key=f"awda-replacement-{new.pk}").status == PushStatus.DONE


@respx.mock
def test_a_held_replacement_goes_to_the_store_only_once_released():
    merchant = factories.merchant(currency="EUR")
    _store, order = shopify_order(merchant)
    new = replacement(order, sku="1928-S", credit_minor=2000, held=True)
    route = respx.post(f"{SHOP}/orders.json").mock(
        return_value=httpx.Response(201, json={"order": {"id": 9}})
    )

    assert services.push_replacement_order(order_id=new.pk) is None
    assert route.call_count == 0
    release_replacement_order(order_id=new.pk)
    push = services.push_replacement_order(order_id=new.pk)

    assert route.call_count == 1
    assert body(route)["order"]["financial_status"] == "paid"  # the difference was paid by link
    assert push is not None and push.status == PushStatus.DONE


@respx.mock
def test_a_store_refusing_the_replacement_puts_it_before_a_person_with_the_stores_words():
    merchant = factories.merchant(currency="EUR")
    _store, order = shopify_order(merchant)
    new = replacement(order, sku="1928-S", credit_minor=5520)
    route = respx.post(f"{SHOP}/orders.json").mock(
        return_value=httpx.Response(
            422, json={"errors": {"line_items": ["Unable to reserve inventory"]}}
        )
    )

    push = services.push_replacement_order(order_id=new.pk)
    again = services.push_replacement_order(order_id=new.pk)

    assert route.call_count == 1
    assert push is not None and push.status == PushStatus.REVIEW
    assert "Unable to reserve inventory" in push.message
    assert again is not None and again.status == PushStatus.REVIEW
    new.refresh_from_db()
    assert new.replacement_status == ReplacementStatus.READY  # not in the store: can be withdrawn


def test_a_replacement_for_an_order_no_store_sent_pushes_nothing():
    merchant = factories.merchant(currency="EUR")
    store, order = shopify_order(merchant)
    new = replacement(order, sku="1928-S", credit_minor=5520)
    StoreOrder.objects.filter(connection=store).delete()  # as if it came by API or CSV

    assert services.push_replacement_order(order_id=new.pk) is None
    assert not StorePush.objects.exists()


@respx.mock
def test_a_woocommerce_replacement_is_an_order_with_the_awda_number_in_its_meta_data():
    merchant = factories.merchant(currency="USD")
    store = connect(merchant, "woocommerce")
    import_payload(store, payload("woocommerce-ios", "order-details-partially-refunded.json"))
    order = Order.objects.get(merchant=merchant, number="324")
    new = replacement(order, sku="POSTER-WOO-LOGO", credit_minor=1000, collect=True, quantity=2)
    route = respx.post(f"{WOO}/orders").mock(
        return_value=httpx.Response(201, json={"id": 727, "number": "727"})
    )

    push = services.push_replacement_order(order_id=new.pk)
    services.push_replacement_order(order_id=new.pk)

    assert route.call_count == 1
    assert route.calls.last.request.headers["Authorization"].startswith("Basic ")
    paid = new.total_minor - 1000
    assert body(route) == {
        "status": "processing",
        "set_paid": False,
        "currency": "USD",
        "line_items": [
            {
                "product_id": 42,
                "quantity": 2,
                "subtotal": "27.00",
                "total": f"{paid / 100:.2f}",
            }
        ],
        "meta_data": [
            {"key": "awda_order", "value": "324-X1"},
            {"key": "awda_replaces", "value": "324"},
            {"key": "awda_key", "value": f"awda-replacement-{new.pk}"},
        ],
        "payment_method": "cod",
        "payment_method_title": "Cash on delivery",
        "customer_id": 1,
        "shipping": {
            "first_name": "Pamela",
            "last_name": "Nguyen",
            "address_1": "10th St. & Constitution Ave. NW",
            "city": "Washington",
            "state": "DC",
            "postcode": "20560",
            "country": "US",
        },
    }
    assert push is not None and (push.status, push.remote_id) == (PushStatus.DONE, "727")


@respx.mock
def test_a_woocommerce_retry_finds_the_order_by_its_awda_key():
    merchant = factories.merchant(currency="USD")
    store = connect(merchant, "woocommerce")
    import_payload(store, payload("woocommerce-ios", "order-details-partially-refunded.json"))
    order = Order.objects.get(merchant=merchant, number="324")
    new = replacement(order, sku="POSTER-WOO-LOGO", credit_minor=1350)
    create = respx.post(f"{WOO}/orders").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(services.StoreError):
        services.push_replacement_order(order_id=new.pk)
    respx.get(f"{WOO}/orders").mock(
        return_value=httpx.Response(
            200,
            json=[
                {"id": 726, "meta_data": []},
                {
                    "id": 727,
                    "meta_data": [{"key": "awda_key", "value": f"awda-replacement-{new.pk}"}],
                },
            ],
            headers={"X-WP-TotalPages": "1"},
        )
    )

    push = services.push_replacement_order(order_id=new.pk)

    assert create.call_count == 1
    assert push is not None and (push.status, push.remote_id) == (PushStatus.DONE, "727")


@respx.mock
def test_zid_gets_a_comment_on_the_original_order_saying_what_to_send():
    merchant = factories.merchant(currency="SAR")
    store = connect(merchant, "zid")
    import_payload(store, payload("zid-sdk-python", "order_detail.json"))
    order = Order.objects.get(merchant=merchant, number="39018491")
    sku = OrderLine.objects.filter(order=order).values_list("sku", flat=True)[0]
    new = replacement(order, sku=sku, credit_minor=0, collect=True)
    route = respx.post(f"{ZID}/39018491/add-order-comment").mock(
        return_value=httpx.Response(200, json={"status": "object"})
    )

    push = services.push_replacement_order(order_id=new.pk)

    request = route.calls.last.request
    assert request.headers["X-Manager-Token"] == "store-token"
    collect = f"{new.collect_on_delivery_minor / 100:.2f}"
    assert body(route) == {
        "comment": f"Awda exchange 39018491-X1: send {sku}×1 COD {collect}"[:100]
    }
    assert push is not None
    assert (push.status, push.remote_id) == (PushStatus.DONE, "note:39018491")


@respx.mock
def test_salla_gets_a_history_note_and_a_retry_finds_it_by_its_key():
    merchant = factories.merchant(currency="SAR")
    store = salla_store(merchant)
    import_payload(store, salla_payload("order_created.json"))
    order = Order.objects.get(merchant=merchant, number="41027662")
    new = replacement(order, sku="SHIRT-WHITE-M", credit_minor=9300)
    note = respx.post(f"{SALLA}/orders/2116149737/histories").mock(
        side_effect=[
            httpx.ReadTimeout("slow"),
            httpx.Response(200, json={"status": 200, "success": True, "data": {"id": 5}}),
        ]
    )
    with pytest.raises(services.StoreError):
        services.push_replacement_order(order_id=new.pk)
    respx.get(f"{SALLA}/orders/2116149737/histories").mock(
        return_value=httpx.Response(
            200,
            json={"data": [{"id": 1333127585, "note": f"… (awda-replacement-{new.pk})"}]},
        )
    )

    push = services.push_replacement_order(order_id=new.pk)

    assert note.call_count == 1
    assert json.loads(note.calls[0].request.content) == {
        "note": f"Awda exchange 41027662-X1 for order 41027662: send SHIRT-WHITE-M × 1; "
        f"nothing to collect (awda-replacement-{new.pk})"
    }
    assert push is not None
    assert (push.status, push.remote_id) == (PushStatus.DONE, "note:1333127585")


@respx.mock
def test_magento_gets_a_comment_on_the_original_order_not_an_order():
    merchant = factories.merchant(currency="USD")
    store = magento_store(merchant)
    import_payload(store, recorded("import_sale_order_9.yaml"))
    order = Order.objects.get(merchant=merchant, number="000000013")
    entity = StoreOrder.objects.get(connection=store).external_id
    new = replacement(order, sku="MH09-XS-Blue", credit_minor=0, collect=True)
    route = respx.post(f"{MAGENTO}/orders/{entity}/comments").mock(
        return_value=httpx.Response(200, json=True)
    )

    push = services.push_replacement_order(order_id=new.pk)

    assert route.calls.last.request.headers["Authorization"] == "Bearer integration-token"
    comment = body(route)["statusHistory"]
    assert comment["comment"].startswith("Awda exchange 000000013-X1 for order 000000013: send ")
    assert (comment["is_customer_notified"], comment["is_visible_on_front"]) == (0, 0)
    assert push is not None and push.remote_id == f"note:{entity}"


# -- store credit as a Shopify gift card ----------------------------------------------------


def opted_in(merchant, *, on: bool = True) -> StoreConnection:
    return connect(
        merchant,
        "shopify",
        credentials={
            "access_token": "shpat_test",
            "credit_as_gift_card": "true" if on else "false",
        },
    )


def grant(merchant, customer: Customer, *, amount_minor: int = 5000, bonus_minor: int = 500):
    expires = clock.now() + timedelta(days=90)
    done = wallet.grant_store_credit(
        merchant=merchant,
        customer=customer,
        amount=Money(amount_minor, "EUR"),
        bonus=Money(bonus_minor, "EUR"),
        idempotency_key="R-1001-credit",
        reference="R-1001",
        actor="system",
        expires_at=expires,
    )
    return done, expires


def push_credit(merchant, done, expires) -> StorePush | None:
    return services.push_store_credit(
        merchant_id=merchant.pk,
        account_id=done.account.pk,
        transaction_id=done.transaction_id,
        amount_minor=done.credited.minor + done.bonus.minor,
        currency="EUR",
        reference="R-1001",
        expires_at=expires,
    )


@respx.mock
def test_store_credit_becomes_one_shopify_gift_card_and_leaves_the_awda_wallet():
    merchant = factories.merchant(currency="EUR")
    store = opted_in(merchant)
    import_payload(store, payload("shopify-bc-connector", "Order.json"))
    customer = Customer.objects.get(merchant=merchant, external_id="shopify:5861808898120")
    done, expires = grant(merchant, customer)
    respx.get(f"{SHOP}/gift_cards/search.json").mock(
        return_value=httpx.Response(200, json={"gift_cards": []})
    )
    route = respx.post(f"{SHOP}/gift_cards.json").mock(
        return_value=httpx.Response(201, json={"gift_card": {"id": 1035197676}})
    )

    push = push_credit(merchant, done, expires)
    push_credit(merchant, done, expires)  # a replayed event

    key = f"awda-credit-{done.transaction_id}"
    assert route.call_count == 1
    assert route.calls.last.request.headers["X-Shopify-Access-Token"] == "shpat_test"
    assert body(route) == {
        "gift_card": {
            "initial_value": "55.00",
            "code": services.gift_card_code(key),
            "note": f"Awda store credit R-1001 ({key})",
            "expires_on": expires.date().isoformat(),
            "customer_id": 5861808898120,
        }
    }
    assert push is not None
    assert (push.kind, push.status, push.remote_id) == ("gift_card", PushStatus.DONE, "1035197676")
    assert CreditAccount.objects.get(pk=done.account.pk).balance_minor == 0


@respx.mock
def test_granted_store_credit_becomes_a_gift_card_through_the_job_table():
    merchant = factories.merchant(currency="EUR")
    store = opted_in(merchant)
    import_payload(store, payload("shopify-bc-connector", "Order.json"))
    customer = Customer.objects.get(merchant=merchant, external_id="shopify:5861808898120")
    route = respx.post(f"{SHOP}/gift_cards.json").mock(
        return_value=httpx.Response(201, json={"gift_card": {"id": 1035197676}})
    )
    done, _expires = grant(merchant, customer)

    factories.run_jobs()

    assert route.call_count == 1
    assert body(route)["gift_card"]["initial_value"] == "55.00"  # the bonus included
    assert StorePush.objects.get(key=f"awda-credit-{done.transaction_id}").remote_id == (
        "1035197676"
    )


@respx.mock
def test_a_gift_card_whose_answer_was_lost_is_found_by_its_last_characters_and_note():
    merchant = factories.merchant(currency="EUR")
    store = opted_in(merchant)
    import_payload(store, payload("shopify-bc-connector", "Order.json"))
    customer = Customer.objects.get(merchant=merchant, external_id="shopify:5861808898120")
    done, expires = grant(merchant, customer)
    key = f"awda-credit-{done.transaction_id}"
    create = respx.post(f"{SHOP}/gift_cards.json").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(services.StoreError):
        push_credit(merchant, done, expires)
    search = respx.get(f"{SHOP}/gift_cards/search.json").mock(
        return_value=httpx.Response(
            200, json={"gift_cards": [{"id": 1035197676, "note": f"Awda store credit ({key})"}]}
        )
    )

    push = push_credit(merchant, done, expires)

    assert create.call_count == 1
    code = services.gift_card_code(key)
    assert search.calls.last.request.url.params["query"] == f"last_characters:{code[-4:]}"
    assert push is not None and (push.status, push.remote_id) == (PushStatus.DONE, "1035197676")
    assert CreditAccount.objects.get(pk=done.account.pk).balance_minor == 0  # moved once


@respx.mock
def test_a_refused_gift_card_goes_to_review_and_the_credit_goes_back_to_the_wallet():
    merchant = factories.merchant(currency="EUR")
    store = opted_in(merchant)
    import_payload(store, payload("shopify-bc-connector", "Order.json"))
    customer = Customer.objects.get(merchant=merchant, external_id="shopify:5861808898120")
    done, expires = grant(merchant, customer)
    respx.post(f"{SHOP}/gift_cards.json").mock(
        return_value=httpx.Response(
            403, json={"errors": "This action requires merchant approval for write_gift_cards"}
        )
    )

    push = push_credit(merchant, done, expires)

    assert push is not None and push.status == PushStatus.REVIEW
    assert "write_gift_cards" in push.message
    assert "back in the Awda wallet" in push.message
    assert CreditAccount.objects.get(pk=done.account.pk).balance_minor == 5500


@respx.mock
def test_without_the_opt_in_store_credit_stays_in_the_awda_wallet_only():
    merchant = factories.merchant(currency="EUR")
    store = opted_in(merchant, on=False)
    import_payload(store, payload("shopify-bc-connector", "Order.json"))
    customer = Customer.objects.get(merchant=merchant, external_id="shopify:5861808898120")
    done, expires = grant(merchant, customer)
    route = respx.post(f"{SHOP}/gift_cards.json")

    assert push_credit(merchant, done, expires) is None
    assert route.call_count == 0
    assert not StorePush.objects.exists()
    assert CreditAccount.objects.get(pk=done.account.pk).balance_minor == 5500


def test_a_merchant_without_a_store_connection_gets_no_gift_card():
    merchant = factories.merchant(currency="EUR")
    order = factories.order(merchant)
    done, expires = grant(merchant, order.customer)

    assert push_credit(merchant, done, expires) is None
    assert not StorePush.objects.exists()


@pytest.mark.parametrize(
    ("platform", "value", "message"),
    [
        ("shopify", "yes", "credit_as_gift_card is true or false."),
        ("woocommerce", "true", "Only Shopify connections can turn store credit into gift cards."),
    ],
)
def test_the_gift_card_setting_is_true_or_false_and_shopify_only(platform, value, message):
    merchant = factories.merchant(currency="EUR")
    credentials = {
        "shopify": {"access_token": "t"},
        "woocommerce": {"consumer_key": "k", "consumer_secret": "s"},
    }[platform]

    with pytest.raises(InvalidInput) as refused:
        connect(merchant, platform, credentials={**credentials, "credit_as_gift_card": value})

    assert str(refused.value.message) == message
    assert refused.value.field == "credentials.credit_as_gift_card"


def test_the_shoppers_mail_gives_the_gift_cards_code_only_for_an_opted_in_store():
    merchant = factories.merchant(currency="EUR")
    store = opted_in(merchant)
    import_payload(store, payload("shopify-bc-connector", "Order.json"))
    customer = Customer.objects.get(merchant=merchant, external_id="shopify:5861808898120")
    done, _expires = grant(merchant, customer)
    ask = {"merchant_id": merchant.pk, "reference": "R-1001", "transaction_id": done.transaction_id}

    code = services.gift_card_for_credit(**ask)

    assert code == services.gift_card_code(f"awda-credit-{done.transaction_id}")
    StoreConnection.objects.filter(pk=store.pk).update(active=False)
    assert services.gift_card_for_credit(**ask) == ""
