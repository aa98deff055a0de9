"""Shipping use cases on a real database: the return parcel, its scans, webhooks, pickups."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.test import Client

from awda.core import clock
from awda.core.models import Event
from awda.returns.models import ReturnStatus, TimelineEntry
from awda.returns.services import ItemRequest, cancel_return, request_return
from awda.shipping import services
from awda.shipping.carriers.base import TrackingStatus, TrackingUpdate
from awda.shipping.carriers.sandbox import SandboxCarrier
from awda.shipping.models import InboundWebhook, Pickup, PickupStatus, Shipment, TrackingEvent
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(merchant):
    return services.connect_carrier(
        merchant=merchant, carrier="sandbox", name="Sandbox", settings={"timezone": "Asia/Riyadh"}
    )


def _return(merchant, method="label", **kw):
    order = factories.order(merchant, lines=[factories.line("1", quantity=2, price=20000)])
    return request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref="1", quantity=1, reason="size", sub_reason="too_small")],
        method=method,
        **kw,
    )


def _names(aggregate_type, pk):
    return list(
        Event.objects.filter(aggregate_type=aggregate_type, aggregate_id=str(pk))
        .order_by("created_at", "name")
        .values_list("name", flat=True)
    )


def _post(client, account, headers, body):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return client.post(
        f"/hooks/carriers/{account.public_id}/",
        data=body,
        content_type="application/json",
        **extra,
    )


def test_an_approved_return_gets_one_parcel_however_often_the_label_job_runs(merchant, sandbox):
    ret = _return(merchant)

    first = services.issue_return_shipment(return_id=ret.pk)
    again = services.issue_return_shipment(return_id=ret.pk)

    assert first is not None and again is not None and first.pk == again.pk
    assert first.tracking_number.startswith("SBX") and len(first.tracking_number) == 15
    assert first.qr_payload == first.tracking_number
    assert Shipment.objects.filter(return_request=ret).count() == 1
    assert "LabelIssued" in _names("return", ret.pk)
    assert TimelineEntry.objects.filter(return_request=ret, kind="label_issued").count() == 1


def test_the_credentials_of_a_carrier_account_are_not_stored_in_clear(merchant):
    account = services.connect_carrier(
        merchant=merchant, carrier="easypost", name="EP", settings={"api_key": "EZAK-secret-1"}
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT settings FROM shipping_carrieraccount WHERE id = %s", [account.pk])
        stored = cursor.fetchone()[0]
    assert "EZAK-secret-1" not in stored
    assert services.account_settings(account)["api_key"] == "EZAK-secret-1"


def test_a_return_without_a_carrier_for_its_method_gets_no_parcel_and_staff_see_why(merchant):
    ret = _return(merchant)

    assert services.issue_return_shipment(return_id=ret.pk) is None
    entry = TimelineEntry.objects.get(return_request=ret, kind="label_failed")
    assert entry.note == "no_carrier"


def test_a_return_cancelled_before_its_label_gets_none(merchant, sandbox):
    ret = _return(merchant)
    cancel_return(merchant=merchant, number=ret.number, actor="shopper")

    assert services.issue_return_shipment(return_id=ret.pk) is None
    assert not Shipment.objects.exists()


def test_the_first_scan_puts_the_return_in_transit_and_delivery_marks_it_delivered(
    merchant, sandbox
):
    ret = _return(merchant)
    shipment = services.issue_return_shipment(return_id=ret.pk)
    assert shipment is not None

    services.advance_sandbox_parcel(tracking_number=shipment.tracking_number, to="first_scan")
    ret.refresh_from_db()
    assert ret.status == ReturnStatus.IN_TRANSIT

    services.advance_sandbox_parcel(tracking_number=shipment.tracking_number, to="delivered")
    ret.refresh_from_db()
    shipment.refresh_from_db()
    assert ret.status == ReturnStatus.DELIVERED
    assert shipment.status == "delivered" and shipment.first_scan_at and shipment.delivered_at
    names = _names("return", ret.pk)
    assert names.count("FirstScanRecorded") == 1 and names.count("ParcelDelivered") == 1


def test_a_delivery_without_a_first_scan_still_records_both(merchant, sandbox):
    ret = _return(merchant)
    shipment = services.issue_return_shipment(return_id=ret.pk)

    services.advance_sandbox_parcel(tracking_number=shipment.tracking_number, to="delivered")

    ret.refresh_from_db()
    assert ret.status == ReturnStatus.DELIVERED
    shipment.refresh_from_db()
    assert shipment.first_scan_at == shipment.delivered_at


def test_the_same_scan_sent_twice_under_different_ids_counts_once(merchant, sandbox):
    ret = _return(merchant)
    shipment = services.issue_return_shipment(return_id=ret.pk)
    at = clock.now()
    update = TrackingUpdate(shipment.tracking_number, TrackingStatus.FIRST_SCAN, at, "SBX10")

    one = services.record_tracking(shipment_id=shipment.pk, updates=[update], source="webhook")
    two = services.record_tracking(shipment_id=shipment.pk, updates=[update], source="poll")

    assert (one.new_events, two.new_events) == (1, 0)
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 1
    assert _names("return", ret.pk).count("FirstScanRecorded") == 1


def test_a_late_older_scan_never_moves_a_parcel_back(merchant, sandbox):
    ret = _return(merchant)
    shipment = services.issue_return_shipment(return_id=ret.pk)
    now = clock.now()
    delivered = TrackingUpdate(shipment.tracking_number, TrackingStatus.DELIVERED, now)
    older = TrackingUpdate(
        shipment.tracking_number, TrackingStatus.IN_TRANSIT, now - timedelta(hours=5)
    )

    services.record_tracking(shipment_id=shipment.pk, updates=[delivered], source="webhook")
    services.record_tracking(shipment_id=shipment.pk, updates=[older], source="webhook")

    shipment.refresh_from_db()
    assert shipment.status == "delivered"
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 2


def test_a_signed_webhook_is_stored_once_and_answered_at_once(merchant, sandbox):
    ret = _return(merchant)
    shipment = services.issue_return_shipment(return_id=ret.pk)
    adapter = SandboxCarrier(services.account_settings(sandbox))
    headers, body = adapter.build_webhook(
        tracking_number=shipment.tracking_number,
        status=TrackingStatus.FIRST_SCAN,
        occurred_at=clock.now(),
    )
    client = Client()

    first = _post(client, sandbox, headers, body)
    again = _post(client, sandbox, headers, body)

    assert (first.status_code, first.json()["code"]) == (202, "accepted")
    assert (again.status_code, again.json()["code"]) == (200, "duplicate")
    stored = InboundWebhook.objects.get()
    assert stored.processed_at is None and json.loads(stored.body)["status"] == "first_scan"
    assert services.process_carrier_webhook(webhook_id=stored.pk) == "applied"
    ret.refresh_from_db()
    assert ret.status == ReturnStatus.IN_TRANSIT
    assert services.process_carrier_webhook(webhook_id=stored.pk) == "done"


def test_a_tampered_or_unsigned_webhook_is_refused_and_nothing_is_stored(merchant, sandbox):
    ret = _return(merchant)
    shipment = services.issue_return_shipment(return_id=ret.pk)
    adapter = SandboxCarrier(services.account_settings(sandbox))
    headers, body = adapter.build_webhook(
        tracking_number=shipment.tracking_number,
        status=TrackingStatus.DELIVERED,
        occurred_at=clock.now(),
    )
    client = Client()

    tampered = _post(client, sandbox, headers, body.replace(b"delivered", b"exception", 1))
    unsigned = _post(client, sandbox, {}, body)

    assert tampered.status_code == 401 and tampered.json()["code"] == "rejected"
    assert unsigned.status_code == 401
    assert not InboundWebhook.objects.exists()


def test_a_signed_but_unreadable_webhook_is_a_clear_400_and_nothing_is_stored(merchant, sandbox):
    adapter = SandboxCarrier(services.account_settings(sandbox))
    body = b'{"id": "evt_1", "status": '
    headers = {"x-sandbox-signature": f"t={int(clock.now().timestamp())},v1="}
    stamp = str(int(clock.now().timestamp()))
    headers["x-sandbox-signature"] = f"t={stamp},v1={adapter._sign(stamp, body)}"

    response = _post(Client(), sandbox, headers, body)

    assert response.status_code == 400 and response.json()["code"] == "malformed"
    assert not InboundWebhook.objects.exists()


def test_a_webhook_for_an_unknown_account_is_not_found():
    response = Client().post("/hooks/carriers/nope/", data=b"{}", content_type="application/json")
    assert response.status_code == 404


def test_a_webhook_for_a_parcel_we_dont_know_is_kept_with_the_reason(merchant, sandbox):
    adapter = SandboxCarrier(services.account_settings(sandbox))
    headers, body = adapter.build_webhook(
        tracking_number="SBX000000000001",
        status=TrackingStatus.IN_TRANSIT,
        occurred_at=clock.now(),
    )
    assert _post(Client(), sandbox, headers, body).status_code == 202

    stored = InboundWebhook.objects.get()
    assert services.process_carrier_webhook(webhook_id=stored.pk).startswith("unknown parcel")
    stored.refresh_from_db()
    assert stored.processed_at is not None


def test_a_pickup_can_be_booked_rebooked_and_cancelled(merchant, sandbox):
    ret = _return(merchant, method="pickup")
    shipment = services.issue_return_shipment(return_id=ret.pk)
    day = date(2026, 12, 7)  # a Monday
    slots = services.pickup_slots(merchant=merchant, address=services.shopper_address(ret), day=day)
    assert len(slots) == 3

    first = services.schedule_pickup(shipment=shipment, slot=slots[0])
    second = services.schedule_pickup(shipment=shipment, slot=slots[2])
    first.refresh_from_db()
    assert first.status == PickupStatus.CANCELLED and second.status == PickupStatus.SCHEDULED

    services.cancel_pickup(pickup=second)
    assert not Pickup.objects.filter(status=PickupStatus.SCHEDULED).exists()
    kinds = list(TimelineEntry.objects.filter(return_request=ret).values_list("kind", flat=True))
    assert kinds.count("pickup_scheduled") == 2 and "pickup_cancelled" in kinds


def test_the_pickup_a_shopper_chose_is_booked_with_the_label(merchant, sandbox):
    ret = _return(merchant, method="pickup", pickup={"date": "2026-12-07", "slot": "afternoon"})
    services.issue_return_shipment(return_id=ret.pk)

    pickup = services.schedule_requested_pickup(return_id=ret.pk)

    assert pickup is not None and pickup.window_start.hour == 12  # 15:00 Riyadh = 12:00 UTC
    assert services.schedule_requested_pickup(return_id=ret.pk) is None  # once


def test_a_failed_collection_attempt_before_any_scan_does_not_start_the_refund_clock(
    merchant, sandbox
):
    ret = _return(merchant)
    shipment = services.issue_return_shipment(return_id=ret.pk)
    attempt = TrackingUpdate(shipment.tracking_number, TrackingStatus.EXCEPTION, clock.now())

    services.record_tracking(shipment_id=shipment.pk, updates=[attempt], source="poll")

    shipment.refresh_from_db()
    ret.refresh_from_db()
    assert shipment.status == "exception" and shipment.first_scan_at is None
    assert ret.status == ReturnStatus.APPROVED
    assert "FirstScanRecorded" not in _names("return", ret.pk)


def test_parcels_of_carriers_without_webhooks_are_polled_at_most_hourly(merchant, monkeypatch):
    account = services.connect_carrier(
        merchant=merchant, carrier="smsa", name="SMSA", settings={"api_key": "k"}
    )
    ret = _return(merchant)
    now = clock.now()
    shipment = Shipment.objects.create(
        merchant=merchant,
        return_request=ret,
        account=account,
        carrier="smsa",
        method="label",
        tracking_number="231200000001",
        status="label_created",
        status_at=now,
        created_at=now,
    )
    asked: list[str] = []

    class Polled:
        supports_webhooks = False

        def fetch_tracking(self, *, tracking_number):
            asked.append(tracking_number)
            return [TrackingUpdate(tracking_number, TrackingStatus.FIRST_SCAN, now, "PU")]

        def close(self):
            pass

    monkeypatch.setattr(services, "carrier_for", lambda account: Polled())

    assert services.poll_tracking() == 1
    assert services.poll_tracking() == 0  # asked a moment ago
    assert asked == ["231200000001"]
    ret.refresh_from_db()
    shipment.refresh_from_db()
    assert ret.status == ReturnStatus.IN_TRANSIT and shipment.polled_at is not None
