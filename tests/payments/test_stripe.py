"""The Stripe adapter against Stripe's own example objects (stripe-mock's fixtures3.json).

HTTP is mocked with respx; every test asserts the request Stripe would have received.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

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
from awda.payments.gateways.stripe import (
    StripeGateway,
    from_stripe_amount,
    status_for,
    to_stripe_amount,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "shared" / "stripe-mock"
API = "https://api.stripe.com/v1"
SECRET_KEY = "sk_test_awda"
WEBHOOK_SECRET = "whsec_awda_test"
NOW = 1_750_000_000
PI = "pi_1PgafyB7WZ01zgkWSjxsAJo3"  # resources.payment_intent
CH = "ch_1PgafuB7WZ01zgkWXYmPNZs8"  # resources.charge
RE = "re_1Pgc72B7WZ01zgkWqPvrRrPE"  # resources.refund


def _resource(name: str) -> dict[str, Any]:
    resources = json.loads((FIXTURES / "fixtures3.json").read_text(encoding="utf-8"))["resources"]
    return copy.deepcopy(resources[name])


def _refund(**changes: Any) -> dict[str, Any]:
    """Stripe's example Refund (100 usd on a charge, succeeded), with ``changes``."""
    refund = _resource("refund")
    refund.update(changes)
    return refund


def _event(kind: str, subject: dict[str, Any]) -> bytes:
    """Stripe's example Event envelope carrying ``subject`` as data.object."""
    event = _resource("event")
    event["type"] = kind
    event["data"] = {"object": subject}
    return json.dumps(event).encode()


def _signed(body: bytes, *, stamp: int = NOW, secret: str = WEBHOOK_SECRET) -> str:
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def _form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode()))


@pytest.fixture
def gateway() -> StripeGateway:
    return StripeGateway(
        {"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET},
        sleep=lambda seconds: None,
    )


def _request(reference: str = PI, **kw: Any) -> RefundRequest:
    fields: dict[str, Any] = {
        "payment_reference": reference,
        "amount_minor": 24050,
        "currency": "SAR",
        "idempotency_key": "res-7-attempt-1",
        "reason": "Return R-1001, damaged",
        "metadata": {"return_number": "R-1001"},
    }
    fields.update(kw)
    return RefundRequest(**fields)


# -- refunds --------------------------------------------------------------------------------


@respx.mock
def test_a_refund_of_a_payment_intent_is_posted_form_encoded_with_the_idempotency_key(gateway):
    answer = _refund(payment_intent=PI, amount=24050, currency="sar")
    create = respx.post(f"{API}/refunds").respond(200, json=answer)

    result = gateway.refund(_request())

    sent = create.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert sent.headers["idempotency-key"] == "res-7-attempt-1"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert _form(sent) == {
        "payment_intent": PI,
        "amount": "24050",
        "reason": "requested_by_customer",
        "metadata[return_number]": "R-1001",
        "metadata[awda_reason]": "Return R-1001, damaged",
        "metadata[awda_idempotency_key]": "res-7-attempt-1",
    }
    assert result.refund_id == RE
    assert result.status == RefundStatus.SUCCEEDED
    assert (result.amount_minor, result.currency) == (24050, "SAR")
    assert result.payment_reference == PI
    assert result.created_at is not None and result.created_at.timestamp() == 1234567890


@respx.mock
def test_a_refund_of_a_charge_names_it_as_charge(gateway):
    create = respx.post(f"{API}/refunds").respond(200, json=_refund())

    result = gateway.refund(_request(CH, currency="USD", amount_minor=100))

    form = _form(create.calls.last.request)
    assert form["charge"] == CH
    assert "payment_intent" not in form
    assert result.payment_reference == CH  # Stripe's example refund has no payment_intent


@respx.mock
def test_the_caller_metadata_cannot_overwrite_the_idempotency_key_kept_for_reconciliation(
    gateway,
):
    create = respx.post(f"{API}/refunds").respond(200, json=_refund(currency="sar"))

    gateway.refund(_request(metadata={"awda_idempotency_key": "forged"}))

    assert _form(create.calls.last.request)["metadata[awda_idempotency_key]"] == "res-7-attempt-1"


@respx.mock
def test_a_keyed_refund_answered_503_is_retried_with_the_same_key_stripe_makes_it_once(
    gateway,
):
    create = respx.post(f"{API}/refunds").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=_refund(currency="sar"))]
    )

    gateway.refund(_request())

    assert create.call_count == 2
    keys = {call.request.headers["idempotency-key"] for call in create.calls}
    assert keys == {"res-7-attempt-1"}


