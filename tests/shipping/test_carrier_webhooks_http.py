"""Real carriers' webhooks through the HTTP endpoint: EasyPost's recorded event with its
recorded signature, and Shippo's same track delivered twice under different ids."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from django.test import Client

from awda.core import clock
from awda.core.models import Event
from awda.returns.models import ReturnStatus
from awda.returns.services import ItemRequest, request_return
from awda.shipping import services
from awda.shipping.models import InboundWebhook, Shipment, TrackingEvent
from tests import factories
from tests.shipping.test_shippo import _cassette, _sign, _track_updated

pytestmark = pytest.mark.django_db

EASYPOST = Path(__file__).resolve().parents[1] / "fixtures/shared/easypost-examples"


def _parcel(merchant, account, tracking_number: str) -> Shipment:
    order = factories.order(merchant, lines=[factories.line("1", quantity=1, price=20000)])
    ret = request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref="1", quantity=1, reason="size", sub_reason="too_small")],
        method="label",
    )
    now = clock.now()
    return Shipment.objects.create(
        merchant=merchant,
        return_request=ret,
        account=account,
        carrier=account.carrier,
        method="label",
        tracking_number=tracking_number,
        status="label_created",
        status_at=now,
        created_at=now,
    )


def _post(account, body: bytes, headers: dict[str, str]):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return Client().post(
        f"/hooks/carriers/{account.public_id}/",
        data=body,
        content_type="application/json",
        **extra,
    )


def test_easyposts_recorded_event_verifies_and_a_tampered_copy_is_refused_unstored(merchant):
    secrets = json.loads((EASYPOST / "client-library-fixtures.json").read_text())["webhooks"]
    account = services.connect_carrier(
        merchant=merchant,
        carrier="easypost",
        name="EasyPost",
        settings={"api_key": "EZAK_test", "webhook_secret": secrets["secret"]},
    )
    shipment = _parcel(merchant, account, "1")  # the event's tracking code
    # The recorded signature covers the body without the file's final newline.
    body = (EASYPOST / "event-body.json").read_bytes().rstrip(b"\n")
    signed = {"X-Hmac-Signature": secrets["hmac_signature"]}

    tampered = _post(account, body.replace(b"Picked up", b"Picked Up", 1), signed)
    assert tampered.status_code == 401 and not InboundWebhook.objects.exists()
    unsigned = _post(account, body, {})
    assert unsigned.status_code == 401 and not InboundWebhook.objects.exists()

    accepted = _post(account, body, signed)
    assert accepted.status_code == 202
    stored = InboundWebhook.objects.get()
    assert stored.event_id == "evt_1"
    assert _post(account, body, signed).status_code == 200  # the carrier's retry: ignored

    assert services.process_carrier_webhook(webhook_id=stored.pk) == "applied"
    shipment.return_request.refresh_from_db()
    assert shipment.return_request.status == ReturnStatus.IN_TRANSIT


def test_shippos_same_track_sent_twice_under_new_ids_counts_once(merchant):
    account = services.connect_carrier(
        merchant=merchant,
        carrier="shippo",
        name="Shippo",
        settings={"api_token": "shippo_test", "webhook_secret": "whsec-shippo", "carrier": "usps"},
    )
    _, first = _cassette("test_create")
    _, second = _cassette("test_get_status")
    shipment = _parcel(merchant, account, first["tracking_number"])
    stamp = int(time.time())

    for track in (first, second):
        body = _track_updated(track)
        response = _post(account, body, _sign(body, secret="whsec-shippo", stamp=stamp))
        assert response.status_code == 202
    for webhook in InboundWebhook.objects.order_by("pk"):
        services.process_carrier_webhook(webhook_id=webhook.pk)

    assert InboundWebhook.objects.count() == 2  # both deliveries kept raw …
    scans = TrackingEvent.objects.filter(shipment=shipment)
    assert scans.count() == len(first["tracking_history"])  # … their scans stored once
    ret = shipment.return_request
    names = list(
        Event.objects.filter(aggregate_type="return", aggregate_id=str(ret.pk)).values_list(
            "name", flat=True
        )
    )
    assert names.count("FirstScanRecorded") == 1 and names.count("ParcelDelivered") == 1
