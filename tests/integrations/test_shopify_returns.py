"""An approved Awda return of a Shopify order becomes Shopify's own Return (GraphQL
``returnCreate`` against the fulfillment line items that shipped the units), once per
return; and a Shopify connection subscribes its order topics to Awda's webhook address.
Shopify's answers are written from its documentation (tests/fixtures/shopify-graphql)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from awda.core import clock
from awda.integrations import services, shopify
from awda.integrations.models import PushStatus, StoreConnection, StorePush
from awda.orders.models import Order, OrderLine
from awda.returns.models import Return, ReturnStatus
from awda.returns.services import ItemRequest, approve_return, request_return
from awda.tasks import HANDLERS, push_return_to_store
from tests import factories
from tests.integrations.helpers import connect, import_payload, payload

SHOP = "https://awda-test.myshopify.com/admin/api/2024-10"
GRAPHQL = f"{SHOP}/graphql.json"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures/shopify-graphql"
ORDER_GID = "gid://shopify/Order/4670269816904"
LINE = "11883238293576"


def answer(name: str, number: str = "") -> httpx.Response:
    text = (FIXTURES / name).read_text().replace("RETURN_NUMBER", number)
    return httpx.Response(200, json=json.loads(text))


def sent(call: Any) -> Any:
    return json.loads(call.request.content)


def shopify_return(
    merchant, *, reason: str = "size", sub_reason: str = "too_small"
) -> tuple[StoreConnection, Return]:
    store = connect(merchant, "shopify")
    import_payload(store, payload("shopify-bc-connector", "Order.json"))
    order = Order.objects.get(merchant=merchant, number="WEB1349")
    OrderLine.objects.filter(order=order).update(delivered_quantity=1)
    Order.objects.filter(pk=order.pk).update(delivered_at=clock.now() - timedelta(days=1))
    ret = request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref=LINE, quantity=1, reason=reason, sub_reason=sub_reason)],
        method="label",
    )
    if ret.status == ReturnStatus.PENDING_REVIEW:  # a merchant-fault reason waits for a person
        ret = approve_return(merchant=merchant, number=ret.number, actor="staff")
    assert ret.status == ReturnStatus.APPROVED
    return store, ret


# -- the reasons (no database) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "sub_code", "expected"),
    [
        ("defective", "", "DEFECTIVE"),
        ("size", "too_small", "SIZE_TOO_SMALL"),
        ("size", "too_large", "SIZE_TOO_LARGE"),
        ("size", "", "OTHER"),
        ("not_as_described", "colour_differs", "NOT_AS_DESCRIBED"),
        ("wrong_item", "", "WRONG_ITEM"),
        ("changed_my_mind", "", "UNWANTED"),
        ("changed_mind", "", "UNWANTED"),
        ("arrived_late", "", "OTHER"),
        ("a_merchants_own_reason", "", "OTHER"),
    ],
)
def test_awda_reasons_become_shopifys_return_reasons_and_the_rest_other(code, sub_code, expected):
    assert shopify.return_reason(code, sub_code) == expected


def test_an_approved_return_is_pushed_to_the_store_by_the_job_table():
    assert push_return_to_store in HANDLERS["ReturnApproved"]


# -- returnCreate -------------------------------------------------------------------------


@pytest.mark.django_db
@respx.mock
def test_an_approved_return_becomes_one_shopify_return_of_the_fulfilled_line_items():
    merchant = factories.merchant(currency="EUR")
    _store, ret = shopify_return(merchant)
    route = respx.post(GRAPHQL).mock(
        side_effect=[answer("order_fulfillments.json"), answer("return_create.json")]
    )

    push = services.push_return(return_id=ret.pk)

    first, second = route.calls
    assert first.request.headers["X-Shopify-Access-Token"] == "shpat_test"
    assert sent(first) == {"query": shopify.FULFILLMENTS_QUERY, "variables": {"id": ORDER_GID}}
    assert sent(second) == {
        "query": (
            "mutation returnCreate($returnInput: ReturnInput!) { returnCreate(returnInput:"
            " $returnInput) { return { id name status } userErrors { field message } } }"
        ),
        "variables": {
            "returnInput": {
                "orderId": ORDER_GID,
                "returnLineItems": [
                    {
                        "fulfillmentLineItemId": "gid://shopify/FulfillmentLineItem/9781002376",
                        "quantity": 1,
                        "returnReason": "SIZE_TOO_SMALL",
                        "returnReasonNote": f"Awda return {ret.number} (awda-return-{ret.number})",
                    }
                ],
                "notifyCustomer": False,
            }
        },
    }
    assert push is not None
    assert (push.kind, push.key, push.status, push.remote_id) == (
        "return",
        f"awda-return-{ret.number}",
        PushStatus.DONE,
        "gid://shopify/Return/945000954",
    )


@pytest.mark.django_db
@respx.mock
def test_the_job_run_twice_creates_one_shopify_return():
    merchant = factories.merchant(currency="EUR")
    _store, ret = shopify_return(merchant, reason="defective", sub_reason="")
    route = respx.post(GRAPHQL).mock(
        side_effect=[answer("order_fulfillments.json"), answer("return_create.json")]
    )

    services.push_return(return_id=ret.pk)
    again = services.push_return(return_id=ret.pk)  # a replayed event

    assert route.call_count == 2  # the fulfillments, then one returnCreate
    assert (
        sent(route.calls.last)["variables"]["returnInput"]["returnLineItems"][0]["returnReason"]
        == "DEFECTIVE"
    )
    assert again is not None and again.status == PushStatus.DONE
    assert StorePush.objects.filter(key=f"awda-return-{ret.number}").count() == 1


@pytest.mark.django_db
@respx.mock
def test_a_retry_whose_answer_was_lost_finds_the_return_by_its_note_and_makes_no_second():
    merchant = factories.merchant(currency="EUR")
    _store, ret = shopify_return(merchant)
    route = respx.post(GRAPHQL).mock(
        side_effect=[answer("order_fulfillments.json"), httpx.ReadTimeout("slow")]
    )
    with pytest.raises(services.StoreError):
        services.push_return(return_id=ret.pk)
    route.mock(side_effect=[answer("order_returns.json", ret.number)])

    push = services.push_return(return_id=ret.pk)  # the outbox's retry

    assert sent(route.calls.last)["query"] == shopify.RETURNS_QUERY
    assert push is not None
    assert (push.status, push.remote_id) == (PushStatus.DONE, "gid://shopify/Return/945000954")


@pytest.mark.django_db
@respx.mock
def test_shopify_refusing_the_return_puts_it_before_a_person_with_shopifys_words():
    merchant = factories.merchant(currency="EUR")
    _store, ret = shopify_return(merchant)
    respx.post(GRAPHQL).mock(
        side_effect=[answer("order_fulfillments.json"), answer("return_create_user_errors.json")]
    )

    push = services.push_return(return_id=ret.pk)

    assert push is not None and push.status == PushStatus.REVIEW
    assert push.message == "Shopify refused the return: Quantity is not available for return."


@pytest.mark.django_db
@respx.mock
def test_units_shopify_never_fulfilled_are_not_returned_there_but_put_to_review():
    merchant = factories.merchant(currency="EUR")
    _store, ret = shopify_return(merchant)
    unfulfilled = {"data": {"order": {"id": ORDER_GID, "fulfillments": []}}}
    route = respx.post(GRAPHQL).mock(return_value=httpx.Response(200, json=unfulfilled))

    push = services.push_return(return_id=ret.pk)

    assert route.call_count == 1  # no returnCreate
    assert push is not None and push.status == PushStatus.REVIEW
    assert (
        push.message == f"line item {LINE} has 0 fulfilled unit(s) in Shopify, 1 returned in Awda"
    )


@pytest.mark.django_db
@respx.mock
def test_a_return_cancelled_before_the_job_ran_makes_nothing_in_shopify():
    merchant = factories.merchant(currency="EUR")
    _store, ret = shopify_return(merchant)
    Return.objects.filter(pk=ret.pk).update(status=ReturnStatus.CANCELLED)
    route = respx.post(GRAPHQL)

    assert services.push_return(return_id=ret.pk) is None
    assert route.call_count == 0


@pytest.mark.django_db
@respx.mock
def test_a_return_of_an_order_no_shopify_store_sent_pushes_nothing():
    merchant = factories.merchant()
    order = factories.order(merchant)
    ret = request_return(
        merchant=merchant,
        order_number=order.number,
        items=[
            ItemRequest(
                line_ref=order.lines.first().line_ref,  # type: ignore[union-attr]
                quantity=1,
                reason="defective",
            )
        ],
        method="label",
    )
    route = respx.post(GRAPHQL)

    assert services.push_return(return_id=ret.pk) is None
    assert route.call_count == 0 and not StorePush.objects.exists()


# -- webhooks -----------------------------------------------------------------------------


@pytest.fixture
def public_url(settings) -> str:  # type: ignore[no-untyped-def]
    settings.AWDA_PUBLIC_URL = "https://returns.example.com/"
    return "https://returns.example.com"


@pytest.mark.django_db
@respx.mock
def test_the_stores_order_topics_are_subscribed_to_its_webhook_address(public_url):
    store = connect(factories.merchant(currency="EUR"), "shopify")
    address = f"{public_url}/hooks/stores/{store.public_id}/"
    listing = respx.get(f"{SHOP}/webhooks.json").mock(
        return_value=httpx.Response(200, json={"webhooks": []})
    )
    create = respx.post(f"{SHOP}/webhooks.json").mock(
        return_value=httpx.Response(201, json={"webhook": {"id": 4759306}})
    )

    added = services.register_webhooks(store.pk)

    assert added == ["orders/create", "orders/updated"]
    assert dict(listing.calls.last.request.url.params) == {"address": address, "limit": "250"}
    assert listing.calls.last.request.headers["X-Shopify-Access-Token"] == "shpat_test"
    assert [sent(call) for call in create.calls] == [
        {"webhook": {"topic": "orders/create", "address": address, "format": "json"}},
        {"webhook": {"topic": "orders/updated", "address": address, "format": "json"}},
    ]


@pytest.mark.django_db
@respx.mock
def test_topics_already_subscribed_to_the_address_are_not_subscribed_again(public_url):
    store = connect(factories.merchant(currency="EUR"), "shopify")
    address = f"{public_url}/hooks/stores/{store.public_id}/"
    respx.get(f"{SHOP}/webhooks.json").mock(
        return_value=httpx.Response(
            200,
            json={
                "webhooks": [
                    {"id": 1, "topic": "orders/create", "address": address, "format": "json"},
                    # Another app's (or an older installation's) address doesn't count.
                    {"id": 2, "topic": "orders/updated", "address": "https://old.example.com/"},
                ]
            },
        )
    )
    create = respx.post(f"{SHOP}/webhooks.json").mock(
        return_value=httpx.Response(201, json={"webhook": {"id": 3}})
    )

    assert services.register_webhooks(store.pk) == ["orders/updated"]
    assert [sent(call)["webhook"]["topic"] for call in create.calls] == ["orders/updated"]


@pytest.mark.django_db
@respx.mock
def test_a_refused_webhook_is_reported_with_shopifys_words(public_url):
    store = connect(factories.merchant(currency="EUR"), "shopify")
    respx.get(f"{SHOP}/webhooks.json").mock(return_value=httpx.Response(200, json={}))
    respx.post(f"{SHOP}/webhooks.json").mock(
        return_value=httpx.Response(
            422, json={"errors": {"address": ["for this topic has already been taken"]}}
        )
    )

    with pytest.raises(services.StoreError) as refused:
        services.register_webhooks(store.pk)

    assert "for this topic has already been taken" in str(refused.value)
