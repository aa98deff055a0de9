"""The REST API through Django's test client: auth, tenancy, status codes and shapes."""

from __future__ import annotations

import pytest

from awda.core.models import Event
from awda.returns.models import Return
from tests import factories

pytestmark = pytest.mark.django_db

ORDER = {
    "currency": "SAR",
    "placed_at": "2026-11-10T10:00:00Z",
    "delivered_at": "2026-11-20T10:00:00Z",
    "payment_method": "card",
    "customer": {"email": "Layla@Example.com", "phone": "+966 50 123 4567", "name": "ليلى"},
    "lines": [
        {
            "line_ref": "a",
            "sku": "ABY-BLK-M",
            "title_en": "Black abaya",
            "title_ar": "عباية سوداء",
            "quantity": 2,
            "unit_price_minor": 34900,
            "tax_rate": "15",
            "product": {"external_id": "ABY", "category": "abayas", "supplier": "riyadh-textiles"},
        },
        {
            "line_ref": "b",
            "sku": "UW-1",
            "title_en": "Undershirt",
            "quantity": 1,
            "unit_price_minor": 4900,
            "product": {"external_id": "UW", "category": "underwear"},
        },
    ],
    "payments": [
        {"gateway": "sandbox", "reference": "pi_1", "method": "card", "captured_minor": 74700}
    ],
}


def test_requests_without_a_valid_key_are_refused(db):
    response = factories.ApiClient(None).get("/orders/1")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    response = factories.ApiClient("awda_nope_nope").get("/orders/1")
    assert response.status_code == 401


def test_an_order_is_created_then_updated_with_put(api):
    created = api.put("/orders/5001", ORDER)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["total_minor"] == 74700
    assert body["customer_email"] == "layla@example.com"
    assert api.put("/orders/5001", ORDER).status_code == 200


def test_malformed_input_is_422_naming_the_field(api):
    bad = {**ORDER, "lines": [{**ORDER["lines"][0], "quantity": "two"}]}
    response = api.put("/orders/5002", bad)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input"
    assert {"field": "lines.0.quantity", "reason": "Must be a whole number."} in body["errors"]


def test_a_body_that_is_not_json_is_422_not_500(api):
    response = api.put("/orders/5003", "{not json", content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "(body)", "reason": "The body is not valid JSON."}
    ]


def test_validation_messages_follow_accept_language(api):
    bad = {**ORDER}
    del bad["currency"]
    response = api.put("/orders/5004", bad, headers={"Accept-Language": "ar"})
    reasons = [e["reason"] for e in response.json()["errors"]]
    assert any(any("\u0600" <= ch <= "\u06ff" for ch in r) for r in reasons), reasons


def test_returnable_lines_carry_a_decision_an_explanation_in_both_languages_and_a_quote(api):
    api.put("/orders/5005", ORDER)
    response = api.get("/orders/5005/returnable-lines")
    assert response.status_code == 200, response.content
    lines = {line["line_ref"]: line for line in response.json()["lines"]}
    abaya, undershirt = lines["a"], lines["b"]
    assert abaya["returnable"] is True and abaya["returnable_quantity"] == 2
    assert abaya["explanation"]["en"] and abaya["explanation"]["ar"]
    assert abaya["quote"]["refund_minor"] == 69800
    assert abaya["quote"]["store_credit_minor"] == 69800 + 6980
    assert undershirt["returnable"] is False
    assert undershirt["blocking"] == "not_returnable"
    assert undershirt["explanation"]["ar"]


