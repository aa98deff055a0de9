"""/api/v1/webhooks through the test client: the secret shown once, SSRF refusals on the
field, tenancy (another merchant's ids are 404), the delivery log, replay, the test ping,
translated errors and every status code in the OpenAPI document."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from awda import tasks
from awda.core import outbox
from awda.webhooks.models import Delivery, Subscription
from tests import factories

pytestmark = pytest.mark.django_db


def call(api, method, path, body=None, **headers):
    kwargs = {"headers": {**api.headers, **headers}}
    if body is not None:
        kwargs["data"] = json.dumps(body)
        kwargs["content_type"] = "application/json"
    return getattr(api.client, method)(f"/api/v1{path}", **kwargs)


def create(api, receiver, events=("return.approved",)):
    response = api.post("/webhooks/subscriptions", {"url": receiver.url, "events": list(events)})
    assert response.status_code == 201, response.content
    return response.json()


def delivered_event(merchant, number="R-7K3M-Q9"):
    with transaction.atomic():
        event = outbox.record_event(
            "ReturnApproved",
            {"return_id": 0, "number": number, "status": "approved"},
            merchant_id=merchant.pk,
        )
    outbox.dispatch(str(event.pk), {event.name: [tasks.queue_webhooks]})
    return Delivery.objects.get(event_id=event.pk)


def test_a_subscription_shows_its_secret_only_when_created(api, receiver):
    body = create(api, receiver)
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["return.approved"]
    assert body["active"] is True
    listed = api.get("/webhooks/subscriptions").json()
    assert [s["id"] for s in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in api.get(f"/webhooks/subscriptions/{body['id']}").json()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/hook",
        "http://10.0.0.1/hook",
        "https://[fe80::1]/hook",
    ],
)
def test_an_endpoint_inside_a_network_is_refused_on_the_url_field(api, url):
    response = api.post("/webhooks/subscriptions", {"url": url, "events": ["return.approved"]})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "webhook_url_not_allowed"
    assert body["field"] == "url"
    assert not Subscription.objects.exists()


def test_localhost_is_refused_unless_allowed(api, settings):
    settings.AWDA_WEBHOOKS_ALLOW_LOCAL = False
    response = api.post(
        "/webhooks/subscriptions", {"url": "http://127.0.0.1:9/x", "events": ["return.approved"]}
    )
    assert response.status_code == 422
    assert response.json()["details"] == {"reason": "private_address"}


def test_an_unknown_event_name_is_refused_on_its_position(api, receiver):
    response = api.post(
        "/webhooks/subscriptions",
        {"url": receiver.url, "events": ["return.approved", "return.teleported"]},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_event_type"
    assert response.json()["field"] == "events.1"


def test_errors_are_translated(api):
    response = call(
        api,
        "post",
        "/webhooks/subscriptions",
        {"url": "https://10.0.0.1/", "events": ["return.approved"]},
        **{"Accept-Language": "ar"},
    )
    assert response.status_code == 422
    assert "شبكة خاصة" in response.json()["message"]
    missing = call(api, "get", "/webhooks/deliveries/whd_nope", **{"Accept-Language": "ar"})
    assert missing.status_code == 404
    assert missing.json()["message"] != "Not found."


def test_another_merchants_subscription_and_delivery_are_not_found(api, receiver, merchant):
    other = factories.merchant()
    other_api = factories.ApiClient(factories.api_key(other))
    theirs = create(other_api, receiver)
    delivery = delivered_event(other)
    sub_path = f"/webhooks/subscriptions/{theirs['id']}"
    assert api.get(sub_path).status_code == 404
    assert call(api, "patch", sub_path, {"active": False}).status_code == 404
    assert call(api, "delete", sub_path).status_code == 404
    assert api.post(f"{sub_path}/rotate-secret").status_code == 404
    assert api.post(f"{sub_path}/test").status_code == 404
    assert api.get(f"{sub_path}/deliveries").status_code == 404
    assert api.get(f"/webhooks/deliveries/{delivery.public_id}").status_code == 404
    assert api.post(f"/webhooks/deliveries/{delivery.public_id}/replay").status_code == 404
    assert receiver.requests == []
    assert other_api.get(sub_path).status_code == 200


def test_a_subscription_is_updated_switched_off_and_deleted(api, receiver):
    sub = create(api, receiver)
    path = f"/webhooks/subscriptions/{sub['id']}"
    changed = call(api, "patch", path, {"events": ["refund.issued", "stock.moved"]})
    assert changed.status_code == 200
    assert changed.json()["events"] == ["refund.issued", "stock.moved"]
    off = call(api, "patch", path, {"active": False}).json()
    assert off["active"] is False and off["disabled_reason"] == "by_merchant"
    refused = api.post(f"{path}/test")
    assert refused.status_code == 409
    assert refused.json()["code"] == "webhook_inactive"
    bad = call(api, "patch", path, {"url": "https://192.168.0.10/x"})
    assert bad.status_code == 422 and bad.json()["field"] == "url"
    assert call(api, "delete", path).status_code == 204
    assert api.get(path).status_code == 404


def test_rotating_the_secret_signs_the_next_delivery_with_the_new_one(api, receiver):
    from awda.webhooks import rules

    sub = create(api, receiver)
    rotated = api.post(f"/webhooks/subscriptions/{sub['id']}/rotate-secret")
    assert rotated.status_code == 200
    secret = rotated.json()["secret"]
    assert secret != sub["secret"]
    ping = api.post(f"/webhooks/subscriptions/{sub['id']}/test")
    assert ping.status_code == 200
    got = receiver.requests[-1]
    ts = int(got.headers["Awda-Webhook-Timestamp"])
    assert got.headers["Awda-Signature"] == rules.signature_header(secret, ts, got.body)


def test_the_test_ping_reports_what_the_endpoint_answered(api, receiver):
    receiver.statuses = [418]
    receiver.answer = b"I'm a teapot"
    sub = create(api, receiver)
    ping = api.post(f"/webhooks/subscriptions/{sub['id']}/test").json()
    assert ping["event_type"] == "webhook.test"
    assert ping["status"] == "failed"
    assert ping["attempt_log"][0]["status_code"] == 418
    assert ping["attempt_log"][0]["response_excerpt"] == "I'm a teapot"
    assert json.loads(receiver.requests[0].body)["type"] == "webhook.test"
    # A test counts for nothing.
    assert api.get(f"/webhooks/subscriptions/{sub['id']}").json()["consecutive_failures"] == 0


def test_the_delivery_log_is_paginated_and_filtered(api, receiver, merchant):
    from awda.webhooks import services

    receiver.statuses = [500, 200]
    sub = create(api, receiver)
    first = delivered_event(merchant, "R-AAAA-11")
    second = delivered_event(merchant, "R-AAAA-22")
    services.attempt_delivery(delivery_id=first.pk)  # 500: pending, retry scheduled
    services.attempt_delivery(delivery_id=second.pk)  # 200
    path = f"/webhooks/subscriptions/{sub['id']}/deliveries"
    page = api.get(f"{path}?limit=1").json()
    assert page["count"] == 2
    assert [d["id"] for d in page["items"]] == [second.public_id]
    delivered = api.get(f"{path}?status=delivered").json()["items"]
    assert [d["id"] for d in delivered] == [second.public_id]
    pending = api.get(f"{path}?status=pending&event_type=return.approved").json()["items"]
    assert [d["id"] for d in pending] == [first.public_id]
    assert api.get(f"{path}?event_type=refund.issued").json()["count"] == 0
    assert api.get(f"{path}?status=lost").status_code == 422

    detail = api.get(f"/webhooks/deliveries/{first.public_id}").json()
    assert detail["body"]["data"]["return_number"] == "R-AAAA-11"
    assert detail["attempt_log"][0]["status_code"] == 500
    assert detail["next_attempt_at"] is not None


def test_a_delivery_is_replayed_through_the_api(api, receiver, merchant):
    from awda.webhooks import services

    receiver.statuses = [500, 200]
    create(api, receiver)
    delivery = delivered_event(merchant)
    services.attempt_delivery(delivery_id=delivery.pk)
    replayed = api.post(f"/webhooks/deliveries/{delivery.public_id}/replay")
    assert replayed.status_code == 200
    body = replayed.json()
    assert body["status"] == "delivered"
    assert [a["replay"] for a in body["attempt_log"]] == [False, True]
    assert receiver.requests[0].body == receiver.requests[1].body


def test_event_types_are_listed_with_a_sentence_each(api):
    listed = api.get("/webhooks/event-types").json()
    names = [t["name"] for t in listed]
    assert "refund.issued" in names and "shipment.updated" in names
    assert all(t["description"] for t in listed)


def test_every_webhook_operation_documents_its_status_codes(api):
    spec = api.client.get("/api/v1/openapi.json").json()
    ops = {
        (method, path): op
        for path, methods in spec["paths"].items()
        if path.startswith("/api/v1/webhooks")
        for method, op in methods.items()
    }
    assert len(ops) == 11
    for (method, path), op in ops.items():
        codes = set(op["responses"])
        assert "401" in codes, (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)
        if method in {"post", "patch"} and "requestBody" in op:
            assert "422" in codes, (method, path)
