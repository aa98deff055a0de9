"""/api/v1/store-connections: connect, list, disconnect, backfill, issues; merchant-scoped,
secrets never returned."""

from __future__ import annotations

import pytest

from awda.core.models import Event
from awda.integrations.models import StoreConnection
from tests import factories
from tests.integrations.helpers import connect, import_payload, payload

pytestmark = pytest.mark.django_db


def test_connecting_a_store_returns_its_webhook_path_and_never_its_secrets(merchant, api_key):
    client = factories.ApiClient(api_key)

    created = client.post(
        "/store-connections",
        {
            "platform": "shopify",
            "name": "Main shop",
            "base_url": "https://main.myshopify.com/",
            "credentials": {"access_token": "shpat_secret_123"},
            "webhook_secret": "app-secret-456",
        },
    )
    listed = client.get("/store-connections")

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["webhook_path"].startswith("/hooks/stores/")
    assert body["base_url"] == "https://main.myshopify.com"
    assert body["webhook_token"] == ""
    for response in (created, listed):
        assert b"shpat_secret_123" not in response.content
        assert b"app-secret-456" not in response.content
    stored = StoreConnection.objects.get()
    assert stored.credentials == '{"access_token": "shpat_secret_123"}'  # decrypted on read


def test_a_zid_connection_shows_its_address_token_once(merchant, api_key):
    client = factories.ApiClient(api_key)

    created = client.post(
        "/store-connections",
        {
            "platform": "zid",
            "name": "Zid",
            "base_url": "https://api.zid.sa",
            "credentials": {"authorization": "a", "manager_token": "m"},
        },
    ).json()

    assert len(created["webhook_token"]) > 20
    assert created["webhook_token"] not in client.get("/store-connections").content.decode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {
                "platform": "woocommerce",
                "name": "W",
                "base_url": "https://w.example",
                "credentials": {"consumer_key": "k"},
                "webhook_secret": "s",
            },
            "credentials",
        ),
        (
            {
                "platform": "woocommerce",
                "name": "W",
                "base_url": "http://w.example",
                "credentials": {"consumer_key": "k", "consumer_secret": "s"},
                "webhook_secret": "s",
            },
            "base_url",
        ),
        (
            {
                "platform": "shopify",
                "name": "S",
                "base_url": "https://s.example",
                "credentials": {"access_token": "t"},
            },
            "webhook_secret",
        ),
    ],
)
def test_a_connection_missing_what_it_needs_is_refused_with_the_field(api_key, body, field):
    response = factories.ApiClient(api_key).post("/store-connections", body)

    assert response.status_code == 422
    assert response.json()["field"] == field
    assert not StoreConnection.objects.exists()


def test_another_merchants_connection_is_not_found(merchant, api_key):
    theirs = connect(factories.merchant(currency="SAR"), "zid")
    client = factories.ApiClient(api_key)

    assert client._call("delete", f"/store-connections/{theirs.pk}").status_code == 404
    assert client.get(f"/store-connections/{theirs.pk}/issues").status_code == 404
    assert client.post(f"/store-connections/{theirs.pk}/backfill", {"days": 3}).status_code == 404
    assert StoreConnection.objects.get(pk=theirs.pk).active


def test_disconnecting_keeps_the_history_and_a_backfill_is_queued_as_an_event(merchant, api_key):
    store = connect(merchant, "zid")
    import_payload(store, payload("zid-sdk-python", "order_detail.json"))
    client = factories.ApiClient(api_key)

    queued = client.post(f"/store-connections/{store.pk}/backfill", {"days": 14})
    gone = client._call("delete", f"/store-connections/{store.pk}")

    assert queued.status_code == 202
    event = Event.objects.get(name="StoreBackfillRequested")
    assert event.payload == {"connection_id": store.pk, "days": 14}
    assert gone.status_code == 200 and gone.json()["active"] is False
    assert client.get(f"/store-connections/{store.pk}/issues").json() == []
    again = client.post(f"/store-connections/{store.pk}/backfill", {"days": 14})
    assert again.status_code == 422


def test_the_issues_of_a_connection_say_what_didnt_add_up(api_key):
    merchant = factories.merchant(currency="USD")
    key = factories.api_key(merchant)
    store = connect(merchant, "woocommerce")
    import_payload(store, payload("woocommerce-ios", "order.json"))

    issues = factories.ApiClient(key).get(f"/store-connections/{store.pk}/issues").json()

    assert {(i["code"], i["field"]) for i in issues} == {
        ("fractional_quantity", "line_items.1.quantity"),
        ("total_mismatch", "shipping_total"),
        ("total_mismatch", "total"),
    }
    assert all(i["order_number"] == "963" for i in issues)
