"""The Aramex adapter against Aramex's documented JSON services (fixtures written from the
manuals: tests/fixtures/carriers/aramex/README.md). No network, no database."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from awda.shipping.carriers.aramex import (
    UPDATE_STATUS,
    AramexCarrier,
    parse_wcf_date,
    statuses_for,
    wcf_date,
)
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

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "carriers" / "aramex"
BASE = "https://ws.aramex.net/ShippingAPI.V2/"
CREATE = "Shipping/Service_1_0.svc/json/CreateShipments"
PICKUP = "Shipping/Service_1_0.svc/json/CreatePickup"
CANCEL = "Shipping/Service_1_0.svc/json/CancelPickup"
TRACK = "Tracking/Service_1_0.svc/json/TrackShipments"
RIYADH = ZoneInfo("Asia/Riyadh")
NOW = datetime(2024, 1, 11, 15, 2, 11, tzinfo=UTC)  # 18:02:11 in Riyadh

SETTINGS = {
    "username": "returns@noor.example",
    "password": "s3cret",
    "account_number": "60519122",
    "account_pin": "331421",
    "account_entity": "RUH",
    "account_country_code": "SA",
}
CLIENT_INFO = {
    "UserName": "returns@noor.example",
    "Password": "s3cret",
    "Version": "v1.0",
    "AccountNumber": "60519122",
    "AccountPin": "331421",
    "AccountEntity": "RUH",
    "AccountCountryCode": "SA",
    "Source": 24,
    "PreferredLanguageCode": "en",
}
SHOPPER = Address(
    name="Sara Al-Otaibi",
    line1="2239 Al Urubah Rd",
    city="Riyadh",
    country="SA",
    phone="0551234567",
    email="sara@example.com",
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
    postcode="22534",
)
PARCEL = Parcel(
    weight_grams=1200, description="Return: 1 x abaya", value_minor=35000, currency="SAR"
)
RETURN = ShipmentRequest(
    reference="RMA-10023", shopper=SHOPPER, merchant=WAREHOUSE, parcel=PARCEL, method="pickup"
)
SLOT = PickupSlot(
    start=datetime(2024, 1, 14, 9, 0, tzinfo=RIYADH),
    end=datetime(2024, 1, 14, 13, 0, tzinfo=RIYADH),
)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def aramex() -> respx.MockRouter:
    return respx.MockRouter(base_url=BASE, assert_all_called=False)


def carrier(router: respx.MockRouter, **settings: str) -> AramexCarrier:
    return AramexCarrier(
        {**SETTINGS, **settings},
        transport=httpx.MockTransport(router.handler),
        sleep=lambda seconds: None,
        clock=lambda: NOW,
    )


def sent(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


# -- creating the return waybill -------------------------------------------------------------


def test_a_return_waybill_has_the_shopper_as_shipper_and_the_merchant_as_consignee(aramex):
    route = aramex.post(CREATE).respond(200, json=fixture("create_shipments_ok.json"))

    carrier(aramex).create_return_shipment(RETURN)

    request = route.calls.last.request
    assert str(request.url) == BASE + CREATE
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    body = sent(route)
    assert body["ClientInfo"] == CLIENT_INFO
    assert body["LabelInfo"] == {"ReportID": 9201, "ReportType": "URL"}
    assert body["Transaction"]["Reference1"] == "RMA-10023"
    (shipment,) = body["Shipments"]
    assert shipment["Reference1"] == "RMA-10023"
    shipper, consignee = shipment["Shipper"], shipment["Consignee"]
    assert shipper["AccountNumber"] == "60519122"  # prepaid: billed to the merchant's account
    assert shipper["PartyAddress"]["City"] == "Riyadh"
    assert shipper["PartyAddress"]["Line1"] == "2239 Al Urubah Rd"
    assert shipper["PartyAddress"]["Line3"] == "Al Olaya"
    assert shipper["PartyAddress"]["CountryCode"] == "SA"
    assert shipper["Contact"]["PersonName"] == "Sara Al-Otaibi"
    assert shipper["Contact"]["CompanyName"] == "Sara Al-Otaibi"
    assert shipper["Contact"]["CellPhone"] == "0551234567"
    assert consignee["AccountNumber"] == ""
    assert consignee["PartyAddress"]["City"] == "Jeddah"
    assert consignee["Contact"]["CompanyName"] == "Noor Fashion Returns"
    assert shipment["ThirdParty"] is None
    assert shipment["ShippingDateTime"] == "/Date(1704985331000)/"
    assert shipment["DueDate"] == "/Date(1705071731000)/"
    assert shipment["AccountingInstrcutions"] == ""  # Aramex's spelling, or it is ignored
    assert shipment["TransportType "] == 0
    details = shipment["Details"]
    assert details["ProductGroup"] == "DOM"
    assert details["ProductType"] == "ONP"
    assert details["PaymentType"] == "P"
    assert details["ActualWeight"] == {"Value": 1.2, "Unit": "KG"}
    assert details["NumberOfPieces"] == 1
    assert details["DescriptionOfGoods"] == "Return: 1 x abaya"
    assert details["CustomsValueAmount"] is None


def test_the_waybill_id_is_the_tracking_number_and_the_label_comes_as_a_link(aramex):
    aramex.post(CREATE).respond(200, json=fixture("create_shipments_ok.json"))

    result = carrier(aramex).create_return_shipment(RETURN)

    assert result.tracking_number == "44228912345"
    assert result.carrier_shipment_id == "44228912345"
    assert result.qr_payload == "44228912345"
    assert result.carrier_label_url.endswith("9201_44228912345.pdf")
    assert result.carrier_label == b""


def test_a_return_from_another_country_is_express_with_a_customs_value(aramex):
    route = aramex.post(CREATE).respond(200, json=fixture("create_shipments_ok.json"))
    kuwait = ShipmentRequest(
        reference="RMA-10024",
        shopper=Address(
            name="Fahad Al-Sabah", line1="Block 3, Street 12", city="Salmiya", country="KW"
        ),
        merchant=WAREHOUSE,
        parcel=Parcel(weight_grams=800, value_minor=12500, currency="KWD"),
        method="pickup",
    )

    carrier(aramex).create_return_shipment(kuwait)

    details = sent(route)["Shipments"][0]["Details"]
    assert (details["ProductGroup"], details["ProductType"]) == ("EXP", "PPX")
    assert details["CustomsValueAmount"] == {"Value": 12.5, "CurrencyCode": "KWD"}
    assert details["GoodsOriginCountry"] == "KW"


def test_collect_payment_bills_the_account_on_the_merchant_as_consignee(aramex):
    route = aramex.post(CREATE).respond(200, json=fixture("create_shipments_ok.json"))

    carrier(aramex, payment_type="C").create_return_shipment(RETURN)

    shipment = sent(route)["Shipments"][0]
    assert shipment["Shipper"]["AccountNumber"] == ""
    assert shipment["Consignee"]["AccountNumber"] == "60519122"
    assert shipment["Details"]["PaymentType"] == "C"


def test_has_errors_becomes_a_carrier_error_with_every_notification(aramex):
    aramex.post(CREATE).respond(200, json=fixture("create_shipments_error.json"))

    with pytest.raises(CarrierError) as failed:
        carrier(aramex).create_return_shipment(RETURN)

    assert failed.value.code == "ERR48"
    assert failed.value.retryable is False
    assert "ERR48: Shipper Cell Phone is required" in failed.value.message
    assert "REQ39: Shipper City is invalid" in failed.value.message


def test_a_create_that_meets_a_503_is_sent_once_and_left_to_the_caller(aramex):
    route = aramex.post(CREATE).mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, json=fixture("create_shipments_ok.json")),
        ]
    )

    with pytest.raises(CarrierError) as failed:
        carrier(aramex).create_return_shipment(RETURN)

    # Aramex honours no idempotency key: sending it again could make a second waybill.
    assert route.call_count == 1
    assert failed.value.retryable is True


def test_an_account_missing_credentials_sends_nothing(aramex):
    route = aramex.post(CREATE).respond(200, json=fixture("create_shipments_ok.json"))
    incomplete = AramexCarrier(
        {"username": "u", "password": "p"}, transport=httpx.MockTransport(aramex.handler)
    )

    with pytest.raises(CarrierError) as failed:
        incomplete.create_return_shipment(RETURN)

    assert failed.value.code == "not_configured"
    assert "account_pin" in failed.value.message
    assert route.call_count == 0


def test_a_waybill_cannot_be_cancelled_through_the_api(aramex):
    with pytest.raises(CarrierError) as failed:
        carrier(aramex).cancel_shipment(tracking_number="44228912345", carrier_shipment_id="")

    assert failed.value.code == "not_supported"


# -- WCF dates -------------------------------------------------------------------------------------


def test_a_wcf_date_is_utc_milliseconds_and_its_offset_only_names_a_zone():
    assert parse_wcf_date("/Date(1701234567000+0300)/") == datetime(
        2023, 11, 29, 5, 9, 27, tzinfo=UTC
    )
    assert parse_wcf_date("/Date(1701234567000-0500)/") == parse_wcf_date("/Date(1701234567000)/")
    assert parse_wcf_date("\\/Date(1701234567000+0300)\\/").tzinfo == UTC


@pytest.mark.parametrize("value", ["", "2024-01-14T09:00:00", "/Date()/", "/Date(0)/", None])
def test_what_is_not_a_wcf_date_is_refused(value):
    with pytest.raises(ValueError, match="WCF date"):
        parse_wcf_date(value)


def test_a_moment_is_written_as_utc_milliseconds_whatever_its_zone():
    assert wcf_date(datetime(2024, 1, 14, 9, 0, tzinfo=RIYADH)) == "/Date(1705212000000)/"
    assert wcf_date(datetime(2024, 1, 14, 6, 0, tzinfo=UTC)) == "/Date(1705212000000)/"


# -- pickups ---------------------------------------------------------------------------------------


def test_aramex_offers_two_windows_on_a_saudi_working_day(aramex):
    slots = carrier(aramex).pickup_slots(address=SHOPPER, day=date(2024, 1, 14))  # a Sunday

    assert slots == [
        PickupSlot(
            start=datetime(2024, 1, 14, 6, 0, tzinfo=UTC),
            end=datetime(2024, 1, 14, 10, 0, tzinfo=UTC),
        ),
        PickupSlot(
            start=datetime(2024, 1, 14, 10, 0, tzinfo=UTC),
            end=datetime(2024, 1, 14, 14, 0, tzinfo=UTC),
        ),
    ]


@pytest.mark.parametrize("weekend", [date(2024, 1, 12), date(2024, 1, 13)])
def test_aramex_offers_no_pickup_on_the_saudi_weekend(aramex, weekend):
    assert carrier(aramex).pickup_slots(address=SHOPPER, day=weekend) == []


def test_a_pickup_is_booked_for_the_slot_and_answered_with_its_guid(aramex):
    route = aramex.post(PICKUP).respond(200, json=fixture("create_pickup_ok.json"))

    booked = carrier(aramex).schedule_pickup(
        PickupRequest(
            reference="RMA-10023",
            tracking_number="44228912345",
            carrier_shipment_id="44228912345",
            address=SHOPPER,
            slot=SLOT,
            parcel=PARCEL,
        )
    )

    assert booked.confirmation == "6f1c2d3e-4b5a-4c7d-9e8f-0a1b2c3d4e5f"
    assert booked.slot == SLOT
    body = sent(route)
    assert str(route.calls.last.request.url) == BASE + PICKUP
    assert body["ClientInfo"] == CLIENT_INFO
    pickup = body["Pickup"]
    assert pickup["PickupDate"] == "/Date(1705212000000)/"
    assert pickup["ReadyTime"] == "/Date(1705212000000)/"
    assert pickup["LastPickupTime"] == "/Date(1705226400000)/"
    assert pickup["ClosingTime"] == "/Date(1705226400000)/"
    assert pickup["PickupAddress"]["City"] == "Riyadh"
    assert pickup["PickupContact"]["CellPhone"] == "0551234567"
    assert (pickup["Reference1"], pickup["Reference2"]) == ("RMA-10023", "44228912345")
    assert "44228912345" in pickup["Comments"]
    assert pickup["Status"] == "Ready"
    (item,) = pickup["PickupItems"]
    assert (item["ProductGroup"], item["ProductType"]) == ("DOM", "ONP")
    assert item["ShipmentWeight"] == {"Value": 1.2, "Unit": "KG"}
    assert item["NumberOfShipments"] == 1


def test_a_pickup_aramex_refuses_is_a_carrier_error_in_its_words(aramex):
    aramex.post(PICKUP).respond(200, json=fixture("create_pickup_error.json"))
    request = PickupRequest(
        reference="RMA-10023",
        tracking_number="44228912345",
        carrier_shipment_id="44228912345",
        address=SHOPPER,
        slot=SLOT,
        parcel=PARCEL,
    )

    with pytest.raises(CarrierError) as failed:
        carrier(aramex).schedule_pickup(request)

    assert failed.value.code == "ERR17"
    assert "Pickup Date cannot be in the past" in failed.value.message


def test_cancelling_a_pickup_sends_its_guid_and_a_comment(aramex):
    route = aramex.post(CANCEL).respond(200, json=fixture("cancel_pickup_ok.json"))

    carrier(aramex).cancel_pickup(confirmation="6f1c2d3e-4b5a-4c7d-9e8f-0a1b2c3d4e5f")

    body = sent(route)
    assert body["PickupGUID"] == "6f1c2d3e-4b5a-4c7d-9e8f-0a1b2c3d4e5f"
    assert body["Comments"]
    assert body["ClientInfo"] == CLIENT_INFO


def test_a_cancellation_that_meets_a_503_is_asked_again(aramex):
    route = aramex.post(CANCEL).mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, json=fixture("cancel_pickup_ok.json")),
        ]
    )

    carrier(aramex).cancel_pickup(confirmation="6f1c2d3e-4b5a-4c7d-9e8f-0a1b2c3d4e5f")

    assert route.call_count == 2


# -- tracking --------------------------------------------------------------------------------------


def test_tracking_asks_for_every_update_of_the_waybill(aramex):
    route = aramex.post(TRACK).respond(200, json=fixture("track_shipments.json"))

    carrier(aramex).fetch_tracking(tracking_number="44228912345")

    assert str(route.calls.last.request.url) == BASE + TRACK
    body = sent(route)
    assert body["ClientInfo"] == CLIENT_INFO
    assert body["Shipments"] == ["44228912345"]
    assert body["GetLastTrackingUpdateOnly"] is False


def test_updates_come_back_oldest_first_in_utc_with_aramexs_own_words(aramex):
    aramex.post(TRACK).respond(200, json=fixture("track_shipments.json"))

    updates = carrier(aramex).fetch_tracking(tracking_number="44228912345")

    assert [(u.carrier_status, u.status) for u in updates] == [
        ("SH014", TrackingStatus.LABEL_CREATED),
        ("SH294", TrackingStatus.EXCEPTION),
        ("SH012", TrackingStatus.FIRST_SCAN),
        ("SH047", TrackingStatus.IN_TRANSIT),
        ("SH022", TrackingStatus.IN_TRANSIT),
        ("SH001", TrackingStatus.IN_TRANSIT),
        ("SH003", TrackingStatus.OUT_FOR_DELIVERY),
        ("SH005", TrackingStatus.DELIVERED),
    ]
    assert updates[0].occurred_at == datetime(2024, 1, 11, 15, 2, tzinfo=UTC)
    assert updates[2].occurred_at == datetime(2024, 1, 12, 10, 40, tzinfo=UTC)
    arabic = updates[5]
    assert arabic.description == "تحت المعالجة في مرفق العمليات"
    assert arabic.location == "جدة، المملكة العربية السعودية"
    assert updates[-1].description == "Delivered — Delivered to Warehouse receiving"
    assert {u.tracking_number for u in updates} == {"44228912345"}


def test_a_waybill_aramex_does_not_know_is_a_carrier_error(aramex):
    aramex.post(TRACK).respond(200, json=fixture("track_nonexisting.json"))

    with pytest.raises(CarrierError) as failed:
        carrier(aramex).fetch_tracking(tracking_number="44228999999")

    assert failed.value.code == "unknown_tracking_number"


def test_a_login_aramex_refuses_is_a_carrier_error_with_its_code(aramex):
    aramex.post(TRACK).respond(200, json=fixture("login_error.json"))

    with pytest.raises(CarrierError) as failed:
        carrier(aramex).fetch_tracking(tracking_number="44228912345")

    assert failed.value.code == "ERR01"
    assert "Invalid username or password" in failed.value.message
    assert failed.value.retryable is False


def test_tracking_that_meets_a_503_is_asked_again(aramex):
    route = aramex.post(TRACK).mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, json=fixture("track_shipments.json")),
        ]
    )

    assert len(carrier(aramex).fetch_tracking(tracking_number="44228912345")) == 8
    assert route.call_count == 2


def test_an_answer_that_is_not_json_is_a_carrier_error_not_a_crash(aramex):
    aramex.post(TRACK).respond(200, text="<s:Envelope>…</s:Envelope>")

    with pytest.raises(CarrierError) as failed:
        carrier(aramex).fetch_tracking(tracking_number="44228912345")

    assert failed.value.code == "malformed_response"


def test_an_update_with_an_unreadable_date_is_a_carrier_error_not_a_crash(aramex):
    broken = fixture("track_shipments.json")
    broken["TrackingResults"][0]["Value"][0]["UpdateDateTime"] = "2024-01-14T11:47:00"
    aramex.post(TRACK).respond(200, json=broken)

    with pytest.raises(CarrierError) as failed:
        carrier(aramex).fetch_tracking(tracking_number="44228912345")

    assert failed.value.code == "malformed_response"


# -- the status table ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("SH014", TrackingStatus.LABEL_CREATED),  # Record created — not a pickup
        ("SH012", TrackingStatus.FIRST_SCAN),
        ("SH011", TrackingStatus.FIRST_SCAN),
        ("SH047", TrackingStatus.IN_TRANSIT),
        ("SH022", TrackingStatus.IN_TRANSIT),
        ("SH007", TrackingStatus.IN_TRANSIT),  # Will be Delivered by Postal Services
        ("SH003", TrackingStatus.OUT_FOR_DELIVERY),
        ("SH005", TrackingStatus.DELIVERED),
        ("SH006", TrackingStatus.DELIVERED),
        ("SH033", TrackingStatus.EXCEPTION),
        ("SH294", TrackingStatus.EXCEPTION),
        ("SH069", TrackingStatus.RETURNED_TO_SENDER),
    ],
)
def test_aramex_update_codes_map_to_awda_statuses(code, status):
    assert UPDATE_STATUS[code] == status


@pytest.mark.parametrize(
    ("codes", "statuses"),
    [
        # a courier collection
        (
            ["SH014", "SH012", "SH047", "SH005"],
            ["label_created", "first_scan", "in_transit", "delivered"],
        ),
        # dropped at a counter: the origin facility's scan is the first scan
        (["SH014", "SH047", "SH022"], ["label_created", "first_scan", "in_transit"]),
        # unknown codes never invent a first scan, and never hide one
        (["SH014", "SH999"], ["label_created", "label_created"]),
        (["SH014", "SH012", "SH999"], ["label_created", "first_scan", "in_transit"]),
        # a second pickup update is not a second first scan
        (["SH012", "SH011"], ["first_scan", "in_transit"]),
        # informational updates keep the status they follow
        (["SH005", "SH239"], ["delivered", "delivered"]),
        (["SH076"], ["label_created"]),
    ],
)
def test_statuses_follow_the_waybills_updates_in_order(codes, statuses):
    assert [str(s) for s in statuses_for(codes)] == statuses


# -- webhooks --------------------------------------------------------------------------------------


def test_aramex_webhooks_are_refused_so_its_parcels_are_polled(aramex):
    adapter = carrier(aramex)

    assert AramexCarrier.supports_webhooks is False
    with pytest.raises(WebhookRejected) as refused:
        adapter.verify_webhook(headers={}, body=b"{}")
    assert refused.value.reason == "webhooks not supported"
