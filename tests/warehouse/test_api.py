"""/api/v1/warehouse and /api/v1/stock: shapes, errors naming the field, the key's merchant
only."""

from __future__ import annotations

import pytest

from awda.catalog.models import StockMove
from awda.payments.gateways import sandbox as sandbox_gateway
from tests import factories
from tests.warehouse import helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox_gateway.reset_sandbox()
    yield
    sandbox_gateway.reset_sandbox()


def _client(m) -> factories.ApiClient:
    return factories.ApiClient(factories.api_key(m))


def test_scan_receive_in_one_call_then_read_the_stock():
    m = h.merchant()
    ret = h.a_return(m, sku="TEE-M")
    api = _client(m)

    scanned = api.get(f"/warehouse/scan/{h.tracking(ret)}")
    assert scanned.status_code == 200
    assert scanned.json()["number"] == ret.number
    assert scanned.json()["items"][0]["reception"] == "awaiting"

    received = api.post(f"/warehouse/returns/{ret.number.lower()}/receive", {})
    assert received.status_code == 200, received.json()
    body = received.json()
    assert body["return"]["status"] == "received"
    (item,) = body["return"]["items"]
    assert (item["decision"], item["condition"], item["disposition"]) == (
        "accepted", "new", "restock",
    )  # fmt: skip
    assert body["disposals"][0]["stock_move"]["quantity"] == 1

    replay = api.post(
        f"/warehouse/returns/{ret.number}/items/1/dispose",
        {"disposition": "restock"},
        headers={"Idempotency-Key": "click-2"},
    )
    assert replay.status_code == 200 and replay.json()["recorded"] is False

    stock = api.get("/stock/TEE-M").json()
    assert stock["levels"] == [
        {"location_code": "main", "location_name": "Main warehouse", "is_default": True,
         "on_hand": 1, "reserved": 0, "available": 1},
    ]  # fmt: skip
    assert [(mv["reason"], mv["quantity"]) for mv in stock["moves"]] == [("restock", 1)]
    assert StockMove.objects.count() == 1


def test_receive_per_item_and_dispose_one():
    m = h.merchant()
    ret = h.a_return(m, ("1", "2"))
    api = _client(m)

    r = api.post(
        f"/warehouse/returns/{ret.number}/receive",
        {
            "items": [
                {"line_ref": "1", "condition": "damaged", "decision": "accepted",
                 "skip_disposition": True},
                {"line_ref": "2", "reception": "missing", "decision": "rejected",
                 "note": "Empty box"},
            ]
        },
    )  # fmt: skip
    assert r.status_code == 200, r.json()
    items = {i["line_ref"]: i for i in r.json()["return"]["items"]}
    assert items["1"]["suggested_disposition"] == "liquidate"
    assert items["2"]["decision_note"] == "Empty box"

    d = api.post(f"/warehouse/returns/{ret.number}/items/1/dispose", {"disposition": "liquidate"})
    assert d.status_code == 200 and d.json()["stock_move"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": [{"line_ref": "1", "condition": "shiny"}]}, "items.0.condition"),
        ({"items": [{"line_ref": "1", "decision": "maybe"}]}, "items.0.decision"),
        ({"items": [{"line_ref": "1", "received_quantity": -1}]}, "items.0.received_quantity"),
        ({"items": [{"line_ref": "1", "colour": "red"}]}, "items.0.colour"),
        ({"items": []}, "items"),
    ],
)
def test_malformed_receipts_name_the_field(body, field):
    m = h.merchant()
    ret = h.a_return(m)
    r = _client(m).post(f"/warehouse/returns/{ret.number}/receive", body)
    assert r.status_code == 422
    assert field in [e["field"] for e in r.json()["errors"]]


def test_domain_refusals_are_4xx_with_the_field():
    m = h.merchant()
    ret = h.a_return(m)
    api = _client(m)

    unknown_item = api.post(f"/warehouse/returns/{ret.number}/receive",
                            {"items": [{"line_ref": "9"}]})  # fmt: skip
    assert unknown_item.status_code == 404 and unknown_item.json()["field"] == "items.0.line_ref"

    too_early = api.post(f"/warehouse/returns/{ret.number}/items/1/dispose",
                         {"disposition": "restock"})  # fmt: skip
    assert too_early.status_code == 409 and too_early.json()["code"] == "invalid_transition"

    bad = api.post(f"/warehouse/returns/{ret.number}/items/1/dispose", {"disposition": "burn"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "disposition"

    nowhere = api.post(f"/warehouse/returns/{ret.number}/receive", {"location": "mars"})
    assert nowhere.status_code == 404 and nowhere.json()["field"] == "location"

    assert api.get("/warehouse/scan/NOPE").status_code == 404
    assert api.get("/stock/NOPE").json()["field"] == "sku"


def test_another_merchants_return_and_stock_are_not_found():
    m, other = h.merchant(), h.merchant()
    ret = h.a_return(m, sku="TEE-M")
    api = _client(other)

    assert api.get(f"/warehouse/scan/{h.tracking(ret)}").status_code == 404
    assert api.get(f"/warehouse/scan/{ret.number}").status_code == 404
    assert api.post(f"/warehouse/returns/{ret.number}/receive", {}).status_code == 404
    assert api.post(f"/warehouse/returns/{ret.number}/items/1/dispose",
                    {"disposition": "restock"}).status_code == 404  # fmt: skip
    assert api.get("/stock/TEE-M").status_code == 404
    assert h.item(ret).reception == "awaiting"


def test_the_warehouse_endpoints_need_a_key():
    m = h.merchant()
    ret = h.a_return(m)
    assert factories.ApiClient(None).get(f"/warehouse/scan/{ret.number}").status_code == 401