@respx.mock
def test_a_failed_refund_carries_stripes_failure_reason(gateway):
    respx.get(f"{API}/refunds/{RE}").respond(
        200, json=_refund(status="failed", failure_reason="expired_or_canceled_card")
    )

    result = gateway.fetch_refund(refund_id=RE)

    assert result.status == RefundStatus.FAILED
    assert result.failure_message == "expired_or_canceled_card"


@respx.mock
def test_fetching_a_refund_reads_it_by_id(gateway):
    fetch = respx.get(f"{API}/refunds/{RE}").respond(200, json=_refund(status="pending"))

    result = gateway.fetch_refund(refund_id=RE)

    assert fetch.calls.last.request.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert result.status == RefundStatus.PENDING
    assert (result.amount_minor, result.currency) == (100, "USD")


def test_a_refund_without_an_idempotency_key_is_refused_before_reaching_stripe(gateway):
    with pytest.raises(GatewayError) as refused:
        gateway.refund(_request(idempotency_key=""))
    assert refused.value.code == "invalid_request"


def test_calls_without_a_secret_key_are_refused_before_reaching_stripe():
    with pytest.raises(GatewayError) as refused:
        StripeGateway({}).refund(_request())
    assert refused.value.code == "not_configured"


def test_the_registry_builds_stripe_by_its_code():
    built = build_gateway("stripe", {"secret_key": SECRET_KEY})
    assert isinstance(built, StripeGateway)
    assert built.supports_payment_links is True


# -- finding a refund after a crash -----------------------------------------------------------


@respx.mock
def test_find_refund_lists_the_payments_refunds_and_matches_the_key_in_metadata(gateway):
    mine = _refund(
        id="re_mine", payment_intent=PI, metadata={"awda_idempotency_key": "res-7-attempt-1"}
    )
    other = _refund(id="re_other", payment_intent=PI, metadata={"awda_idempotency_key": "res-6"})
    listing = respx.get(f"{API}/refunds").respond(
        200, json={"object": "list", "data": [other, mine], "has_more": False}
    )

    found = gateway.find_refund(payment_reference=PI, idempotency_key="res-7-attempt-1")

    assert found is not None and found.refund_id == "re_mine"
    assert dict(listing.calls.last.request.url.params) == {"payment_intent": PI, "limit": "100"}


@respx.mock
def test_find_refund_follows_the_list_pages_until_it_finds_the_key(gateway):
    first = _refund(id="re_a", metadata={})
    mine = _refund(id="re_b", metadata={"awda_idempotency_key": "res-7-attempt-1"})
    listing = respx.get(f"{API}/refunds").mock(
        side_effect=[
            httpx.Response(200, json={"data": [first], "has_more": True}),
            httpx.Response(200, json={"data": [mine], "has_more": False}),
        ]
    )

    found = gateway.find_refund(payment_reference=CH, idempotency_key="res-7-attempt-1")

    assert found is not None and found.refund_id == "re_b"
    assert listing.calls[0].request.url.params["charge"] == CH
    assert listing.calls[1].request.url.params["starting_after"] == "re_a"


@respx.mock
def test_find_refund_answers_none_when_no_refund_carries_the_key(gateway):
    respx.get(f"{API}/refunds").respond(
        200, json={"data": [_refund(metadata={"awda_idempotency_key": "res-6"})], "has_more": False}
    )

    assert gateway.find_refund(payment_reference=PI, idempotency_key="res-7-attempt-1") is None


