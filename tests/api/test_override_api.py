"""POST /api/v1/returns with ``override_reason``: the merchant's own integration opens a return
the policy refuses. Approved at once, the reason on the timeline and in the audit log (as
"api"); a blank reason is a 422 naming the field, and the units delivered still bound it."""

from __future__ import annotations

import pytest

from awda.core.models import AuditEntry, Event
from awda.returns.models import Return
from tests import factories

pytestmark = pytest.mark.django_db

WHY = "Agreed with the customer on the phone"


@pytest.fixture
def late_order(merchant):
    # Delivered 45 days ago: the default policy's 30-day window has closed.
    return factories.order(merchant, lines=[factories.line("1", quantity=2)], delivered_days_ago=45)


def body(order, **changes):
    data = {
        "order_number": order.number,
        "method": "label",
        "items": [{"line_ref": "1", "quantity": 1, "reason": "too_small"}],
    }
    data.update(changes)
    return data


def test_without_an_override_a_line_past_the_window_is_refused(api, late_order):
    response = api.post("/returns", body(late_order))

    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == (
        "window_expired",
        "items.0.line_ref",
    )


def test_with_a_reason_the_return_is_opened_approved_and_audited_as_the_api(
    api, merchant, late_order
):
    response = api.post("/returns", body(late_order, override_reason=WHY))

    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["status"] == "approved"
    overridden = [t for t in answer["timeline"] if t["kind"] == "policy_overridden"]
    assert [(t["actor"], t["note"]) for t in overridden] == [("api", WHY)]
    ret = Return.objects.get(number=answer["number"])
    assert ret.channel == "api"
    event = Event.objects.get(name="ReturnRequested", aggregate_id=str(ret.pk))
    assert event.payload["override"] is True
    audit = AuditEntry.objects.get(merchant_id=merchant.pk, action="policy_override")
    assert (audit.actor, audit.subject_id, audit.summary) == ("api", ret.number, WHY)
    assert audit.data["overridden"] == ["window_expired"]


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_blank_override_reason_is_a_422_naming_the_field_and_nothing_is_saved(
    api, merchant, late_order, reason
):
    response = api.post(
        "/returns", body(late_order, override_reason=reason), headers={"Accept-Language": "ar"}
    )

    assert response.status_code == 422
    answer = response.json()
    assert (answer["code"], answer["field"]) == ("invalid_input", "override_reason")
    assert any("\u0600" <= ch <= "\u06ff" for ch in answer["message"]), answer["message"]
    assert not Return.objects.filter(merchant=merchant).exists()
    assert not AuditEntry.objects.filter(merchant_id=merchant.pk).exists()


def test_an_override_never_returns_more_units_than_were_delivered(api, merchant, late_order):
    items = [{"line_ref": "1", "quantity": 3, "reason": "too_small"}]

    response = api.post("/returns", body(late_order, items=items, override_reason=WHY))

    assert response.status_code == 422
    assert response.json()["code"] == "quantity_exceeds_returnable"
    assert not Return.objects.filter(merchant=merchant).exists()


def test_a_retried_override_answers_with_the_first_return_and_is_audited_once(
    api, merchant, late_order
):
    request = body(late_order, override_reason=WHY, idempotency_key="override-0001")

    first = api.post("/returns", request)
    second = api.post("/returns", request)

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["number"] == second.json()["number"]
    assert AuditEntry.objects.filter(merchant_id=merchant.pk, action="policy_override").count() == 1


def test_the_openapi_documents_the_override_reason_and_the_refusals(db, client):
    spec = client.get("/api/v1/openapi.json").json()
    create = spec["paths"]["/api/v1/returns"]["post"]

    assert {"201", "200", "404", "422"} <= set(create["responses"])
    assert "override_reason" in create["description"]
    assert "override_reason" in spec["components"]["schemas"]["ReturnIn"]["properties"]
