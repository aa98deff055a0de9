"""The Tap adapter against payloads written from Tap's documentation
(tests/fixtures/gateways/tap, see its README).

HTTP is mocked with respx; every test asserts the request Tap would have received.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from awda.payments.gateways import build_gateway
from awda.payments.gateways.base import (
    GatewayError,
    MalformedWebhook,
    PaymentLinkRequest,
    RefundRequest,
    RefundStatus,
    WebhookRejected,
)
from awda.payments.gateways.tap import (
    TapGateway,
    hashstring,
    minor_from_tap,
    status_for,
    tap_amount,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gateways" / "tap"
API = "https://api.tap.company/v2"
CHARGE = "chg_TS07A2720250911Lb4w0909301"
REFUND = "re_TS05A3720251519Zq2h0909457"
NOW = 1_745_940_000.0  # 2025-04-29T15:20:00Z
SIGNED = json.loads((FIXTURES / "hashstrings.json").read_text(encoding="utf-8"))
SECRET_KEY = SIGNED["secret_key"]


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _webhook(name: str) -> tuple[bytes, str]:
    """A webhook body as Tap POSTs it, with the hashstring computed for it by hand."""
    return (FIXTURES / name).read_bytes().rstrip(b"\n"), SIGNED["webhooks"][name]["hashstring"]


@pytest.fixture
def gateway() -> TapGateway:
    return TapGateway(
        {"secret_key": SECRET_KEY, "post_url": "https://shop.example/hooks/tap"},
        sleep=lambda seconds: None,
        clock=lambda: NOW,
    )


def _request(**kw: Any) -> RefundRequest:
    fields: dict[str, Any] = {
        "payment_reference": CHARGE,
        "amount_minor": 1235,  # KWD 1.235
        "currency": "KWD",
        "idempotency_key": "ret-1001-refund-1",
        "reason": "Return R-1001",
        "metadata": {"return_number": "R-1001"},
    }
    fields.update(kw)
    return RefundRequest(**fields)


# -- refunds --------------------------------------------------------------------------------


@respx.mock
def test_a_refund_is_posted_with_the_amount_as_an_exact_decimal_in_the_major_unit(gateway):
    create = respx.post(f"{API}/refunds/").respond(200, json=_fixture("refund_pending.json"))

    result = gateway.refund(_request())

    sent = create.calls.last.request
    assert sent.method == "POST"
    assert sent.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert sent.headers["content-type"] == "application/json"
    # Tap documents no idempotency key: none is sent, so none can be trusted to dedupe.
    assert "idempotency-key" not in sent.headers
    assert b'"amount":1.235,' in sent.content  # a JSON number, written from 1235 fils
    assert json.loads(sent.content, parse_float=Decimal) == {
        "charge_id": CHARGE,
        "amount": Decimal("1.235"),
        "currency": "KWD",
        "reason": "requested_by_customer",
        "description": "Return R-1001",
        "reference": {"merchant": "ret-1001-refund-1"},
        "metadata": {"return_number": "R-1001", "awda_idempotency_key": "ret-1001-refund-1"},
        "post": {"url": "https://shop.example/hooks/tap"},
    }
    assert result.refund_id == REFUND
    assert result.status == RefundStatus.PENDING
    assert (result.amount_minor, result.currency, result.payment_reference) == (1235, "KWD", CHARGE)
    assert result.created_at is not None and result.created_at.timestamp() == 1745921954


@respx.mock
def test_a_declined_refund_carries_taps_words(gateway):
    respx.get(f"{API}/refunds/re_TS02A0120251530Kx7d0909988").respond(
        200, json=_fixture("refund_declined.json")
    )

    result = gateway.fetch_refund(refund_id="re_TS02A0120251530Kx7d0909988")

    assert result.status == RefundStatus.FAILED
    assert result.failure_message == "Declined, Insufficient balance"
    assert (result.amount_minor, result.currency) == (25000, "SAR")


@respx.mock
def test_fetching_a_refund_reads_its_new_status(gateway):
    fetch = respx.get(f"{API}/refunds/{REFUND}").respond(200, json=_fixture("refund_refunded.json"))

    result = gateway.fetch_refund(refund_id=REFUND)

    assert fetch.calls.last.request.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert result.status == RefundStatus.SUCCEEDED


@respx.mock
def test_an_unkeyed_refund_answered_503_is_not_repeated_and_may_be_reconciled_later(gateway):
    create = respx.post(f"{API}/refunds/").respond(503)

    with pytest.raises(GatewayError) as failed:
        gateway.refund(_request())

    assert create.call_count == 1
    assert (failed.value.code, failed.value.retryable) == ("http_503", True)


@respx.mock
def test_a_refund_whose_answer_never_comes_is_unreachable_and_not_sent_twice(gateway):
    create = respx.post(f"{API}/refunds/").mock(side_effect=httpx.ReadTimeout("timed out"))

    with pytest.raises(GatewayError) as failed:
        gateway.refund(_request())

    assert create.call_count == 1
    assert (failed.value.code, failed.value.retryable) == ("unreachable", True)


@respx.mock
def test_a_refusal_is_a_gateway_error_in_taps_code_and_words_and_not_retryable(gateway):
    respx.post(f"{API}/refunds/").respond(400, json=_fixture("error_refund_amount.json"))

    with pytest.raises(GatewayError) as refused:
        gateway.refund(_request())

    assert refused.value.code == "tap_1143"
    assert refused.value.message == "Refund amount exceeds the refundable amount of the charge"
    assert refused.value.retryable is False


@respx.mock
def test_a_read_answered_503_is_retried_until_it_succeeds(gateway):
    fetch = respx.get(f"{API}/refunds/{REFUND}").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, json=_fixture("refund_refunded.json")),
        ]
    )

    assert gateway.fetch_refund(refund_id=REFUND).status == RefundStatus.SUCCEEDED
    assert fetch.call_count == 2


def test_calls_without_a_secret_key_are_refused_before_reaching_tap():
    with pytest.raises(GatewayError) as refused:
        TapGateway({}).refund(_request())
    assert refused.value.code == "not_configured"


def test_the_registry_builds_tap_by_its_code():
    assert isinstance(build_gateway("tap", {"secret_key": SECRET_KEY}), TapGateway)


# -- finding a refund after a crash -------------------------------------------------------------


@respx.mock
def test_find_refund_lists_recent_refunds_and_matches_the_charge_and_the_key(gateway):
    listing = respx.post(f"{API}/refunds/list").respond(200, json=_fixture("refunds_list.json"))

    found = gateway.find_refund(payment_reference=CHARGE, idempotency_key="ret-1001-refund-1")

    # The list holds the same key on another charge and another key on this charge first.
    assert found is not None and found.refund_id == REFUND
    assert found.status == RefundStatus.SUCCEEDED
    now_ms = int(NOW * 1000)
    assert json.loads(listing.calls.last.request.content) == {
        "period": {"date": {"from": now_ms - 120 * 86_400_000, "to": now_ms + 86_400_000}},
        "limit": 50,
    }


@respx.mock
def test_find_refund_follows_the_list_pages(gateway):
    listed = _fixture("refunds_list.json")
    first_page = {**listed, "has_more": True, "refunds": listed["refunds"][:2]}
    second_page = {**listed, "refunds": listed["refunds"][2:]}
    listing = respx.post(f"{API}/refunds/list").mock(
        side_effect=[httpx.Response(200, json=first_page), httpx.Response(200, json=second_page)]
    )

    found = gateway.find_refund(payment_reference=CHARGE, idempotency_key="ret-1001-refund-1")

    assert found is not None and found.refund_id == REFUND
    assert json.loads(listing.calls[1].request.content)["starting_after"] == (
        "re_TS04A1120251410Qw8e0909002"
    )


@respx.mock
def test_find_refund_answers_none_when_no_refund_of_the_charge_has_the_key(gateway):
    respx.post(f"{API}/refunds/list").respond(200, json=_fixture("refunds_list.json"))

    assert gateway.find_refund(payment_reference=CHARGE, idempotency_key="ret-5-refund-1") is None


@respx.mock
def test_the_refund_search_is_retried_like_a_read(gateway):
    listing = respx.post(f"{API}/refunds/list").mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json=_fixture("refunds_list.json"))]
    )

    assert gateway.find_refund(payment_reference=CHARGE, idempotency_key="ret-1001-refund-1")
    assert listing.call_count == 2


# -- amounts and statuses ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "decimal"),
    [
        (1235, "KWD", "1.235"),
        (1500, "KWD", "1.500"),
        (24050, "SAR", "240.50"),
        (100, "BHD", "0.100"),
        (500, "JPY", "500"),
        (7, "OMR", "0.007"),
    ],
)
def test_amounts_go_to_tap_as_exact_decimals_in_the_major_unit(minor, currency, decimal):
    assert str(tap_amount(minor, currency)) == decimal
    assert minor_from_tap(Decimal(decimal), currency) == minor


def test_a_tap_amount_finer_than_the_currencys_minor_unit_is_unreadable():
    with pytest.raises(ValueError):
        minor_from_tap(Decimal("240.505"), "SAR")


@pytest.mark.parametrize(
    ("tap", "awda"),
    [
        ("INITIATED", RefundStatus.PENDING),
        ("PENDING", RefundStatus.PENDING),
        ("IN_PROGRESS", RefundStatus.PENDING),
        ("ACCEPTED", RefundStatus.PENDING),
        ("TIMEDOUT", RefundStatus.PENDING),
        ("UNKNOWN", RefundStatus.PENDING),
        ("REFUNDED", RefundStatus.SUCCEEDED),
        ("FAILED", RefundStatus.FAILED),
        ("DECLINED", RefundStatus.FAILED),
        ("RESTRICTED", RefundStatus.FAILED),
        ("RESTRICRTED", RefundStatus.FAILED),
        ("CANCELLED", RefundStatus.CANCELLED),
        ("refunded", RefundStatus.SUCCEEDED),
        ("SOMETHING_NEW", RefundStatus.PENDING),
    ],
)
def test_tap_refund_statuses_map_to_awdas(tap, awda):
    assert status_for(tap) == awda


# -- payment links ------------------------------------------------------------------------------


@respx.mock
def test_a_payment_link_is_an_undispatched_tap_invoice_in_pay_mode(gateway):
    create = respx.post(f"{API}/invoices/").respond(200, json=_fixture("invoice_created.json"))

    link = gateway.create_payment_link(
        PaymentLinkRequest(
            amount_minor=4550,
            currency="SAR",
            description="Price difference for exchange X-77",
            reference="X-77",
            customer_email="shopper@example.com",
            customer_phone="+966 50 123 4567",
            success_url="https://shop.example/returns/X-77/paid",
            idempotency_key="x-77-link",
        )
    )

    sent = json.loads(create.calls.last.request.content, parse_float=Decimal)
    expiry = int(NOW * 1000) + 7 * 86_400_000
    assert (sent["draft"], sent["mode"], sent["due"], sent["expiry"]) == (
        False,
        "PAY",
        expiry,
        expiry,
    )
    assert sent["notifications"] == {"channels": [], "dispatch": False}
    assert sent["customer"] == {
        "first_name": "X-77",
        "email": "shopper@example.com",
        "phone": {"country_code": "966", "number": "501234567"},
    }
    assert sent["order"]["amount"] == Decimal("45.50")
    assert sent["order"]["items"][0]["amount"] == Decimal("45.50")
    assert sent["currencies"] == ["SAR"]
    assert sent["redirect"] == {"url": "https://shop.example/returns/X-77/paid"}
    assert sent["post"] == {"url": "https://shop.example/hooks/tap"}
    assert sent["metadata"] == {"awda_reference": "X-77", "awda_idempotency_key": "x-77-link"}
    assert link.link_id == "inv_TS01A2520251700Fg5h0909555"
    assert link.url == "https://tap.company/invoices/inv_TS01A2520251700Fg5h0909555"


def test_a_payment_link_for_a_shopper_tap_cannot_reach_is_refused(gateway):
    with pytest.raises(GatewayError) as refused:
        gateway.create_payment_link(
            PaymentLinkRequest(amount_minor=4550, currency="SAR", description="d", reference="X")
        )
    assert refused.value.code == "invalid_request"


# -- webhooks: hashstring --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["webhook_charge_captured.json", "webhook_refund_refunded.json", "webhook_invoice_paid.json"],
)
def test_the_hashstring_follows_taps_documented_formula(gateway, name):
    body, posted = _webhook(name)

    assert hashstring(json.loads(body, parse_float=Decimal), SECRET_KEY) == posted
    gateway.verify_webhook(headers={"hashstring": posted}, body=body)


def test_an_amount_is_signed_with_the_currencys_decimals_not_as_the_json_writes_it(gateway):
    body, posted = _webhook("webhook_invoice_paid.json")
    assert b'"amount":45.5,' in body  # signed as 45.50

    gateway.verify_webhook(headers={"hashstring": posted.upper()}, body=body)


def test_a_refund_webhook_with_its_status_changed_is_rejected(gateway):
    body, posted = _webhook("webhook_refund_refunded.json")
    tampered = body.replace(b'"status":"REFUNDED"', b'"status":"FAILED"')
    assert tampered != body

    with pytest.raises(WebhookRejected) as rejected:
        gateway.verify_webhook(headers={"hashstring": posted}, body=tampered)
    assert rejected.value.reason == "signature does not match"


def test_a_webhook_with_its_amount_changed_is_rejected(gateway):
    body, posted = _webhook("webhook_charge_captured.json")

    with pytest.raises(WebhookRejected):
        gateway.verify_webhook(
            headers={"hashstring": posted}, body=body.replace(b'"amount":1.500', b'"amount":9.500')
        )


def test_a_webhook_without_a_hashstring_is_rejected(gateway):
    body, _ = _webhook("webhook_refund_refunded.json")

    with pytest.raises(WebhookRejected) as rejected:
        gateway.verify_webhook(headers={}, body=body)
    assert "missing" in rejected.value.reason


def test_a_webhook_signed_with_another_key_is_rejected():
    body, posted = _webhook("webhook_refund_refunded.json")

    with pytest.raises(WebhookRejected):
        TapGateway({"secret_key": "sk_test_other"}).verify_webhook(
            headers={"hashstring": posted}, body=body
        )


def test_a_body_that_is_not_json_cannot_be_verified(gateway):
    with pytest.raises(WebhookRejected):
        gateway.verify_webhook(headers={"hashstring": "00"}, body=b"not json")


def test_an_account_without_a_secret_key_rejects_every_delivery():
    body, posted = _webhook("webhook_refund_refunded.json")
    with pytest.raises(WebhookRejected):
        TapGateway({}).verify_webhook(headers={"hashstring": posted}, body=body)


# -- webhooks: reading ------------------------------------------------------------------------


def test_a_refund_webhook_carries_the_refunds_new_state(gateway):
    body, _ = _webhook("webhook_refund_refunded.json")

    event = gateway.parse_webhook(body=body)

    assert event.event_id == f"{REFUND}:REFUNDED"
    assert event.kind == "refund.refunded"
    assert event.refund is not None
    assert (event.refund.refund_id, event.refund.status) == (REFUND, RefundStatus.SUCCEEDED)
    assert (event.refund.amount_minor, event.refund.currency) == (1235, "KWD")
    assert event.refund.raw["amount"] == "1.235"


def test_a_paid_invoice_webhook_names_the_paid_link(gateway):
    body, _ = _webhook("webhook_invoice_paid.json")

    event = gateway.parse_webhook(body=body)

    assert (event.kind, event.paid_link_id) == ("invoice.paid", "inv_TS01A2520251700Fg5h0909555")


def test_a_charge_webhook_is_acknowledged_with_nothing_to_do(gateway):
    body, _ = _webhook("webhook_charge_captured.json")

    event = gateway.parse_webhook(body=body)

    assert (event.kind, event.refund, event.paid_link_id) == ("charge.captured", None, "")


def test_the_same_object_in_the_same_state_is_the_same_event(gateway):
    body, _ = _webhook("webhook_refund_refunded.json")
    resent = json.loads(body)
    resent["response"]["message"] = "Refunded (resent)"

    first = gateway.parse_webhook(body=body)
    again = gateway.parse_webhook(body=json.dumps(resent).encode())

    assert first.event_id == again.event_id


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        [],
        {"object": "refund", "status": "REFUNDED"},
        {"id": "re_1", "object": "refund"},
        {"id": "re_1", "object": "refund", "status": "REFUNDED", "currency": "KWD"},
        {
            "id": "re_1",
            "object": "refund",
            "status": "REFUNDED",
            "currency": "KWD",
            "amount": 1.2345,
        },
    ],
)
def test_an_unreadable_webhook_is_malformed(gateway, payload):
    body = (
        payload.encode()
        if isinstance(payload, str)
        else json.dumps(copy.deepcopy(payload)).encode()
    )

    with pytest.raises(MalformedWebhook):
        gateway.parse_webhook(body=body)


def test_a_hashstring_with_stray_characters_is_rejected_not_a_crash(gateway):
    body, _ = _webhook("webhook_refund_refunded.json")

    with pytest.raises(WebhookRejected):
        gateway.verify_webhook(headers={"hashstring": "é" * 64}, body=body)