# -- amounts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "stripe"),
    [
        (24050, "SAR", 24050),  # SAR 240.50: hundredths both ways
        (1230, "KWD", 1230),  # KWD 1.230: thousandths, ending in 0
        (1000, "bhd", 1000),  # BHD 1.000
        (500, "JPY", 500),  # JPY 500: zero-decimal
        (500, "ISK", 50000),  # ISK 500: no decimals in ISO, two in Stripe's API
        (1, "USD", 1),
    ],
)
def test_amounts_are_sent_in_stripes_smallest_unit_exactly(minor, currency, stripe):
    assert to_stripe_amount(minor, currency) == stripe
    assert from_stripe_amount(stripe, currency) == minor


@pytest.mark.parametrize(("minor", "currency"), [(1235, "KWD"), (1, "OMR"), (12345, "JOD")])
def test_a_three_decimal_amount_not_ending_in_0_is_refused_not_rounded(minor, currency):
    with pytest.raises(GatewayError) as refused:
        to_stripe_amount(minor, currency)
    assert refused.value.code == "amount_not_supported"
    assert refused.value.retryable is False


@respx.mock
def test_a_kwd_refund_stripe_cant_take_exactly_never_reaches_stripe(gateway):
    create = respx.post(f"{API}/refunds").respond(200, json=_refund())

    with pytest.raises(GatewayError) as refused:
        gateway.refund(_request(amount_minor=1235, currency="KWD"))  # KWD 1.235

    assert refused.value.code == "amount_not_supported"
    assert create.call_count == 0


def test_a_stripe_amount_that_is_not_a_whole_number_of_minor_units_is_unreadable():
    with pytest.raises(ValueError):
        from_stripe_amount(50050, "ISK")  # ISK 500.50


# -- statuses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stripe", "awda"),
    [
        ("pending", RefundStatus.PENDING),
        ("requires_action", RefundStatus.PENDING),
        ("succeeded", RefundStatus.SUCCEEDED),
        ("failed", RefundStatus.FAILED),
        ("canceled", RefundStatus.CANCELLED),
        ("something_new", RefundStatus.PENDING),
    ],
)
def test_stripe_refund_statuses_map_to_awdas(stripe, awda):
    assert status_for(stripe) == awda


# -- errors ---------------------------------------------------------------------------------


def _stripe_error(code: str | None, message: str, kind: str = "invalid_request_error") -> dict:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code:
        error["code"] = code
    return {"error": error}


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("charge_already_refunded", "Charge ch_1 has already been refunded."),
        (
            "amount_too_large",
            "Refund amount (SAR 300.00) is greater than unrefunded amount on charge (SAR 240.50)",
        ),
    ],
)
@respx.mock
def test_a_refusal_is_a_gateway_error_in_stripes_code_and_words_and_not_retryable(
    gateway, code, message
):
    create = respx.post(f"{API}/refunds").respond(400, json=_stripe_error(code, message))

    with pytest.raises(GatewayError) as refused:
        gateway.refund(_request())

    assert (refused.value.code, refused.value.message) == (code, message)
    assert refused.value.retryable is False
    assert create.call_count == 1


@respx.mock
def test_a_key_still_in_flight_at_stripe_may_be_tried_again(gateway):
    respx.post(f"{API}/refunds").respond(
        409,
        json=_stripe_error(
            "idempotency_key_in_use",
            "There is currently another in-progress request using this Stripe token",
        ),
    )

    with pytest.raises(GatewayError) as conflict:
        gateway.refund(_request())

    assert conflict.value.retryable is True


@respx.mock
def test_an_error_without_a_code_carries_stripes_error_type(gateway):
    respx.get(f"{API}/refunds/{RE}").respond(
        401,
        json={
            "error": {
                "type": "invalid_request_error",
                "message": "Invalid API Key provided: sk_test_****awda",
            }
        },
    )

    with pytest.raises(GatewayError) as refused:
        gateway.fetch_refund(refund_id=RE)

    assert refused.value.code == "invalid_request_error"
    assert refused.value.message.startswith("Invalid API Key")


@respx.mock
def test_a_read_answered_503_is_retried_until_it_succeeds(gateway):
    fetch = respx.get(f"{API}/refunds/{RE}").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=_refund())]
    )

    assert gateway.fetch_refund(refund_id=RE).refund_id == RE
    assert fetch.call_count == 2