def test_creating_a_return_gives_a_number_status_quote_timeline_and_events(api):
    api.put("/orders/5006", ORDER)
    response = api.post(
        "/returns",
        {
            "order_number": "5006",
            "method": "label",
            "items": [
                {"line_ref": "a", "quantity": 1, "reason": "size", "sub_reason": "too_large"}
            ],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"].startswith("R-")
    assert body["status"] == "approved"
    assert body["quote"]["refund_total"] > 0
    assert [t["to_status"] for t in body["timeline"]] == ["requested", "approved"]
    ret = Return.objects.get(number=body["number"])
    assert Event.objects.filter(aggregate_id=str(ret.pk), name="ReturnRequested").exists()
    assert api.get(f"/returns/{body['number']}").json()["number"] == body["number"]


def test_too_large_a_quantity_is_a_4xx_with_a_clear_code(api):
    api.put("/orders/5007", ORDER)
    response = api.post(
        "/returns",
        {
            "order_number": "5007",
            "method": "label",
            "items": [{"line_ref": "a", "quantity": 3, "reason": "too_small"}],
        },
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "quantity_exceeds_returnable"
    assert body["field"] == "items.0.quantity"
    assert body["details"]["returnable"] == 2


def test_a_forbidden_transition_is_409_with_the_current_state(api):
    api.put("/orders/5008", ORDER)
    number = api.post(
        "/returns",
        {
            "order_number": "5008",
            "method": "label",
            "items": [{"line_ref": "a", "quantity": 1, "reason": "too_small"}],
        },
    ).json()["number"]
    assert api.post(f"/returns/{number}/cancel").status_code == 200
    response = api.post(f"/returns/{number}/cancel")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["details"]["current_status"] == "cancelled"


def test_a_merchant_cannot_see_another_merchants_orders_or_returns(api):
    other = factories.merchant()
    order = factories.order(other, number="7777")
    other_api = factories.ApiClient(factories.api_key(other))
    number = other_api.post(
        "/returns",
        {
            "order_number": order.number,
            "method": "label",
            "items": [{"line_ref": "1", "quantity": 1, "reason": "too_small"}],
        },
    ).json()["number"]
    assert api.get("/orders/7777").status_code == 404
    assert api.get("/orders/7777/returnable-lines").status_code == 404
    assert api.get(f"/returns/{number}").status_code == 404
    assert api.post(f"/returns/{number}/cancel").status_code == 404
    assert api.get("/returns").json()["count"] == 0


def test_returns_are_listed_newest_first_with_filters_and_pagination(api):
    api.put("/orders/5009", {**ORDER, "lines": [{**ORDER["lines"][0], "quantity": 3}]})
    for _ in range(3):
        api.post(
            "/returns",
            {
                "order_number": "5009",
                "method": "label",
                "items": [{"line_ref": "a", "quantity": 1, "reason": "too_small"}],
            },
        )
    page = api.get("/returns?limit=2&offset=0").json()
    assert page["count"] == 3 and len(page["items"]) == 2
    assert api.get("/returns?status=approved").json()["count"] == 3
    assert api.get("/returns?status=cancelled").json()["count"] == 0
    assert api.get("/returns?status=nonsense").status_code == 422


def test_reasons_are_listed_with_sub_reasons(api):
    reasons = api.get("/returns/reasons").json()
    codes = {r["code"]: r for r in reasons}
    assert codes["too_small"]["parent"] == "size"
    assert codes["defective"]["label_ar"]


def test_the_policy_can_be_read_and_replaced_and_a_bad_one_names_the_field(api):
    current = api.get("/policy").json()
    assert current["version"] == 1
    doc = current["document"]
    doc["defaults"]["window_days"] = 45
    replaced = api.put("/policy", doc)
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["version"] == 2
    doc["defaults"]["window_days"] = -1
    bad = api.put("/policy", doc)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "defaults.window_days"
    assert api.get("/policy").json()["version"] == 2


def test_the_policy_round_trips_as_yaml(api):
    text = api.get("/policy.yaml").content.decode()
    assert "window_days" in text
    response = api.put("/policy.yaml", text.encode(), content_type="application/yaml")
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2
    bad = api.put("/policy.yaml", b"defaults: [unclosed", content_type="application/yaml")
    assert bad.status_code == 422


def test_openapi_and_docs_are_served(db, client):
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert "/api/v1/orders/{number}/returnable-lines" in paths
    assert client.get("/api/v1/docs").status_code == 200


def test_a_retried_create_with_the_same_idempotency_key_answers_200_with_the_same_return(api):
    api.put("/orders/5010", ORDER)
    body = {
        "order_number": "5010",
        "method": "label",
        "items": [{"line_ref": "a", "quantity": 1, "reason": "too_small"}],
    }
    first = api.post("/returns", body, headers={"Idempotency-Key": "retry-0001"})
    second = api.post("/returns", body, headers={"Idempotency-Key": "retry-0001"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["number"] == second.json()["number"]
    assert Return.objects.count() == 1


def test_a_nul_character_in_a_body_is_refused_naming_the_field(api):
    bad = {**ORDER, "lines": [{**ORDER["lines"][0], "title_en": "Abaya\u0000"}]}
    response = api.put("/orders/5011", bad)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines.0.title_en"


def test_a_nul_character_in_the_query_string_is_refused(api):
    response = api.get("/returns?order_number=%00")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"


def test_dates_with_offsets_beyond_what_databases_store_are_kept_as_utc(api):
    response = api.get("/returns?requested_after=1460-08-01T13:49:04%2B19:39")
    assert response.status_code == 200
    order = {**ORDER, "placed_at": "2026-11-10T10:00:00+19:30"}
    created = api.put("/orders/5012", order)
    assert created.status_code == 201, created.content
    assert created.json()["placed_at"].startswith("2026-11-09T14:30:00")


def test_a_date_that_overflows_in_utc_is_422(api):
    response = api.get("/returns?requested_after=0001-01-01T00:00:00%2B10:00")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "requested_after"
