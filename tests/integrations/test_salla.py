"""Salla: orders written from Salla's documentation (tests/fixtures/salla, see its SOURCE.md),
Arabic-Indic digits, a total that doesn't add up, the hex signature, the list's paging, and
the history note and relative stock change pushed back."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from awda.integrations import services
from awda.integrations.models import PushStatus, StoreConnection, StoreWebhook, SyncIssue
from awda.integrations.salla import sign, western_digits
from awda.orders.models import Order, Payment
from tests import factories
from tests.integrations.helpers import import_payload, post_hook, refunded_return

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures/salla"
API = "https://api.salla.dev/admin/v2"
CREDENTIALS = {"access_token": "salla-token"}


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_bytes())


def salla_store(merchant) -> StoreConnection:
    return services.connect_store(
        merchant=merchant,
        platform="salla",
        name="Salla store",
        base_url="https://salla.sa/dev-wofftr4xsra5xtlv",
        credentials=CREDENTIALS,
        webhook_secret="salla-webhook-secret",
    )


def signed(body: bytes, secret: str = "salla-webhook-secret") -> dict[str, str]:
    return {"X-Salla-Signature": sign(body, secret), "X-Salla-Security-Strategy": "Signature"}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"credentials": {}}, "credentials", "Missing credentials: access_token."),
        ({"webhook_secret": ""}, "webhook_secret", None),
    ],
)
def test_a_salla_connection_needs_its_token_and_webhook_secret(api_key, change, field, message):
    client = factories.ApiClient(api_key)
    body = {
        "platform": "salla",
        "name": "Salla",
        "base_url": "https://salla.sa/awda-test",
        "credentials": CREDENTIALS,
        "webhook_secret": "salla-webhook-secret",
    }

    refused = client.post("/store-connections", {**body, **change})
    created = client.post("/store-connections", body)

    assert refused.status_code == 422
    assert refused.json()["field"] == field
    if message:
        assert refused.json()["message"] == message
    assert created.status_code == 201, created.content
    assert created.json()["platform"] == "salla"
    assert b"salla-token" not in created.content


def test_arabic_indic_digits_are_read_as_western_ones():
    assert western_digits("٥٥٠٠٠٠٠٠١") == "550000001"
    assert western_digits("۱۲٫۵٠") == "12.50"  # extended digits, Arabic decimal separator
    assert western_digits("1٬250") == "1250"
    assert western_digits(186) == 186


def test_the_documented_order_created_imports_in_halalas_with_its_arabic_title():
    merchant = factories.merchant(currency="SAR")
    store = salla_store(merchant)

    outcome = import_payload(store, load("order_created.json"))

    assert outcome == "imported 41027662"
    order = Order.objects.get(merchant=merchant, number="41027662")
    [line] = order.lines.all()
    assert (line.line_ref, line.sku, line.quantity, line.unit_price_minor) == (
        "1140203955",
        "SHIRT-WHITE-M",
        2,
        9300,
    )
    assert line.title_ar == "قميص قطن أبيض"
    assert line.discount_minor == 500  # the "new offer" of 5.00 falls on the only line
    assert (order.shipping_minor, order.total_minor) == (1500, 19600)
    assert order.placed_at == datetime(2022, 6, 26, 9, 21, 45, tzinfo=UTC)  # 12:21 in Riyadh
    assert order.payment_method == "bank_transfer"
    assert order.payments.get().captured_minor == 0  # the transfer is still under review
    assert order.customer.phone == "+966555555555"
    assert order.shipping_address["city"] == "الرياض"
    assert "salla:under_review" in order.tags
    assert not SyncIssue.objects.filter(connection=store).exists()


def test_arabic_indic_digits_are_imported_and_a_total_that_doesnt_add_up_is_flagged():
    merchant = factories.merchant(currency="SAR")
    store = salla_store(merchant)

    outcome = import_payload(store, load("order_updated_quirks.json"))

    assert outcome == "imported 41027700, 1 issue(s)"
    order = Order.objects.get(merchant=merchant, number="41027700")
    lines = {li.sku: li for li in order.lines.all()}
    assert (lines["HIJAB-CHIFFON"].quantity, lines["HIJAB-CHIFFON"].unit_price_minor) == (2, 5000)
    assert lines["ABAYA-BLACK-52"].unit_price_minor == 10000  # "١٠٠"
    assert lines["HIJAB-CHIFFON"].tax_minor == 1500
    assert order.customer.phone == "+966550000001"
    assert order.shipping_address["postcode"] == "23435"
    assert order.shipping_minor == 3000  # shipping 20 + cash-on-delivery fee 10
    assert order.total_minor == 25000  # the store's word is kept
    assert order.delivered_at == datetime(2026, 1, 5, 13, 30, tzinfo=UTC)  # the event's time
    assert order.payments.get().captured_minor == 25000  # cash collected on delivery
    [issue] = SyncIssue.objects.filter(connection=store)
    assert (issue.code, issue.field, issue.expected, issue.actual) == (
        "total_mismatch",
        "amounts.total",
        "26000",
        "25000",
    )


def test_a_body_that_is_not_an_order_is_written_off_with_the_reason():
    merchant = factories.merchant(currency="SAR")
    store = salla_store(merchant)

    assert import_payload(store, {"event": "order.created", "data": {"reference_id": 1}}) == (
        "unreadable: not a Salla order (no data.id)"
    )


def test_the_hex_signature_is_required_and_checked_and_a_delivery_counts_once():
    merchant = factories.merchant(currency="SAR")
    store = salla_store(merchant)
    body = (FIXTURES / "order_created.json").read_bytes()

    missing = post_hook(store, body, {})
    wrong = post_hook(store, body, signed(body, "guess"))
    token = post_hook(store, body, {"X-Salla-Security-Strategy": "Token"})
    good = post_hook(store, body, signed(body))
    again = post_hook(store, body, signed(body))

    assert [r.status_code for r in (missing, wrong, token, good, again)] == [
        401,
        401,
        401,
        202,
        200,
    ]
    assert "Signature strategy" in token.json()["detail"]
    row = StoreWebhook.objects.get()
    assert (row.event_id, row.topic) == (
        "2116149737:order.created@Sun Jun 26 2022 12:21:48 GMT+0300",
        "order.created",
    )
    assert services.process_store_webhook(webhook_id=row.pk) == "imported 41027662"


def test_a_signed_body_that_is_not_json_or_not_an_event_is_a_400_with_the_reason():
    merchant = factories.merchant(currency="SAR")
    store = salla_store(merchant)
    broken = b'{"event": "order.created", "data": {"id": 1,}}'
    no_event = b'{"data": {"id": 1}}'

    bad_json = post_hook(store, broken, signed(broken))
    not_event = post_hook(store, no_event, signed(no_event))

    assert bad_json.status_code == 400
    assert "not valid JSON" in bad_json.json()["detail"]
    assert not_event.status_code == 400
    assert not_event.json()["detail"] == "not a Salla event (no event name)"
    assert not StoreWebhook.objects.exists()


@respx.mock
def test_backfill_follows_the_pages_fetches_orders_listed_without_items_and_notes_failures():
    merchant = factories.merchant(currency="SAR")
    store = salla_store(merchant)
    page2 = {
        "status": 200,
        "success": True,
        "data": [load("order_updated_quirks.json")["data"]],
        "pagination": {"count": 1, "total": 3, "perPage": 2, "currentPage": 2, "totalPages": 2},
    }
    listing = respx.get(f"{API}/orders").mock(
        side_effect=[
            httpx.Response(200, json=load("orders_list_page1.json")),
            httpx.Response(200, json=page2),
        ]
    )
    respx.get(f"{API}/orders/2116149737").mock(
        return_value=httpx.Response(
            200, json={"status": 200, "success": True, "data": load("order_created.json")["data"]}
        )
    )
    respx.get(f"{API}/orders/2116149800").mock(
        return_value=httpx.Response(
            404, json={"status": 404, "success": False, "error": {"message": "not found"}}
        )
    )

    result = services.backfill(connection_id=store.pk, days=30)

    assert (result.seen, result.imported, result.failed) == (3, 2, 1)
    first, second = (call.request for call in listing.calls)
    assert first.headers["Authorization"] == "Bearer salla-token"
    assert first.url.params["page"] == "1" and second.url.params["page"] == "2"
    assert first.url.params["per_page"] == "60" and first.url.params["expanded"] == "true"
    assert first.url.params["from_date"]  # YYYY-MM-DD, 30 days back
    [failed] = SyncIssue.objects.filter(connection=store, code="fetch_failed")
    assert failed.external_id == "2116149800"
    assert set(Order.objects.filter(merchant=merchant).values_list("number", flat=True)) == {
        "41027662",
        "41027700",
    }


@respx.mock
def test_a_refund_awda_paid_is_written_into_the_orders_history_not_paid_again():
    merchant = factories.merchant(currency="SAR")
    store = salla_store(merchant)
    data = copy.deepcopy(load("order_created.json"))  # paid by card and completed, this time
    data["data"]["payment_method"] = "mada"
    data["data"]["status"]["slug"] = "completed"
    import_payload(store, data)
    order = Order.objects.get(merchant=merchant, number="41027662")
    assert Payment.objects.get(order=order).captured_minor == 19600
    refund = refunded_return(order, line_ref="1140203955", quantity=1, amount_minor=9000)
    route = respx.post(f"{API}/orders/2116149737/histories").mock(
        return_value=httpx.Response(
            200, json={"status": 200, "success": True, "data": {"id": 1333127585, "note": "…"}}
        )
    )

    push = services.push_refund(refund_id=refund.pk)

    sent = route.calls.last.request
    assert sent.method == "POST"
    assert sent.headers["Authorization"] == "Bearer salla-token"
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.content) == {
        "note": f"Awda return {refund.reference}: refunded 90.00 SAR by Awda "
        f"(items 1140203955×1) (awda-refund-{refund.pk})"
    }
    assert push is not None and (push.status, push.remote_id) == (PushStatus.DONE, "1333127585")


@respx.mock
def test_a_restock_is_a_relative_increment_of_the_variants_quantity():
    merchant = factories.merchant(currency="SAR")
    store = salla_store(merchant)
    import_payload(store, load("order_created.json"))
    route = respx.post(f"{API}/products/quantities/bulk").mock(
        return_value=httpx.Response(
            201,
            json={"status": 201, "success": True, "data": {"message": "queued", "code": 201}},
        )
    )

    [push] = services.push_restock(
        merchant_id=merchant.pk, move_id=9, sku="SHIRT-WHITE-M", quantity=1, reason="restock"
    )

    sent = route.calls.last.request
    assert sent.headers["Authorization"] == "Bearer salla-token"
    assert json.loads(sent.content) == {
        "products": [
            {
                "identifer_type": "variant_id",
                "identifer": "1982740021",
                "quantity": 1,
                "mode": "increment",
            }
        ]
    }
    assert (push.status, push.remote_id) == (PushStatus.DONE, "variant_id:1982740021+1")