@respx.mock
def test_an_unkeyed_create_answered_503_is_not_repeated_and_may_be_tried_again_later(gateway):
    create = respx.post(f"{API}/checkout/sessions").respond(
        503, json=_stripe_error(None, "busy", "api_error")
    )

    with pytest.raises(GatewayError) as failed:
        gateway.create_payment_link(
            PaymentLinkRequest(amount_minor=4550, currency="SAR", description="d", reference="X-77")
        )

    assert create.call_count == 1
    assert "idempotency-key" not in create.calls.last.request.headers
    assert (failed.value.code, failed.value.retryable) == ("http_503", True)


@respx.mock
def test_a_stripe_that_does_not_answer_is_unreachable_and_retryable(gateway):
    respx.get(f"{API}/refunds/{RE}").mock(side_effect=httpx.ConnectTimeout("timed out"))

    with pytest.raises(GatewayError) as failed:
        gateway.fetch_refund(refund_id=RE)

    assert (failed.value.code, failed.value.retryable) == ("unreachable", True)


# -- payment links ---------------------------------------------------------------------------


@respx.mock
def test_a_payment_link_is_a_checkout_session_for_the_price_difference(gateway):
    session = _resource("checkout.session")
    create = respx.post(f"{API}/checkout/sessions").respond(200, json=session)

    link = gateway.create_payment_link(
        PaymentLinkRequest(
            amount_minor=4550,
            currency="SAR",
            description="Price difference for exchange X-77",
            reference="X-77",
            customer_email="shopper@example.com",
            success_url="https://shop.example/paid",
            idempotency_key="x-77-link",
        )
    )

    sent = create.calls.last.request
    assert sent.headers["idempotency-key"] == "x-77-link"
    assert _form(sent) == {
        "mode": "payment",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "sar",
        "line_items[0][price_data][unit_amount]": "4550",
        "line_items[0][price_data][product_data][name]": "Price difference for exchange X-77",
        "client_reference_id": "X-77",
        "metadata[awda_reference]": "X-77",
        "payment_intent_data[metadata][awda_reference]": "X-77",
        "success_url": "https://shop.example/paid",
        "customer_email": "shopper@example.com",
    }
    assert link.link_id == session["id"]
    assert link.url == session["url"]


# -- webhooks: signature ----------------------------------------------------------------------


def test_a_webhook_signed_with_the_endpoint_secret_verifies(gateway):
    body = _event("refund.updated", _refund())

    gateway.verify_webhook(headers={"stripe-signature": _signed(body)}, body=body, now=NOW + 5)


def test_any_of_several_v1_signatures_may_match_during_a_secret_roll(gateway):
    body = _event("refund.updated", _refund())
    old = _signed(body, secret="whsec_old").split(",")[1]

    gateway.verify_webhook(
        headers={"stripe-signature": f"{_signed(body)},{old},v0=legacy"}, body=body, now=NOW
    )
    gateway.verify_webhook(
        headers={"stripe-signature": f"t={NOW},{old},{_signed(body).split(',')[1]}"},
        body=body,
        now=NOW,
    )


def test_a_body_with_one_byte_changed_is_rejected(gateway):
    body = _event("refund.updated", _refund())
    tampered = body.replace(b'"amount": 100', b'"amount": 900')
    assert tampered != body

    with pytest.raises(WebhookRejected) as rejected:
        gateway.verify_webhook(headers={"stripe-signature": _signed(body)}, body=tampered, now=NOW)
    assert rejected.value.reason == "signature does not match"


def test_a_signature_older_than_five_minutes_is_rejected(gateway):
    body = _event("refund.updated", _refund())

    with pytest.raises(WebhookRejected) as rejected:
        gateway.verify_webhook(
            headers={"stripe-signature": _signed(body)}, body=body, now=NOW + 301
        )
    assert "tolerance" in rejected.value.reason


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", f"t={NOW}", f"v1={'0' * 64}"])
def test_a_missing_or_malformed_signature_header_is_rejected(gateway, header):
    body = _event("refund.updated", _refund())

    with pytest.raises(WebhookRejected):
        gateway.verify_webhook(headers={"stripe-signature": header}, body=body, now=NOW)


