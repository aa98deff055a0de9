"""The EasyPost adapter against EasyPost's own recorded payloads (tests/fixtures/shared).

HTTP is mocked with respx; every test asserts the request EasyPost would have received.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from awda.shipping.carriers import build_carrier
from awda.shipping.carriers.base import (
    Address,
    CarrierError,
    MalformedWebhook,
    Parcel,
    PickupRequest,
    PickupSlot,
    ShipmentRequest,
    TrackingStatus,
    WebhookRejected,
)
from awda.shipping.carriers.easypost import EasyPostCarrier, rate_cost, status_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "shared" / "easypost-examples"
API = "https://api.easypost.com/v2"
API_KEY = "EZTK_test_key"
SHIPMENT_ID = "shp_18efc5c59c4b4bc598eb47070948cec8"


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _signed_event() -> tuple[bytes, str, str]:
    """event-body.json as EasyPost signed it, with the secret and signature it was signed with.

    The recorded signature covers the JSON text without the file's final newline (the client
    libraries' tests strip it too); that newline is not part of what EasyPost sent.
    """
    body = (FIXTURES / "event-body.json").read_bytes().rstrip(b"\n")
    webhooks = _fixture("client-library-fixtures.json")["webhooks"]
    return body, webhooks["secret"], webhooks["hmac_signature"]


SHOPPER = Address(
    name="Dr. Steve Brule",
    line1="179 N Harbor Dr",
    city="Redondo Beach",
    region="CA",
    postcode="90277",
    country="US",
    phone="8573875756",
    email="dr_steve_brule@gmail.com",
)
MERCHANT = Address(
    name="EasyPost",
    line1="417 Montgomery Street",
    line2="5th Floor",
    city="San Francisco",
    region="CA",
    postcode="94104",
    country="US",
    phone="4153334445",
    email="support@easypost.com",
)


def _request(**kw: Any) -> ShipmentRequest:
    fields: dict[str, Any] = {
        "reference": "R-1001",
        "shopper": SHOPPER,
        "merchant": MERCHANT,
        "parcel": Parcel(),
        "method": "label",
        "idempotency_key": "ret-1001-inbound",
    }
    fields.update(kw)
    return ShipmentRequest(**fields)


def _bought(rate_index: int = 2) -> dict[str, Any]:
    """returns-create.json after a buy: EasyPost's documented buy answer is the same Shipment
    with its selected rate, postage label, tracking code and tracker filled in."""
    shipment = copy.deepcopy(_fixture("returns-create.json"))
    shipment["selected_rate"] = shipment["rates"][rate_index]
    shipment["tracking_code"] = "9434600208303110021234"
    shipment["postage_label"] = {
        "object": "PostageLabel",
        "id": "pl_1",
        "label_file_type": "image/png",
        "label_url": "https://easypost-files.s3.us-west-2.amazonaws.com/files/postage_label/x.png",
    }
    shipment["tracker"] = {
        "id": "trk_1",
        "object": "Tracker",
        "tracking_code": "9434600208303110021234",
        "public_url": "https://track.easypost.com/x",
    }
    return shipment


@pytest.fixture
def carrier() -> EasyPostCarrier:
    _, secret, _ = _signed_event()
    return EasyPostCarrier(
        {"api_key": API_KEY, "webhook_secret": secret, "pickup_timezone": "America/Los_Angeles"},
        sleep=lambda seconds: None,
    )


def _basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


# -- return labels -------------------------------------------------------------------------


@respx.mock
def test_a_return_is_created_with_is_return_and_the_addresses_as_the_outbound_parcel_had_them(
    carrier,
):
    create = respx.post(f"{API}/shipments").respond(201, json=_fixture("returns-create.json"))
    respx.post(f"{API}/shipments/{SHIPMENT_ID}/buy").respond(200, json=_bought())

    carrier.create_return_shipment(_request())

    sent = create.calls.last.request
    assert sent.method == "POST"
    assert sent.headers["authorization"] == _basic(API_KEY)
    # EasyPost documents no idempotency key: none is sent, so none can be trusted to dedupe.
    assert "idempotency-key" not in sent.headers
    shipment = json.loads(sent.content)["shipment"]
    assert shipment["is_return"] is True
    # EasyPost swaps the addresses of a return itself: the shopper stays the to_address.
    assert shipment["to_address"]["name"] == "Dr. Steve Brule"
    assert shipment["to_address"]["zip"] == "90277"
    assert shipment["from_address"]["name"] == "EasyPost"
    assert shipment["from_address"]["street2"] == "5th Floor"
    assert shipment["reference"] == "R-1001"
    # 30 x 20 x 10 cm and 1 kg, in EasyPost's inches and ounces.
    assert shipment["parcel"] == {"length": 11.8, "width": 7.9, "height": 3.9, "weight": 35.3}
    assert "carrier_accounts" not in shipment


@respx.mock
def test_the_cheapest_rate_is_bought_and_its_cost_is_kept_in_minor_units(carrier):
    respx.post(f"{API}/shipments").respond(201, json=_fixture("returns-create.json"))
    buy = respx.post(f"{API}/shipments/{SHIPMENT_ID}/buy").respond(200, json=_bought())

    result = carrier.create_return_shipment(_request())

    # returns-create.json offers Express 51.20, Priority 11.01 and GroundAdvantage 8.20.
    assert json.loads(buy.calls.last.request.content) == {
        "rate": {"id": "rate_e77cbaf75acc4ac2acf81cd450fa15d6"}
    }
    assert buy.calls.last.request.headers["authorization"] == _basic(API_KEY)
    assert result.tracking_number == "9434600208303110021234"
    assert result.carrier_shipment_id == SHIPMENT_ID
    assert result.carrier_label_url.endswith("/x.png")
    assert result.carrier_label_format == "png"
    assert result.cost_minor == 820
    assert result.cost_currency == "USD"
    # EasyPost has no paperless drop-off code: the drop-off point scans the tracking number.
    assert result.qr_payload == "9434600208303110021234"
    assert result.raw["service"] == "GroundAdvantage"


@respx.mock
def test_the_accounts_carrier_accounts_and_label_format_are_sent_when_set():
    carrier = EasyPostCarrier(
        {"api_key": API_KEY, "carrier_accounts": "ca_1, ca_2", "label_format": "pdf"}
    )
    create = respx.post(f"{API}/shipments").respond(201, json=_fixture("returns-create.json"))
    respx.post(f"{API}/shipments/{SHIPMENT_ID}/buy").respond(200, json=_bought())

    carrier.create_return_shipment(_request())

    shipment = json.loads(create.calls.last.request.content)["shipment"]
    assert shipment["carrier_accounts"] == ["ca_1", "ca_2"]
    assert shipment["options"] == {"label_format": "PDF"}


@respx.mock
def test_a_buy_that_went_through_before_failing_is_read_back_not_bought_twice(carrier):
    respx.post(f"{API}/shipments").respond(201, json=_fixture("returns-create.json"))
    already = {"error": {"code": "SHIPMENT.POSTAGE.EXISTS", "message": "already has postage"}}
    buy = respx.post(f"{API}/shipments/{SHIPMENT_ID}/buy").mock(
        side_effect=[httpx.Response(503), httpx.Response(422, json=already)]
    )
    read = respx.get(f"{API}/shipments/{SHIPMENT_ID}").respond(200, json=_bought())

    result = carrier.create_return_shipment(_request())

    assert buy.call_count == 2
    assert read.call_count == 1
    assert result.tracking_number == "9434600208303110021234"


@respx.mock
def test_a_refused_buy_of_a_shipment_without_a_label_is_the_carriers_refusal(carrier):
    respx.post(f"{API}/shipments").respond(201, json=_fixture("returns-create.json"))
    refusal = {"error": {"code": "SHIPMENT.POSTAGE.FAILURE", "message": "Insufficient funds"}}
    respx.post(f"{API}/shipments/{SHIPMENT_ID}/buy").respond(422, json=refusal)
    respx.get(f"{API}/shipments/{SHIPMENT_ID}").respond(200, json=_fixture("returns-create.json"))

    with pytest.raises(CarrierError) as refused:
        carrier.create_return_shipment(_request())

    assert refused.value.message == "HTTP 422: Insufficient funds"
    assert refused.value.retryable is False


@respx.mock
def test_a_shipment_without_rates_is_refused_with_easyposts_messages(carrier):
    answer = _fixture("returns-create.json")
    answer["rates"] = []
    answer["messages"] = [{"carrier": "USPS", "type": "rate_error", "message": "bad zip"}]
    respx.post(f"{API}/shipments").respond(201, json=answer)

    with pytest.raises(CarrierError) as refused:
        carrier.create_return_shipment(_request())

    assert refused.value.code == "no_rates"
    assert "USPS: bad zip" in refused.value.message


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("8.20", "USD", 820), ("8.205", "USD", 820), ("8.215", "USD", 822), ("12", "usd", 1200)],
)
def test_a_rate_is_kept_in_minor_units_rounded_half_even(amount, currency, minor):
    assert rate_cost(amount, currency) == (minor, "USD")


def test_an_unreadable_rate_has_no_cost():
    assert rate_cost(None, "USD") == (None, "")
    assert rate_cost("8.20", "XXQ") == (None, "")


def test_calls_without_an_api_key_are_refused_before_reaching_easypost():
    with pytest.raises(CarrierError) as refused:
        EasyPostCarrier({}).create_return_shipment(_request())
    assert refused.value.code == "not_configured"


def test_the_adapter_registry_builds_easypost_by_its_code():
    built = build_carrier("easypost", {"api_key": API_KEY})
    assert isinstance(built, EasyPostCarrier)
    assert (built.supports_pickup, built.supports_webhooks, built.supports_paperless) == (
        True,
        True,
        False,
    )


# -- cancelling a label -----------------------------------------------------------------------


@respx.mock
def test_cancelling_a_label_asks_easypost_to_refund_its_shipment(carrier):
    refunded = _bought()
    refunded["refund_status"] = "submitted"
    refund = respx.post(f"{API}/shipments/{SHIPMENT_ID}/refund").respond(200, json=refunded)

    carrier.cancel_shipment(
        tracking_number="9434600208303110021234", carrier_shipment_id=SHIPMENT_ID
    )

    assert refund.call_count == 1
    assert refund.calls.last.request.headers["authorization"] == _basic(API_KEY)


@respx.mock
def test_a_refund_answered_as_a_refund_list_is_accepted(carrier):
    # refunds-create.json is EasyPost's Refund list answer (status "submitted").
    respx.post(f"{API}/shipments/{SHIPMENT_ID}/refund").respond(
        200, json=_fixture("refunds-create.json")
    )

    carrier.cancel_shipment(
        tracking_number="9405500208303109884137", carrier_shipment_id=SHIPMENT_ID
    )


@respx.mock
def test_a_rejected_refund_is_an_error(carrier):
    rejected = _bought()
    rejected["refund_status"] = "rejected"
    respx.post(f"{API}/shipments/{SHIPMENT_ID}/refund").respond(200, json=rejected)

    with pytest.raises(CarrierError) as refused:
        carrier.cancel_shipment(
            tracking_number="9434600208303110021234", carrier_shipment_id=SHIPMENT_ID
        )
    assert refused.value.code == "refund_rejected"


# -- pickups ----------------------------------------------------------------------------------


def test_pickup_windows_are_morning_midday_and_afternoon_in_the_accounts_zone(carrier):
    slots = carrier.pickup_slots(address=SHOPPER, day=date(2025, 6, 2))  # a Monday, PDT

    assert [(s.start.hour, s.end.hour) for s in slots] == [(16, 19), (19, 22), (22, 1)]
    assert all(s.start.tzinfo is UTC for s in slots)


def test_there_are_no_pickups_on_sundays(carrier):
    assert carrier.pickup_slots(address=SHOPPER, day=date(2025, 6, 1)) == []


def _pickup_answer(status: str = "unknown", confirmation: str | None = None) -> dict[str, Any]:
    return {
        "id": "pickup_2c46d329efad4c5cab02c9a03ff96a2b",
        "object": "Pickup",
        "status": status,
        "confirmation": confirmation,
        # EasyPost's documented examples echo bare dates here.
        "min_datetime": "2025-06-03T00:00:00Z",
        "max_datetime": "2025-06-03T00:00:00Z",
        "messages": [],
        "pickup_rates": [
            {"id": "pickuprate_2", "carrier": "USPS", "service": "NextDay", "rate": "4.00"},
            {"id": "pickuprate_1", "carrier": "USPS", "service": "NextDay", "rate": "0.00"},
        ],
    }


@respx.mock
def test_a_pickup_is_created_for_the_shipment_and_its_cheapest_rate_bought(carrier):
    slot = PickupSlot(
        start=datetime(2025, 6, 3, 16, tzinfo=UTC), end=datetime(2025, 6, 3, 19, tzinfo=UTC)
    )
    create = respx.post(f"{API}/pickups").respond(201, json=_pickup_answer())
    buy = respx.post(f"{API}/pickups/pickup_2c46d329efad4c5cab02c9a03ff96a2b/buy").respond(
        200, json=_pickup_answer("scheduled", "WTC62300486")
    )

    result = carrier.schedule_pickup(
        PickupRequest(
            reference="R-1001",
            tracking_number="9434600208303110021234",
            carrier_shipment_id=SHIPMENT_ID,
            address=SHOPPER,
            slot=slot,
            parcel=Parcel(),
        )
    )

    pickup = json.loads(create.calls.last.request.content)["pickup"]
    assert pickup["shipment"] == {"id": SHIPMENT_ID}
    assert pickup["min_datetime"] == "2025-06-03T16:00:00Z"
    assert pickup["max_datetime"] == "2025-06-03T19:00:00Z"
    assert pickup["address"]["street1"] == "179 N Harbor Dr"
    assert pickup["reference"] == "R-1001"
    assert pickup["is_account_address"] is False
    assert json.loads(buy.calls.last.request.content) == {"carrier": "USPS", "service": "NextDay"}
    # The id is what cancels it; the carrier's own number is kept for staff.
    assert result.confirmation == "pickup_2c46d329efad4c5cab02c9a03ff96a2b"
    assert result.raw["confirmation"] == "WTC62300486"
    # A bare-date answer is no window: the requested one stands.
    assert result.slot == slot


@respx.mock
def test_cancelling_a_pickup_posts_to_its_cancel_endpoint(carrier):
    cancel = respx.post(f"{API}/pickups/pickup_1/cancel").respond(
        200, json={"id": "pickup_1", "status": "canceled"}
    )

    carrier.cancel_pickup(confirmation="pickup_1")

    assert cancel.call_count == 1


# -- tracking ---------------------------------------------------------------------------------


@respx.mock
def test_tracking_reads_the_parcels_tracker_and_maps_its_details(carrier):
    lookup = respx.get(f"{API}/trackers", params={"tracking_code": "EZ1000000001"}).respond(
        200, json={"trackers": [_fixture("trackers-retrieve.json")], "has_more": False}
    )

    updates = carrier.fetch_tracking(tracking_number="EZ1000000001")

    assert lookup.calls.last.request.headers["authorization"] == _basic(API_KEY)
    assert [u.status for u in updates] == [TrackingStatus.LABEL_CREATED] * 2
    first, second = updates
    assert first.tracking_number == "EZ1000000001"
    assert first.occurred_at == datetime(2025, 4, 9, 20, 40, 17, tzinfo=UTC)
    assert first.carrier_status == "pre_transit:status_update"
    assert first.description == "Pre-Shipment Info Sent to USPS"
    assert first.location == ""
    assert second.location == "HOUSTON, TX, 77063"


@respx.mock
def test_a_parcel_without_a_tracker_gets_one(carrier):
    respx.get(f"{API}/trackers").respond(200, json={"trackers": [], "has_more": False})
    create = respx.post(f"{API}/trackers").respond(201, json=_fixture("trackers-retrieve.json"))

    updates = carrier.fetch_tracking(tracking_number="EZ1000000001")

    assert json.loads(create.calls.last.request.content) == {
        "tracker": {"tracking_code": "EZ1000000001"}
    }
    assert len(updates) == 2


# -- webhooks: signature ------------------------------------------------------------------------


def test_the_recorded_event_verifies_with_the_nfkd_normalised_secret(carrier):
    body, _, signature = _signed_event()

    carrier.verify_webhook(headers={"x-hmac-signature": signature}, body=body)


def test_the_recorded_signature_fails_with_the_secret_as_typed_not_normalised():
    body, secret, signature = _signed_event()
    composed = unicodedata.normalize("NFC", secret)  # "é" as one code point
    assert composed != unicodedata.normalize("NFKD", secret)
    raw_digest = hmac.new(composed.encode(), body, hashlib.sha256).hexdigest()
    assert f"hmac-sha256-hex={raw_digest}" != signature
    # An adapter keying the HMAC without normalising would compute raw_digest; ours doesn't.
    with pytest.raises(WebhookRejected):
        EasyPostCarrier({"webhook_secret": composed}).verify_webhook(
            headers={"x-hmac-signature": f"hmac-sha256-hex={raw_digest}"}, body=body
        )


def test_a_body_with_one_byte_changed_is_rejected(carrier):
    body, _, signature = _signed_event()
    tampered = body.replace(b'"tracking_code":"1"', b'"tracking_code":"2"')
    assert len(tampered) == len(body) and tampered != body

    with pytest.raises(WebhookRejected) as rejected:
        carrier.verify_webhook(headers={"x-hmac-signature": signature}, body=tampered)
    assert rejected.value.reason == "signature does not match"


def test_a_delivery_without_the_signature_header_is_rejected(carrier):
    body, _, _ = _signed_event()

    with pytest.raises(WebhookRejected) as rejected:
        carrier.verify_webhook(headers={}, body=body)
    assert "missing" in rejected.value.reason


def test_an_account_without_a_webhook_secret_rejects_every_delivery():
    body, _, signature = _signed_event()

    with pytest.raises(WebhookRejected):
        EasyPostCarrier({"api_key": API_KEY}).verify_webhook(
            headers={"x-hmac-signature": signature}, body=body
        )


# -- webhooks: reading ----------------------------------------------------------------------


def test_a_tracker_updated_event_carries_the_trackers_scans_under_the_event_id(carrier):
    body, _, _ = _signed_event()

    event = carrier.parse_webhook(body=body)

    assert event.event_id == "evt_1"
    assert event.kind == "tracker.updated"
    assert event.tracking_number == "1"
    assert [u.status for u in event.updates] == [
        TrackingStatus.LABEL_CREATED,
        TrackingStatus.FIRST_SCAN,  # "Picked up": the earliest in_transit scan
        *[TrackingStatus.IN_TRANSIT] * 5,
    ]
    picked_up = event.updates[1]
    assert picked_up.occurred_at == datetime(2024, 7, 31, 19, 27, tzinfo=UTC)
    assert picked_up.carrier_status == "in_transit:arrived_at_facility:PU"
    assert picked_up.description == "Picked up"
    assert picked_up.location == "ORLANDO, FL, 32809, US"
    assert all(u.occurred_at.tzinfo is UTC for u in event.updates)


def test_the_first_scan_is_the_earliest_in_transit_scan_whatever_the_order(carrier):
    # The tracking guide's example lists a delivery dated before the scans it follows.
    event = carrier.parse_webhook(body=(FIXTURES / "tracking-webhook.json").read_bytes())

    by_words = {u.description: u.status for u in event.updates}
    assert by_words == {
        "BILLING INFORMATION RECEIVED": TrackingStatus.LABEL_CREATED,
        "ORIGIN SCAN": TrackingStatus.FIRST_SCAN,
        "DEPARTURE SCAN": TrackingStatus.IN_TRANSIT,
        "ARRIVAL SCAN": TrackingStatus.IN_TRANSIT,
        "OUT FOR DELIVERY": TrackingStatus.OUT_FOR_DELIVERY,
        "DELIVERED": TrackingStatus.DELIVERED,
    }
    assert event.tracking_number == "EZ4000000004"


def test_the_same_event_read_twice_gives_identical_scans(carrier):
    body, _, _ = _signed_event()
    assert carrier.parse_webhook(body=body).updates == carrier.parse_webhook(body=body).updates


def test_an_event_about_something_other_than_a_tracker_carries_no_scans(carrier):
    body = json.dumps(
        {
            "id": "evt_2",
            "object": "Event",
            "description": "refund.successful",
            "result": {"object": "Refund", "tracking_code": "9405500208303109884137"},
        }
    ).encode()

    event = carrier.parse_webhook(body=body)

    assert (event.event_id, event.kind, event.updates) == ("evt_2", "refund.successful", [])


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"description": "tracker.updated", "result": {"object": "Tracker"}}',  # no id
        b'{"id": "evt_3", "description": "tracker.updated"}',  # no result
        b'{"id": "evt_3", "result": {"object": "Tracker", "tracking_details": []}}',  # no code
        b'{"id": "evt_3", "result": {"object": "Tracker", "tracking_code": "1",'
        b' "tracking_details": [{"status": "in_transit", "datetime": "yesterday"}]}}',
        b'{"id": "evt_3", "result": {"object": "Tracker", "tracking_code": "1",'
        b' "tracking_details": [{"status": "in_transit"}]}}',
    ],
)
def test_an_unreadable_event_is_malformed(carrier, body):
    with pytest.raises(MalformedWebhook):
        carrier.parse_webhook(body=body)


# -- status mapping ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("easypost", "awda"),
    [
        ("unknown", TrackingStatus.LABEL_CREATED),
        ("pre_transit", TrackingStatus.LABEL_CREATED),
        ("in_transit", TrackingStatus.IN_TRANSIT),
        ("out_for_delivery", TrackingStatus.OUT_FOR_DELIVERY),
        ("available_for_pickup", TrackingStatus.OUT_FOR_DELIVERY),
        ("delivered", TrackingStatus.DELIVERED),
        ("return_to_sender", TrackingStatus.RETURNED_TO_SENDER),
        ("failure", TrackingStatus.EXCEPTION),
        ("error", TrackingStatus.EXCEPTION),
        ("cancelled", TrackingStatus.EXCEPTION),
        ("something_new", TrackingStatus.LABEL_CREATED),
    ],
)
def test_easypost_statuses_map_to_awdas(easypost, awda):
    assert status_for(easypost) == awda


def test_a_status_easypost_may_add_later_never_counts_as_a_scan():
    # Anything ranked above label_created records a first scan downstream.
    assert status_for("in_customs_limbo") == TrackingStatus.LABEL_CREATED
    assert status_for("unknown") == TrackingStatus.LABEL_CREATED


# -- HTTP failures ------------------------------------------------------------------------------


@respx.mock
def test_a_read_answered_503_is_retried_until_it_succeeds(carrier):
    lookup = respx.get(f"{API}/trackers").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, json={"trackers": [_fixture("trackers-retrieve.json")]}),
        ]
    )

    updates = carrier.fetch_tracking(tracking_number="EZ1000000001")

    assert lookup.call_count == 2
    assert len(updates) == 2


@respx.mock
def test_a_create_answered_503_is_not_repeated_and_may_be_tried_again_later(carrier):
    create = respx.post(f"{API}/shipments").respond(503, json={"error": {"message": "busy"}})

    with pytest.raises(CarrierError) as failed:
        carrier.create_return_shipment(_request())

    assert create.call_count == 1
    assert failed.value.retryable is True
    assert failed.value.code == "http_503"


@respx.mock
def test_a_422_is_a_carrier_error_in_easyposts_words(carrier):
    error = {
        "error": {
            "code": "ADDRESS.VERIFY.FAILURE",
            "message": "Unable to verify address.",
            "errors": [],
        }
    }
    respx.post(f"{API}/shipments").respond(422, json=error)

    with pytest.raises(CarrierError) as refused:
        carrier.create_return_shipment(_request())

    assert refused.value.message == "HTTP 422: Unable to verify address."
    assert refused.value.code == "http_422"
    assert refused.value.retryable is False


@respx.mock
def test_an_easypost_that_does_not_answer_is_unreachable(carrier):
    respx.get(f"{API}/trackers").mock(side_effect=httpx.ConnectTimeout("timed out"))

    with pytest.raises(CarrierError) as failed:
        carrier.fetch_tracking(tracking_number="EZ1000000001")

    assert failed.value.code == "unreachable"
    assert failed.value.retryable is True
