"""The SMSA Express adapter against SMSA's documented eCom API (fixtures written from the
documentation: tests/fixtures/carriers/smsa/README.md). No network, no database."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from awda.shipping.carriers.base import (
    Address,
    CarrierError,
    Parcel,
    PickupRequest,
    PickupSlot,
    ShipmentRequest,
    TrackingStatus,
    WebhookRejected,
)
from awda.shipping.carriers.smsa import SCAN_STATUS, SmsaCarrier, statuses_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "carriers" / "smsa"
PRODUCTION = "https://ecomapis.smsaexpress.com"
SANDBOX = "https://ecomapis-sandbox.azurewebsites.net"
NOW = datetime(2024, 1, 11, 15, 2, 11, tzinfo=UTC)  # 18:02:11 in Riyadh

SHOPPER = Address(
    name="Sara Al-Otaibi",
    line1="2239 Al Urubah Rd, Al Olaya",
    city="Riyadh",
    country="SA",
    phone="0551234567",
    district="Al Olaya",
    postcode="12214",
)
WAREHOUSE = Address(
    name="Returns desk",
    company="Noor Fashion Returns",
    line1="Warehouse 7, Al Khumrah Industrial Area",
    city="Jeddah",
    country="SA",
    phone="0126543210",
    district="Al Khumrah",
    postcode="22534",
)
PARCEL = Parcel(
    weight_grams=1200, description="Return: 1 x abaya", value_minor=35000, currency="SAR"
)
RETURN = ShipmentRequest(
    reference="RMA-10023", shopper=SHOPPER, merchant=WAREHOUSE, parcel=PARCEL, method="pickup"
)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def smsa() -> respx.MockRouter:
    return respx.MockRouter(base_url=PRODUCTION, assert_all_called=False)


def carrier(router: respx.MockRouter, **settings: str) -> SmsaCarrier:
    return SmsaCarrier(
        {"api_key": "key-123", **settings},
        transport=httpx.MockTransport(router.handler),
        sleep=lambda seconds: None,
        clock=lambda: NOW,
    )


# -- creating the return ---------------------------------------------------------------------


def test_a_return_is_a_c2b_shipment_collected_from_the_shopper_for_the_merchant(smsa):
    route = smsa.post("/api/c2b/new").respond(200, json=fixture("c2b_created.json"))

    carrier(smsa).create_return_shipment(RETURN)

    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == f"{PRODUCTION}/api/c2b/new"
    assert request.headers["apikey"] == "key-123"
    assert json.loads(request.content) == {
        "PickupAddress": {
            "ContactName": "Sara Al-Otaibi",
            "ContactPhoneNumber": "0551234567",
            "Country": "SA",
            "City": "Riyadh",
            "District": "Al Olaya",
            "PostalCode": "12214",
            "AddressLine1": "2239 Al Urubah Rd, Al Olaya",
            "AddressLine2": "",
        },
        "ReturnToAddress": {
            "ContactName": "Noor Fashion Returns",
            "ContactPhoneNumber": "0126543210",
            "Country": "SA",
            "City": "Jeddah",
            "District": "Al Khumrah",
            "PostalCode": "22534",
            "AddressLine1": "Warehouse 7, Al Khumrah Industrial Area",
            "AddressLine2": "",
        },
        "OrderNumber": "RMA-10023",
        "DeclaredValue": 350.0,
        "Parcels": 1,
        "ShipDate": "2024-01-11T18:02:11",
        "ShipmentCurrency": "SAR",
        "SMSARetailID": "0",
        "WaybillType": "PDF",
        "Weight": 1.2,
        "WeightUnit": "KG",
        "ContentDescription": "Return: 1 x abaya",
        "ServiceCode": "EDCR",
    }


def test_the_first_parcels_awb_is_the_tracking_number_and_what_a_counter_scans(smsa):
    smsa.post("/api/c2b/new").respond(200, json=fixture("c2b_created.json"))

    result = carrier(smsa).create_return_shipment(RETURN)

    assert result.tracking_number == "231200021879"
    assert result.carrier_shipment_id == "231200021000"
    assert result.qr_payload == "231200021879"
    assert result.carrier_label.startswith(b"%PDF-1.4")
    assert result.carrier_label_format == "pdf"


def test_test_mode_books_on_smsas_sandbox():
    sandbox = respx.MockRouter(base_url=SANDBOX, assert_all_called=False)
    route = sandbox.post("/api/c2b/new").respond(200, json=fixture("c2b_created.json"))

    carrier(sandbox, test_mode="true").create_return_shipment(RETURN)

    assert route.call_count == 1


def test_a_declared_value_of_nothing_is_sent_as_smsas_minimum_of_a_tenth(smsa):
    route = smsa.post("/api/c2b/new").respond(200, json=fixture("c2b_created.json"))
    free = ShipmentRequest(
        reference="RMA-1", shopper=SHOPPER, merchant=WAREHOUSE, parcel=Parcel(), method="label"
    )

    carrier(smsa).create_return_shipment(free)

    assert json.loads(route.calls.last.request.content)["DeclaredValue"] == 0.1


def test_a_contact_name_shorter_than_smsa_accepts_is_refused_before_anything_is_sent(smsa):
    route = smsa.post("/api/c2b/new").respond(200, json=fixture("c2b_created.json"))
    ali = ShipmentRequest(
        reference="RMA-2",
        shopper=Address(name="Ali", line1="2239 Al Urubah Rd", city="Riyadh", country="SA"),
        merchant=WAREHOUSE,
        parcel=PARCEL,
        method="pickup",
    )

    with pytest.raises(CarrierError) as refused:
        carrier(smsa).create_return_shipment(ali)

    assert refused.value.code == "invalid_request"
    assert "ContactName" in refused.value.message
    assert route.call_count == 0


def test_a_validation_error_becomes_a_carrier_error_in_smsas_words(smsa):
    smsa.post("/api/c2b/new").respond(400, json=fixture("error_validation.json"))

    with pytest.raises(CarrierError) as failed:
        carrier(smsa).create_return_shipment(RETURN)

    assert failed.value.code == "http_400"
    assert failed.value.retryable is False
    assert "PickupAddress.City: The city 'Riyad' is not a valid SMSA city." in failed.value.message


def test_a_rejected_api_key_is_not_worth_retrying(smsa):
    smsa.post("/api/c2b/new").respond(401)

    with pytest.raises(CarrierError) as failed:
        carrier(smsa).create_return_shipment(RETURN)

    assert failed.value.code == "http_401"
    assert failed.value.retryable is False


def test_a_create_that_meets_a_503_is_sent_once_and_left_to_the_caller(smsa):
    route = smsa.post("/api/c2b/new").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=fixture("c2b_created.json"))]
    )

    with pytest.raises(CarrierError) as failed:
        carrier(smsa).create_return_shipment(RETURN)

    # SMSA honours no idempotency key: sending it again could book two couriers.
    assert route.call_count == 1
    assert failed.value.retryable is True


def test_an_answer_that_is_not_json_is_a_carrier_error_not_a_crash(smsa):
    smsa.post("/api/c2b/new").respond(200, text="<html>Service Unavailable</html>")

    with pytest.raises(CarrierError) as failed:
        carrier(smsa).create_return_shipment(RETURN)

    assert failed.value.code == "malformed_response"


def test_an_account_without_an_api_key_sends_nothing(smsa):
    route = smsa.post("/api/c2b/new").respond(200, json=fixture("c2b_created.json"))
    keyless = SmsaCarrier({}, transport=httpx.MockTransport(smsa.handler))

    with pytest.raises(CarrierError) as failed:
        keyless.create_return_shipment(RETURN)

    assert failed.value.code == "not_configured"
    assert route.call_count == 0


# -- querying and cancelling ---------------------------------------------------------------------


def test_a_query_that_meets_a_503_is_asked_again_and_answers(smsa):
    route = smsa.get("/api/c2b/query/231200021000").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=fixture("c2b_query.json"))]
    )

    result = carrier(smsa).query_return_shipment(awb="231200021000")

    assert route.call_count == 2
    assert result.tracking_number == "231200021879"
    assert result.carrier_label.startswith(b"%PDF")


def test_cancelling_posts_the_shipment_awb_and_accepts_smsas_sentence(smsa):
    route = smsa.post("/api/c2b/cancel/231200021000").respond(
        200, text="Shipment Cancelled Successfully!"
    )

    carrier(smsa).cancel_shipment(
        tracking_number="231200021879", carrier_shipment_id="231200021000"
    )

    assert route.call_count == 1
    assert route.calls.last.request.headers["apikey"] == "key-123"


def test_a_cancellation_smsa_does_not_confirm_is_an_error(smsa):
    smsa.post("/api/c2b/cancel/231200021000").respond(
        200, json="Shipment not found or already processed"
    )

    with pytest.raises(CarrierError) as failed:
        carrier(smsa).cancel_shipment(tracking_number="", carrier_shipment_id="231200021000")

    assert failed.value.code == "not_cancelled"
    assert "already processed" in failed.value.message


# -- pickups ---------------------------------------------------------------------------------------


def test_smsa_offers_one_collection_window_a_working_day_in_riyadh_time(smsa):
    slots = carrier(smsa).pickup_slots(address=SHOPPER, day=date(2024, 1, 14))  # a Sunday

    assert slots == [
        PickupSlot(
            start=datetime(2024, 1, 14, 6, 0, tzinfo=UTC),
            end=datetime(2024, 1, 14, 15, 0, tzinfo=UTC),
        )
    ]


def test_smsa_offers_no_collection_on_a_friday(smsa):
    assert carrier(smsa).pickup_slots(address=SHOPPER, day=date(2024, 1, 12)) == []


def test_a_pickup_is_the_c2b_shipment_itself_so_booking_confirms_it_exists(smsa):
    route = smsa.get("/api/c2b/query/231200021000").respond(200, json=fixture("c2b_query.json"))
    slot = PickupSlot(
        start=datetime(2024, 1, 14, 6, 0, tzinfo=UTC), end=datetime(2024, 1, 14, 15, 0, tzinfo=UTC)
    )

    booked = carrier(smsa).schedule_pickup(
        PickupRequest(
            reference="RMA-10023",
            tracking_number="231200021879",
            carrier_shipment_id="231200021000",
            address=SHOPPER,
            slot=slot,
            parcel=PARCEL,
        )
    )

    assert route.call_count == 1
    assert booked.confirmation == "231200021000"
    assert booked.slot == slot
    assert booked.raw["window_sent"] is False


def test_cancelling_the_pickup_cancels_the_c2b_shipment(smsa):
    route = smsa.post("/api/c2b/cancel/231200021000").respond(
        200, text='"Shipment Cancelled Successfully!"'
    )

    carrier(smsa).cancel_pickup(confirmation="231200021000")

    assert route.call_count == 1


# -- tracking --------------------------------------------------------------------------------------


def test_scans_come_back_oldest_first_in_utc_with_smsas_own_words(smsa):
    route = smsa.get("/api/track/single/231200021879").respond(
        200, json=fixture("track_single_return.json")
    )

    updates = carrier(smsa).fetch_tracking(tracking_number="231200021879")

    assert route.calls.last.request.headers["apikey"] == "key-123"
    assert [(u.carrier_status, u.status) for u in updates] == [
        ("PU", TrackingStatus.FIRST_SCAN),
        ("HIP", TrackingStatus.IN_TRANSIT),
        ("HOP", TrackingStatus.IN_TRANSIT),
        ("AF", TrackingStatus.IN_TRANSIT),
        ("OD", TrackingStatus.OUT_FOR_DELIVERY),
        ("DL", TrackingStatus.DELIVERED),
    ]
    assert updates[0].occurred_at == datetime(2024, 1, 12, 10, 40, tzinfo=UTC)
    assert updates[0].description == "Shipment Picked up from the shipper"
    assert updates[1].location == "الرياض"
    assert updates[-1].occurred_at == datetime(2024, 1, 14, 8, 47, tzinfo=UTC)
    assert {u.tracking_number for u in updates} == {"231200021879"}


def test_a_shipment_smsa_has_not_scanned_has_no_updates(smsa):
    smsa.get("/api/track/single/231200021879").respond(200, json=fixture("track_single_fresh.json"))

    assert carrier(smsa).fetch_tracking(tracking_number="231200021879") == []


def test_a_scan_without_an_offset_is_read_in_the_accounts_zone(smsa):
    scan = {"ScanType": "PU", "ScanDescription": "Picked up", "ScanDateTime": "2024-01-12T13:40:00"}
    smsa.get("/api/track/single/1").respond(200, json={"AWB": "1", "Scans": [scan]})

    (update,) = carrier(smsa).fetch_tracking(tracking_number="1")

    assert update.occurred_at == datetime(2024, 1, 12, 10, 40, tzinfo=UTC)


def test_an_unreadable_scan_is_a_carrier_error_not_a_crash(smsa):
    smsa.get("/api/track/single/1").respond(200, json={"AWB": "1", "Scans": [{"ScanType": "PU"}]})

    with pytest.raises(CarrierError) as failed:
        carrier(smsa).fetch_tracking(tracking_number="1")

    assert failed.value.code == "malformed_response"


def test_tracking_that_meets_a_503_is_asked_again(smsa):
    route = smsa.get("/api/track/single/231200021879").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, json=fixture("track_single_return.json")),
        ]
    )

    assert len(carrier(smsa).fetch_tracking(tracking_number="231200021879")) == 6
    assert route.call_count == 2


def test_an_awb_smsa_does_not_know_is_a_carrier_error(smsa):
    smsa.get("/api/track/single/999").respond(404, json={"message": "AWB not found"})

    with pytest.raises(CarrierError) as failed:
        carrier(smsa).fetch_tracking(tracking_number="999")

    assert failed.value.code == "http_404"
    assert "AWB not found" in failed.value.message


# -- the status table ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("DL", TrackingStatus.DELIVERED),
        ("POD", TrackingStatus.DELIVERED),
        ("OD", TrackingStatus.OUT_FOR_DELIVERY),
        ("HOP", TrackingStatus.IN_TRANSIT),
        ("AF", TrackingStatus.IN_TRANSIT),
        ("CC", TrackingStatus.IN_TRANSIT),
        ("CR", TrackingStatus.IN_TRANSIT),
        ("DE", TrackingStatus.EXCEPTION),
        ("DEX08", TrackingStatus.EXCEPTION),
        ("PU", TrackingStatus.FIRST_SCAN),
        ("RTS", TrackingStatus.RETURNED_TO_SENDER),
    ],
)
def test_smsa_scan_codes_map_to_awda_statuses(code, status):
    assert SCAN_STATUS[code] == status


def test_every_code_in_smsas_documented_status_lookup_has_a_status():
    assert {entry["Code"] for entry in fixture("status_lookup.json")} <= set(SCAN_STATUS)


@pytest.mark.parametrize(
    ("codes", "statuses"),
    [
        # a courier collection
        (["PU", "HIP", "OD", "DL"], ["first_scan", "in_transit", "out_for_delivery", "delivered"]),
        # dropped at a retail centre: its first scan is the first scan
        (["ST41", "RTOPS", "HOP"], ["first_scan", "in_transit", "in_transit"]),
        # a second pickup scan is not a second first scan
        (["PU", "PU"], ["first_scan", "in_transit"]),
        # unknown codes never invent a first scan, and never hide one
        (["XX1"], ["label_created"]),
        (["XX1", "PU", "XX2"], ["label_created", "first_scan", "in_transit"]),
        # a failed collection is an exception, not a first scan
        (["DE", "PU"], ["exception", "first_scan"]),
        (["PU", "DEX03", "RTS"], ["first_scan", "exception", "returned_to_sender"]),
        (["pu", " dl "], ["first_scan", "delivered"]),
    ],
)
def test_statuses_follow_the_parcels_scans_in_order(codes, statuses):
    assert [str(s) for s in statuses_for(codes)] == statuses


# -- webhooks --------------------------------------------------------------------------------------


def test_smsa_webhooks_are_refused_so_its_parcels_are_polled(smsa):
    adapter = carrier(smsa)

    assert SmsaCarrier.supports_webhooks is False
    with pytest.raises(WebhookRejected) as refused:
        adapter.verify_webhook(headers={}, body=b"[]")
    assert refused.value.reason == "webhooks not supported"
