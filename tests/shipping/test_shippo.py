"""The Shippo adapter against Shippo's recorded USPS track (tests/fixtures/shared).

The two VCR cassettes hold the same real track as Shippo answered it twice, a second apart:
registering the number (``test_create``) and reading it (``test_get_status``). Shippo
regenerated every record id in between, which is what a re-sent webhook looks like.
HTTP is mocked with respx; every test asserts the request Shippo would have received.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import yaml

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
from awda.shipping.carriers.shippo import ShippoCarrier, status_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "shared" / "shippo-python-client"
API = "https://api.goshippo.com"
TOKEN = "shippo_test_token"
SECRET = "whsec-shippo-test"
NOW = 1_700_000_000
NUMBER = "9205590164917337534322"


class _CassetteLoader(yaml.SafeLoader):
    """Safe YAML plus the ``!!python/unicode`` tag the old client's recorder wrote."""


def _unicode(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    assert isinstance(node, yaml.ScalarNode)
    return str(loader.construct_scalar(node))


_CassetteLoader.add_constructor("tag:yaml.org,2002:python/unicode", _unicode)


def _cassette(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The recorded request and the decoded JSON answer of a one-interaction cassette."""
    recorded = yaml.load((FIXTURES / name).read_text(encoding="utf-8"), Loader=_CassetteLoader)
    interaction = recorded["interactions"][0]
    answer = json.loads(gzip.decompress(interaction["response"]["body"]["string"]))
    return interaction["request"], answer


def _track_updated(track: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps({"event": "track_updated", "test": False, "data": track, **extra}).encode()


def _sign(body: bytes, *, secret: str = SECRET, stamp: int = NOW) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"shippo-auth-signature": f"t={stamp},v1={digest}"}


SHOPPER = Address(
    name="Mrs. Hippo",
    line1="965 Mission St.",
    city="San Francisco",
    region="CA",
    postcode="94105",
    country="US",
    email="mrs@example.com",
)
MERCHANT = Address(
    name="Mr. Hippo",
    company="Hippo Supplies",
    line1="215 Clayton St.",
    city="San Francisco",
    region="CA",
    postcode="94117",
    country="US",
    phone="+1 555 341 9393",
)


def _request() -> ShipmentRequest:
    return ShipmentRequest(
        reference="R-2002",
        shopper=SHOPPER,
        merchant=MERCHANT,
        parcel=Parcel(),
        method="label",
        idempotency_key="ret-2002-inbound",
    )


# Shippo's documented Shipment and Transaction shapes (no recorded ones are in the fixtures).
def _shipment(rates: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "object_id": "5e40ead7cffe4cc1ad45108696162e42",
        "status": "SUCCESS",
        "messages": [],
        "rates": rates
        if rates is not None
        else [
            {
                "object_id": "rate_priority",
                "amount": "7.85",
                "currency": "USD",
                "provider": "USPS",
                "servicelevel": {"token": "usps_priority", "name": "Priority Mail"},
                "carrier_account": "078870331023437cb917f5187429b093",
            },
            {
                "object_id": "rate_ground",
                "amount": "5.505",
                "currency": "USD",
                "provider": "USPS",
                "servicelevel": {"token": "usps_ground_advantage", "name": "Ground Advantage"},
                "carrier_account": "078870331023437cb917f5187429b093",
            },
        ],
    }


def _transaction(status: str = "SUCCESS", **extra: Any) -> dict[str, Any]:
    bought = status == "SUCCESS"
    answer: dict[str, Any] = {
        "object_id": "915d94940ea54c3a80cbfa328722f5a1",
        "status": status,
        "rate": "rate_ground",
        "tracking_number": NUMBER if bought else "",
        "label_url": "https://shippo-delivery.s3.amazonaws.com/70ae8117.pdf" if bought else "",
        "tracking_url_provider": "https://tools.usps.com/go/TrackConfirmAction_input",
        "messages": [],
    }
    answer.update(extra)
    return answer


@pytest.fixture
def carrier() -> ShippoCarrier:
    return ShippoCarrier(
        {"api_token": TOKEN, "webhook_secret": SECRET, "carrier": "usps"},
        sleep=lambda seconds: None,
        clock=lambda: float(NOW),
    )


# -- return labels -------------------------------------------------------------------------


@respx.mock
def test_a_return_is_created_with_is_return_and_the_addresses_as_the_outbound_parcel_had_them(
    carrier,
):
    create = respx.post(f"{API}/shipments/").respond(201, json=_shipment())
    respx.post(f"{API}/transactions/").respond(201, json=_transaction())

    carrier.create_return_shipment(_request())

    sent = create.calls.last.request
    assert sent.headers["authorization"] == f"ShippoToken {TOKEN}"
    assert sent.headers["shippo-api-version"] == "2018-02-08"
    # Shippo documents no idempotency key: none is sent, so none can be trusted to dedupe.
    assert "idempotency-key" not in sent.headers
    shipment = json.loads(sent.content)
    assert shipment["extra"] == {"is_return": True, "reference_1": "R-2002"}
    # Shippo swaps the addresses of a return itself: the merchant stays address_from.
    assert shipment["address_from"]["name"] == "Mr. Hippo"
    assert shipment["address_from"]["company"] == "Hippo Supplies"
    assert shipment["address_to"]["name"] == "Mrs. Hippo"
    assert shipment["address_to"]["zip"] == "94105"
    assert shipment["parcels"] == [
        {
            "length": "30",
            "width": "20",
            "height": "10",
            "distance_unit": "cm",
            "weight": "1000",
            "mass_unit": "g",
        }
    ]
    assert shipment["metadata"] == "R-2002"
    assert shipment["async"] is False


@respx.mock
def test_the_cheapest_rate_is_bought_and_its_cost_is_kept_in_minor_units(carrier):
    respx.post(f"{API}/shipments/").respond(201, json=_shipment())
    buy = respx.post(f"{API}/transactions/").respond(201, json=_transaction())

    result = carrier.create_return_shipment(_request())

    purchase = json.loads(buy.calls.last.request.content)
    assert purchase == {
        "rate": "rate_ground",
        "label_file_type": "PDF_4x6",
        "metadata": "R-2002",
        "async": False,
    }
    assert buy.calls.last.request.headers["authorization"] == f"ShippoToken {TOKEN}"
    assert result.tracking_number == NUMBER
    # The transaction is what Shippo refunds, so it is the shipment id kept.
    assert result.carrier_shipment_id == "915d94940ea54c3a80cbfa328722f5a1"
    assert result.carrier_label_url.endswith("70ae8117.pdf")
    assert result.carrier_label_format == "pdf"
    assert (result.cost_minor, result.cost_currency) == (550, "USD")  # 5.505 half-even
    assert result.qr_payload == NUMBER
    assert result.raw["servicelevel"] == "usps_ground_advantage"


@respx.mock
def test_a_queued_purchase_is_waited_for_by_reading_it_never_by_buying_again(carrier):
    respx.post(f"{API}/shipments/").respond(201, json=_shipment())
    buy = respx.post(f"{API}/transactions/").respond(201, json=_transaction("QUEUED"))
    read = respx.get(f"{API}/transactions/915d94940ea54c3a80cbfa328722f5a1").mock(
        side_effect=[
            httpx.Response(200, json=_transaction("QUEUED")),
            httpx.Response(200, json=_transaction("SUCCESS")),
        ]
    )

    result = carrier.create_return_shipment(_request())

    assert buy.call_count == 1
    assert read.call_count == 2
    assert result.tracking_number == NUMBER


@respx.mock
def test_a_purchase_still_queued_after_the_wait_is_reported_not_repeated(carrier):
    respx.post(f"{API}/shipments/").respond(201, json=_shipment())
    buy = respx.post(f"{API}/transactions/").respond(201, json=_transaction("QUEUED"))
    respx.get(f"{API}/transactions/915d94940ea54c3a80cbfa328722f5a1").respond(
        200, json=_transaction("QUEUED")
    )

    with pytest.raises(CarrierError) as pending:
        carrier.create_return_shipment(_request())

    assert buy.call_count == 1
    assert pending.value.code == "label_pending"
    assert pending.value.retryable is False


@respx.mock
def test_a_failed_purchase_is_refused_with_shippos_messages(carrier):
    respx.post(f"{API}/shipments/").respond(201, json=_shipment())
    failed = _transaction(
        "ERROR", messages=[{"source": "USPS", "code": "", "text": "Invalid zip code"}]
    )
    respx.post(f"{API}/transactions/").respond(201, json=failed)

    with pytest.raises(CarrierError) as refused:
        carrier.create_return_shipment(_request())

    assert refused.value.code == "label_failed"
    assert "USPS: Invalid zip code" in refused.value.message


@respx.mock
def test_a_shipment_without_rates_is_refused(carrier):
    answer = _shipment(rates=[])
    answer["messages"] = [{"source": "UPS", "text": "Service unavailable for this route"}]
    respx.post(f"{API}/shipments/").respond(201, json=answer)

    with pytest.raises(CarrierError) as refused:
        carrier.create_return_shipment(_request())

    assert refused.value.code == "no_rates"
    assert "UPS: Service unavailable" in refused.value.message


@respx.mock
def test_the_accounts_carrier_accounts_are_rate_shopped_when_set():
    carrier = ShippoCarrier({"api_token": TOKEN, "carrier_accounts": "acc_1,acc_2"})
    create = respx.post(f"{API}/shipments/").respond(201, json=_shipment())
    respx.post(f"{API}/transactions/").respond(201, json=_transaction())

    carrier.create_return_shipment(_request())

    assert json.loads(create.calls.last.request.content)["carrier_accounts"] == ["acc_1", "acc_2"]


def test_calls_without_an_api_token_are_refused_before_reaching_shippo():
    with pytest.raises(CarrierError) as refused:
        ShippoCarrier({}).create_return_shipment(_request())
    assert refused.value.code == "not_configured"


def test_the_adapter_registry_builds_shippo_by_its_code():
    built = build_carrier("shippo", {"api_token": TOKEN})
    assert isinstance(built, ShippoCarrier)
    assert (built.supports_pickup, built.supports_webhooks, built.supports_paperless) == (
        False,
        True,
        False,
    )


# -- cancelling a label -----------------------------------------------------------------------


@respx.mock
def test_cancelling_a_label_asks_shippo_to_refund_its_transaction(carrier):
    refund = respx.post(f"{API}/refunds/").respond(
        201, json={"object_id": "ref_1", "status": "QUEUED", "transaction": "txn_1"}
    )

    carrier.cancel_shipment(tracking_number=NUMBER, carrier_shipment_id="txn_1")

    assert json.loads(refund.calls.last.request.content) == {"transaction": "txn_1", "async": False}


@respx.mock
def test_a_refused_refund_is_an_error(carrier):
    respx.post(f"{API}/refunds/").respond(201, json={"object_id": "ref_1", "status": "ERROR"})

    with pytest.raises(CarrierError) as refused:
        carrier.cancel_shipment(tracking_number=NUMBER, carrier_shipment_id="txn_1")
    assert refused.value.code == "refund_rejected"


# -- pickups ----------------------------------------------------------------------------------


def test_shippo_offers_no_pickups_so_none_are_booked_or_cancelled(carrier):
    slot = PickupSlot(
        start=datetime(2025, 6, 3, 16, tzinfo=UTC), end=datetime(2025, 6, 3, 19, tzinfo=UTC)
    )
    assert carrier.pickup_slots(address=SHOPPER, day=date(2025, 6, 3)) == []
    with pytest.raises(CarrierError) as refused:
        carrier.schedule_pickup(
            PickupRequest(
                reference="R-2002",
                tracking_number=NUMBER,
                carrier_shipment_id="txn_1",
                address=SHOPPER,
                slot=slot,
                parcel=Parcel(),
            )
        )
    assert refused.value.code == "unsupported"
    with pytest.raises(CarrierError) as refused:
        carrier.cancel_pickup(confirmation="anything")
    assert refused.value.code == "unsupported"


# -- tracking ---------------------------------------------------------------------------------


@respx.mock
def test_tracking_asks_for_the_track_as_the_recorded_client_did(carrier):
    recorded, answer = _cassette("test_get_status")
    route = respx.get(recorded["uri"]).respond(200, json=answer)

    carrier.fetch_tracking(tracking_number=NUMBER)

    sent = route.calls.last.request
    assert sent.method == recorded["method"] == "GET"
    assert str(sent.url) == recorded["uri"]
    assert sent.headers["authorization"] == f"ShippoToken {TOKEN}"


@respx.mock
def test_the_recorded_usps_history_maps_to_eleven_scans_ending_delivered(carrier):
    recorded, answer = _cassette("test_get_status")
    respx.get(recorded["uri"]).respond(200, json=answer)

    updates = carrier.fetch_tracking(tracking_number=NUMBER)

    assert [u.status for u in updates] == [
        # "awaiting the item": Shippo says UNKNOWN until USPS has the parcel.
        TrackingStatus.LABEL_CREATED,
        TrackingStatus.LABEL_CREATED,
        # "accepted at the USPS origin facility": the earliest TRANSIT.
        TrackingStatus.FIRST_SCAN,
        *[TrackingStatus.IN_TRANSIT] * 7,  # incl. "out for delivery", sent without a substatus
        TrackingStatus.DELIVERED,
    ]
    accepted = updates[2]
    assert accepted.occurred_at == datetime(2016, 12, 7, 19, 4, tzinfo=UTC)
    assert accepted.carrier_status == "TRANSIT"
    assert accepted.description == "Your shipment has been accepted at the USPS origin facility."
    assert accepted.location == "San Francisco, CA, 94103, US"
    assert updates[0].location == ""  # Shippo gave no place
    assert updates[-1].occurred_at == datetime(2016, 12, 8, 15, 19, tzinfo=UTC)
    assert {u.tracking_number for u in updates} == {NUMBER}
    assert all(u.occurred_at.tzinfo is UTC for u in updates)


@respx.mock
def test_a_number_written_carrier_colon_number_names_its_own_carrier():
    carrier = ShippoCarrier({"api_token": TOKEN})  # no default carrier
    _, answer = _cassette("test_get_status")
    route = respx.get(f"{API}/tracks/usps/{NUMBER}").respond(200, json=answer)

    updates = carrier.fetch_tracking(tracking_number=f"usps:{NUMBER}")

    assert route.call_count == 1
    assert updates[0].tracking_number == NUMBER


def test_tracking_without_a_carrier_is_refused_before_reaching_shippo():
    with pytest.raises(CarrierError) as refused:
        ShippoCarrier({"api_token": TOKEN}).fetch_tracking(tracking_number=NUMBER)
    assert refused.value.code == "not_configured"


# -- webhooks: reading ------------------------------------------------------------------------


def test_a_track_updated_event_carries_the_tracks_scans(carrier):
    _, track = _cassette("test_get_status")

    event = carrier.parse_webhook(body=_track_updated(track))

    assert event.kind == "track_updated"
    assert event.tracking_number == NUMBER
    assert event.reference == "metadata"  # the track's metadata, as registered
    assert event.event_id.startswith("shippo:")
    assert len(event.updates) == 11
    assert event.updates[2].status == TrackingStatus.FIRST_SCAN
    assert event.updates[-1].status == TrackingStatus.DELIVERED


def test_the_same_track_delivered_twice_with_different_ids_gives_identical_scans(carrier):
    # Shippo answered the same track twice, a second apart, with every record id renewed.
    _, first = _cassette("test_create")
    _, second = _cassette("test_get_status")
    assert first["tracking_history"][0]["object_id"] != second["tracking_history"][0]["object_id"]

    one = carrier.parse_webhook(body=_track_updated(first))
    other = carrier.parse_webhook(body=_track_updated(second))

    assert one.event_id != other.event_id  # two deliveries, both stored raw …
    assert one.updates == other.updates  # … whose scans are the same, so they store once


def test_the_same_scan_written_with_another_time_notation_is_the_same_scan(carrier):
    _, track = _cassette("test_get_status")
    rewritten = json.loads(json.dumps(track))
    for entry in rewritten["tracking_history"]:
        # "2016-12-07T19:04:00Z" as "2016-12-07T19:04:00.000+00:00"
        entry["status_date"] = entry["status_date"].replace("Z", ".000+00:00")

    one = carrier.parse_webhook(body=_track_updated(track))
    other = carrier.parse_webhook(body=_track_updated(rewritten))

    assert one.updates == other.updates


def test_the_very_same_delivery_twice_has_the_same_event_id(carrier):
    _, track = _cassette("test_get_status")
    body = _track_updated(track)
    spaced = json.dumps(json.loads(body), indent=2).encode()  # same JSON, other whitespace

    assert carrier.parse_webhook(body=body).event_id == carrier.parse_webhook(body=spaced).event_id


def test_a_current_status_newer_than_the_history_is_a_scan_too(carrier):
    _, track = _cassette("test_get_status")
    track["tracking_history"] = track["tracking_history"][:3]

    updates = carrier.parse_webhook(body=_track_updated(track)).updates

    assert [u.status for u in updates] == [
        TrackingStatus.LABEL_CREATED,
        TrackingStatus.LABEL_CREATED,
        TrackingStatus.FIRST_SCAN,
        TrackingStatus.DELIVERED,  # tracking_status
    ]


def test_a_track_shippo_knows_nothing_of_yet_has_no_scans(carrier):
    track = {
        "carrier": "usps",
        "tracking_number": NUMBER,
        "tracking_status": {"status": "UNKNOWN", "status_date": None, "status_details": ""},
        "tracking_history": [],
    }

    event = carrier.parse_webhook(body=_track_updated(track))

    assert event.updates == []


def test_an_event_other_than_track_updated_carries_no_scans(carrier):
    body = json.dumps(
        {"event": "transaction_created", "test": True, "data": {"tracking_number": NUMBER}}
    ).encode()

    event = carrier.parse_webhook(body=body)

    assert (event.kind, event.tracking_number, event.updates) == ("transaction_created", NUMBER, [])


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b'"track_updated"',
        b'{"event": "track_updated"}',
        b'{"event": "track_updated", "data": {"tracking_history": []}}',
        b'{"event": "track_updated", "data": {"tracking_number": "1",'
        b' "tracking_history": [{"status": "TRANSIT", "status_date": "soon"}]}}',
        b'{"event": "track_updated", "data": {"tracking_number": "1",'
        b' "tracking_history": "everything"}}',
    ],
)
def test_an_unreadable_event_is_malformed(carrier, body):
    with pytest.raises(MalformedWebhook):
        carrier.parse_webhook(body=body)


# -- webhooks: signature ----------------------------------------------------------------------


def test_a_delivery_signed_with_the_accounts_secret_is_accepted(carrier):
    body = _track_updated(_cassette("test_get_status")[1])

    carrier.verify_webhook(headers=_sign(body), body=body)


def test_a_body_with_one_byte_changed_is_rejected(carrier):
    body = _track_updated(_cassette("test_get_status")[1])
    tampered = body.replace(b"DELIVERED", b"DELIVERES", 1)
    assert len(tampered) == len(body) and tampered != body

    with pytest.raises(WebhookRejected) as rejected:
        carrier.verify_webhook(headers=_sign(body), body=tampered)
    assert rejected.value.reason == "signature does not match"


def test_a_delivery_signed_with_another_secret_is_rejected(carrier):
    body = _track_updated(_cassette("test_get_status")[1])

    with pytest.raises(WebhookRejected):
        carrier.verify_webhook(headers=_sign(body, secret="someone-else"), body=body)


def test_a_delivery_without_the_signature_header_is_rejected(carrier):
    with pytest.raises(WebhookRejected) as rejected:
        carrier.verify_webhook(headers={}, body=b"{}")
    assert "missing" in rejected.value.reason


@pytest.mark.parametrize("header", ["v1=abc", "t=1700000000", "t=soon,v1=abc", "garbage"])
def test_a_malformed_signature_header_is_rejected(carrier, header):
    with pytest.raises(WebhookRejected):
        carrier.verify_webhook(headers={"shippo-auth-signature": header}, body=b"{}")


def test_a_delivery_signed_longer_ago_than_the_tolerance_is_rejected(carrier):
    body = _track_updated(_cassette("test_get_status")[1])

    with pytest.raises(WebhookRejected) as rejected:
        carrier.verify_webhook(headers=_sign(body, stamp=NOW - 301), body=body)
    assert "tolerance" in rejected.value.reason
    carrier.verify_webhook(headers=_sign(body, stamp=NOW - 299), body=body)


def test_a_second_signature_during_a_secret_rotation_is_tried_too(carrier):
    body = b'{"event": "track_updated"}'
    signed = _sign(body)["shippo-auth-signature"]
    rotated = signed.replace("v1=", "v1=" + "0" * 64 + ",v1=")

    carrier.verify_webhook(headers={"shippo-auth-signature": rotated}, body=body)


def test_an_account_without_a_webhook_secret_rejects_every_delivery():
    body = b'{"event": "track_updated"}'
    with pytest.raises(WebhookRejected):
        ShippoCarrier({"api_token": TOKEN}, clock=lambda: float(NOW)).verify_webhook(
            headers=_sign(body), body=body
        )


# -- status mapping ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "substatus", "awda"),
    [
        ("UNKNOWN", "", TrackingStatus.LABEL_CREATED),
        ("PRE_TRANSIT", "information_received", TrackingStatus.LABEL_CREATED),
        ("TRANSIT", "", TrackingStatus.IN_TRANSIT),
        ("TRANSIT", "package_accepted", TrackingStatus.IN_TRANSIT),
        ("TRANSIT", "package_departed", TrackingStatus.IN_TRANSIT),
        ("TRANSIT", "delayed", TrackingStatus.IN_TRANSIT),
        ("TRANSIT", "out_for_delivery", TrackingStatus.OUT_FOR_DELIVERY),
        ("TRANSIT", "pickup_available", TrackingStatus.OUT_FOR_DELIVERY),
        ("TRANSIT", "delivery_attempted", TrackingStatus.EXCEPTION),
        ("TRANSIT", "address_issue", TrackingStatus.EXCEPTION),
        ("TRANSIT", "package_damaged", TrackingStatus.EXCEPTION),
        ("TRANSIT", "return_to_sender", TrackingStatus.RETURNED_TO_SENDER),
        ("DELIVERED", "delivered", TrackingStatus.DELIVERED),
        ("RETURNED", "return_to_sender", TrackingStatus.RETURNED_TO_SENDER),
        ("FAILURE", "package_lost", TrackingStatus.EXCEPTION),
        ("FAILURE", "", TrackingStatus.EXCEPTION),
        ("SOMETHING_NEW", "", TrackingStatus.LABEL_CREATED),
    ],
)
def test_shippo_statuses_and_substatuses_map_to_awdas(status, substatus, awda):
    assert status_for(status, substatus) == awda


def test_the_earliest_in_transit_scan_is_the_first_scan_even_when_listed_later(carrier):
    track = {
        "tracking_number": "1Z",
        "tracking_history": [
            {"status": "TRANSIT", "status_date": "2024-05-02T10:00:00Z", "status_details": "b"},
            {
                "status": "TRANSIT",
                "substatus": {"code": "package_accepted", "text": "", "action_required": False},
                "status_date": "2024-05-01T10:00:00Z",
                "status_details": "a",
            },
        ],
    }

    updates = carrier.parse_webhook(body=_track_updated(track)).updates

    assert [(u.description, u.status) for u in updates] == [
        ("b", TrackingStatus.IN_TRANSIT),
        ("a", TrackingStatus.FIRST_SCAN),
    ]
    assert updates[1].carrier_status == "TRANSIT:package_accepted"


# -- HTTP failures ------------------------------------------------------------------------------


@respx.mock
def test_a_read_answered_503_is_retried_until_it_succeeds(carrier):
    _, answer = _cassette("test_get_status")
    route = respx.get(f"{API}/tracks/usps/{NUMBER}").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=answer)]
    )

    updates = carrier.fetch_tracking(tracking_number=NUMBER)

    assert route.call_count == 2
    assert len(updates) == 11


@respx.mock
def test_a_purchase_answered_503_is_not_repeated_and_may_be_tried_again_later(carrier):
    respx.post(f"{API}/shipments/").respond(201, json=_shipment())
    buy = respx.post(f"{API}/transactions/").respond(503)

    with pytest.raises(CarrierError) as failed:
        carrier.create_return_shipment(_request())

    assert buy.call_count == 1
    assert failed.value.retryable is True


@respx.mock
def test_a_422_is_a_carrier_error_in_shippos_words(carrier):
    respx.post(f"{API}/shipments/").respond(
        422, json={"detail": "address_to: The zip code is invalid."}
    )

    with pytest.raises(CarrierError) as refused:
        carrier.create_return_shipment(_request())

    assert refused.value.message == "HTTP 422: address_to: The zip code is invalid."
    assert refused.value.retryable is False


@respx.mock
def test_a_shippo_that_does_not_answer_is_unreachable(carrier):
    respx.get(f"{API}/tracks/usps/{NUMBER}").mock(side_effect=httpx.ReadTimeout("timed out"))

    with pytest.raises(CarrierError) as failed:
        carrier.fetch_tracking(tracking_number=NUMBER)

    assert failed.value.code == "unreachable"
    assert failed.value.retryable is True