def test_an_account_without_a_webhook_secret_rejects_every_delivery():
    body = _event("refund.updated", _refund())

    with pytest.raises(WebhookRejected):
        StripeGateway({"secret_key": SECRET_KEY}).verify_webhook(
            headers={"stripe-signature": _signed(body)}, body=body, now=NOW
        )


# -- webhooks: reading -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["refund.created", "refund.updated", "refund.failed"])
def test_a_refund_event_carries_the_refunds_new_state(gateway, kind):
    event = gateway.parse_webhook(
        body=_event(kind, _refund(status="failed", failure_reason="declined"))
    )

    assert event.event_id == "evt_1Pgc76B7WZ01zgkWwyRHS12y"
    assert event.kind == kind
    assert event.refund is not None
    assert (event.refund.refund_id, event.refund.status) == (RE, RefundStatus.FAILED)
    assert event.refund.failure_message == "declined"


def test_a_charge_refunded_event_without_embedded_refunds_names_no_refund(gateway):
    # Stripe's example Charge: refunds.data is empty, as charges are sent since 2022-11-15.
    event = gateway.parse_webhook(body=_event("charge.refunded", _resource("charge")))

    assert (event.kind, event.refund) == ("charge.refunded", None)


def test_a_charge_refunded_event_carries_its_latest_refund_when_embedded(gateway):
    charge = _resource("charge")
    charge["refunds"]["data"] = [
        _refund(id="re_old", created=1000),
        _refund(id="re_new", created=2000, amount=50),
    ]

    event = gateway.parse_webhook(body=_event("charge.refunded", charge))

    assert event.refund is not None
    assert (event.refund.refund_id, event.refund.amount_minor) == ("re_new", 50)


def test_a_completed_checkout_session_names_the_paid_link(gateway):
    session = _resource("checkout.session")
    session["payment_status"] = "paid"

    event = gateway.parse_webhook(body=_event("checkout.session.completed", session))

    assert event.paid_link_id == session["id"]


def test_a_completed_session_paid_by_a_delayed_method_is_not_paid_yet(gateway):
    session = _resource("checkout.session")  # payment_status "unpaid" in Stripe's example

    unpaid = gateway.parse_webhook(body=_event("checkout.session.completed", session))
    later = gateway.parse_webhook(body=_event("checkout.session.async_payment_succeeded", session))

    assert unpaid.paid_link_id == ""
    assert later.paid_link_id == session["id"]


def test_an_event_about_something_else_is_acknowledged_with_nothing_to_do(gateway):
    event = gateway.parse_webhook(
        body=_event("payment_intent.succeeded", _resource("payment_intent"))
    )

    assert (event.kind, event.refund, event.paid_link_id) == ("payment_intent.succeeded", None, "")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"type": "refund.updated", "data": {"object": {}}}',
        b'{"id": "evt_1", "type": "refund.updated"}',
        b'{"id": "evt_1", "type": "refund.updated", "data": {"object": {"id": "re_1"}}}',
        b'{"id": "evt_1", "type": "refund.updated", "data": {"object":'
        b' {"id": "re_1", "amount": "100", "currency": "usd"}}}',
        b'{"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {}}}',
    ],
)
def test_an_unreadable_event_is_malformed(gateway, body):
    with pytest.raises(MalformedWebhook):
        gateway.parse_webhook(body=body)


@pytest.mark.parametrize("header", [f"t={NOW},v1=é{'0' * 63}", "t=²³,v1=00"])
def test_a_signature_header_with_stray_characters_is_rejected_not_a_crash(gateway, header):
    body = _event("refund.updated", _refund())

    with pytest.raises(WebhookRejected):
        gateway.verify_webhook(headers={"stripe-signature": header}, body=body, now=NOW)


def test_a_currency_nobody_knows_is_refused_before_reaching_stripe():
    with pytest.raises(GatewayError) as refused:
        to_stripe_amount(100, "XQQ")
    assert refused.value.code == "unknown_currency"
