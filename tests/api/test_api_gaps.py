"""What the portal and the staff pages can do, through the API too: attach a photo to a
returned item, list the drop-off points near a return's shopper, try a policy on an order,
decide an agent's goodwill request and set agents' budgets; always the key's store only, and
only with the area's scope."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from awda.core.models import AuditEntry
from awda.core.money import Money
from awda.merchants.models import StaffRole
from awda.orders.models import Order
from awda.returns.models import ReturnPhoto
from awda.shipping.services import DropOffPointData, save_drop_off_points
from awda.support import services as support
from awda.support.models import GoodwillAllowance, GoodwillStatus
from tests import factories

pytestmark = pytest.mark.django_db

RETURN = {
    "order_number": "1001",
    "method": "label",
    "items": [{"line_ref": "1", "quantity": 1, "reason": "too_small"}],
}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def _upload(key: str, number: str, ref: str, data: bytes, name: str = "p.jpg"):
    return Client().post(
        f"/api/v1/returns/{number}/items/{ref}/photos",
        {"file": SimpleUploadedFile(name, data)},
        headers={"Authorization": f"Bearer {key}"},
    )


def _return(merchant) -> str:
    factories.order(merchant, number="1001")
    api = factories.ApiClient(factories.api_key(merchant))
    response = api.post("/returns", RETURN)
    assert response.status_code == 201, response.content
    return str(response.json()["number"])


# -- photos ------------------------------------------------------------------------------------


def test_a_photo_is_stored_clean_and_attached_to_the_returned_item(merchant):
    number = _return(merchant)
    key = factories.api_key(merchant, scopes=["returns:write"])

    response = _upload(key, number, "1", _jpeg())

    assert response.status_code == 201, response.content
    photo = ReturnPhoto.objects.get(pk=response.json()["id"])
    assert photo.merchant_id == merchant.pk
    assert photo.return_item is not None
    assert photo.return_item.order_line.line_ref == "1"
    assert photo.attached_at is not None


def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_kept(merchant):
    number = _return(merchant)
    key = factories.api_key(merchant, scopes=["returns:write"])

    response = _upload(key, number, "1", b"%PDF-1.4 not a photo", name="p.jpg")

    assert response.status_code == 422
    assert response.json()["field"] == "photos"
    assert not ReturnPhoto.objects.exists()


def test_a_photo_over_the_size_limit_is_refused(merchant, settings):
    number = _return(merchant)
    key = factories.api_key(merchant, scopes=["returns:write"])
    settings.AWDA_PHOTO_MAX_BYTES = 100

    response = _upload(key, number, "1", _jpeg())

    assert response.status_code == 422
    assert not ReturnPhoto.objects.exists()


def test_an_unknown_line_or_another_stores_return_is_not_found(merchant):
    number = _return(merchant)
    other = factories.merchant()
    their_key = factories.api_key(other, scopes=["returns:write"])
    key = factories.api_key(merchant, scopes=["returns:write"])

    assert _upload(key, number, "nope", _jpeg()).status_code == 404
    assert _upload(their_key, number, "1", _jpeg()).status_code == 404
    assert not ReturnPhoto.objects.exists()


def test_a_photo_needs_the_returns_write_scope(merchant):
    number = _return(merchant)
    key = factories.api_key(merchant, scopes=["returns:read"])

    response = _upload(key, number, "1", _jpeg())

    assert response.status_code == 403
    assert response.json()["needed"] == "returns:write"


# -- drop-off points ---------------------------------------------------------------------------


def test_the_points_in_the_shoppers_city_are_listed_for_a_return(merchant):
    number = _return(merchant)
    Order.objects.filter(merchant=merchant, number="1001").update(
        shipping_address={"city": "Jeddah"}
    )
    save_drop_off_points(
        merchant=merchant,
        points=[
            DropOffPointData("sandbox", "RUH-1", "Olaya kiosk", "1 Olaya St", "Riyadh", "SA"),
            DropOffPointData("sandbox", "JED-1", "Tahlia locker", "2 Tahlia St", "Jeddah", "SA"),
        ],
    )
    api = factories.ApiClient(factories.api_key(merchant, scopes=["shipping:read"]))

    response = api.get(f"/returns/{number}/drop-off-points")

    assert response.status_code == 200, response.content
    assert [p["code"] for p in response.json()] == ["JED-1"]


def test_another_stores_return_has_no_drop_off_points_to_show(merchant):
    number = _return(merchant)
    other = factories.merchant()
    api = factories.ApiClient(factories.api_key(other, scopes=["shipping:read"]))

    assert api.get(f"/returns/{number}/drop-off-points").status_code == 404


def test_drop_off_points_need_the_shipping_scope(merchant):
    number = _return(merchant)
    api = factories.ApiClient(factories.api_key(merchant, scopes=["returns:read"]))

    response = api.get(f"/returns/{number}/drop-off-points")

    assert response.status_code == 403
    assert response.json()["needed"] == "shipping:read"


# -- trying a policy ---------------------------------------------------------------------------


def test_the_active_policy_is_tried_on_an_order_with_each_lines_explanation(merchant):
    factories.order(merchant, number="1001")
    api = factories.ApiClient(factories.api_key(merchant, scopes=["policy:write"]))

    response = api.post("/policy/try", {"order_number": "1001"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["order_number"] == "1001"
    assert body["edited"] is False
    [line] = body["lines"]
    assert line["line_ref"] == "1"
    assert line["returnable"] is True
    assert line["explanation"]


def test_an_edited_policy_is_tried_without_being_saved(merchant):
    factories.order(merchant, number="1001", delivered_days_ago=20)
    api = factories.ApiClient(factories.api_key(merchant, scopes=["policy:write"]))
    document = api.get("/policy").json()
    version = document["version"]
    policy = document["document"]
    policy["defaults"]["window_days"] = 7

    response = api.post("/policy/try", {"order_number": "1001", "policy": policy})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["edited"] is True
    assert body["lines"][0]["returnable"] is False
    assert body["lines"][0]["blocking"] == "window_expired"
    assert api.get("/policy").json()["version"] == version


def test_the_explanation_is_in_the_requests_language(merchant):
    factories.order(merchant, number="1001")
    api = factories.ApiClient(factories.api_key(merchant, scopes=["policy:write"]))

    en = api.post("/policy/try", {"order_number": "1001"}).json()
    ar = api.post("/policy/try", {"order_number": "1001"}, headers={"Accept-Language": "ar"}).json()

    assert ar["lines"][0]["title"] == "منتج 1"
    assert en["lines"][0]["title"] == "Item 1"
    assert ar["lines"][0]["explanation"] != en["lines"][0]["explanation"]


def test_an_invalid_policy_or_another_stores_order_is_refused(merchant):
    other = factories.merchant()
    factories.order(other, number="2002")
    factories.order(merchant, number="1001")
    api = factories.ApiClient(factories.api_key(merchant, scopes=["policy:write"]))

    assert api.post("/policy/try", {"order_number": "2002"}).status_code == 404
    invalid = api.post("/policy/try", {"order_number": "1001", "policy": {"window": "x"}})
    assert invalid.status_code == 422
    assert invalid.json()["code"] == "invalid_policy"


def test_trying_a_policy_needs_the_policy_scope(merchant):
    factories.order(merchant, number="1001")
    api = factories.ApiClient(factories.api_key(merchant, scopes=["orders:write"]))

    response = api.post("/policy/try", {"order_number": "1001"})

    assert response.status_code == 403
    assert response.json()["needed"] == "policy:write"


# -- goodwill decisions and budgets ------------------------------------------------------------


_staff = factories.staff


@pytest.fixture
def shop(merchant):
    owner = _staff(merchant, f"owner-{merchant.pk}", StaffRole.OWNER)
    agent = _staff(merchant, f"agent-{merchant.pk}", StaffRole.AGENT)
    order = factories.order(merchant, number="1001")
    support.set_goodwill_allowance(
        merchant=merchant, actor=owner, agent_user_id=agent.user_id, monthly=Money(5000, "SAR")
    )
    asked = support.grant_goodwill(
        merchant=merchant,
        actor=agent,
        customer_id=order.customer_id,
        kind="store_credit",
        amount=Money(9000, "SAR"),
        reason="Parcel arrived late",
        idempotency_key="k1",
        ask_owner=True,
    ).grant
    assert asked.status == GoodwillStatus.PENDING
    api = factories.ApiClient(factories.api_key(merchant, scopes=["support:write"]))
    return owner, agent, asked, api


def test_an_owner_approves_an_agents_request_once(shop):
    owner, _agent, asked, api = shop
    body = {"staff": owner.user.username, "approve": True, "note": "Fine"}

    response = api.post(f"/customers/goodwill/{asked.pk}/decide", body)

    assert response.status_code == 200, response.content
    assert response.json()["status"] == GoodwillStatus.GRANTED
    assert AuditEntry.objects.filter(action="goodwill_approved").count() == 1
    again = api.post(f"/customers/goodwill/{asked.pk}/decide", body)
    assert again.status_code == 409


def test_an_agent_may_not_decide_and_another_stores_request_is_not_found(shop):
    _owner, agent, asked, api = shop
    refused = api.post(
        f"/customers/goodwill/{asked.pk}/decide", {"staff": agent.user.username, "approve": True}
    )
    assert refused.status_code == 403
    other = factories.merchant()
    their_owner = _staff(other, f"owner-{other.pk}", StaffRole.OWNER)
    theirs = factories.ApiClient(factories.api_key(other, scopes=["support:write"]))
    response = theirs.post(
        f"/customers/goodwill/{asked.pk}/decide",
        {"staff": their_owner.user.username, "approve": True},
    )
    assert response.status_code == 404
    asked.refresh_from_db()
    assert asked.status == GoodwillStatus.PENDING


def test_an_owner_sets_an_agents_budget_and_it_is_listed(shop):
    owner, agent, _asked, api = shop

    response = api.put(
        f"/goodwill/allowances/{agent.user.username}",
        {"staff": owner.user.username, "monthly_minor": 20000, "currency": "SAR"},
    )

    assert response.status_code == 200, response.content
    assert response.json()["monthly_minor"] == 20000
    assert GoodwillAllowance.objects.get(user_id=agent.user_id).monthly_minor == 20000
    listed = api.get("/goodwill/allowances").json()
    assert [(a["username"], a["monthly_minor"]) for a in listed] == [(agent.user.username, 20000)]


def test_only_an_owner_sets_a_budget_and_only_for_the_stores_agents(shop):
    owner, agent, _asked, api = shop
    body = {"staff": agent.user.username, "monthly_minor": 1, "currency": "SAR"}
    assert api.put(f"/goodwill/allowances/{agent.user.username}", body).status_code == 403
    body["staff"] = owner.user.username
    assert api.put("/goodwill/allowances/nobody", body).status_code == 404
    body["currency"] = "USD"
    wrong = api.put(f"/goodwill/allowances/{agent.user.username}", body)
    assert wrong.status_code == 422
    assert wrong.json()["field"] == "currency"
    other = factories.merchant()
    theirs = factories.ApiClient(factories.api_key(other, scopes=["support:write"]))
    assert theirs.get("/goodwill/allowances").json() == []
    assert GoodwillAllowance.objects.get(user_id=agent.user_id).monthly_minor == 5000


def test_goodwill_decisions_and_budgets_need_the_support_scope(shop):
    owner, agent, asked, _api = shop
    api = factories.ApiClient(factories.api_key(owner.merchant, scopes=["support:read"]))

    decided = api.post(
        f"/customers/goodwill/{asked.pk}/decide", {"staff": owner.user.username, "approve": True}
    )
    assert decided.status_code == 403
    assert decided.json()["needed"] == "support:write"
    budget = {"staff": owner.user.username, "monthly_minor": 1, "currency": "SAR"}
    assert api.put(f"/goodwill/allowances/{agent.user.username}", budget).status_code == 403
    assert api.get("/goodwill/allowances").status_code == 200
    blind = factories.ApiClient(factories.api_key(owner.merchant, scopes=["orders:read"]))
    assert blind.get("/goodwill/allowances").status_code == 403
