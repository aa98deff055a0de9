"""The Moyasar adapter against payloads written from Moyasar's documentation
(tests/fixtures/gateways/moyasar, see its README).

HTTP is mocked with respx; every test asserts the request Moyasar would have received.
"""

from __future__ import annotations

import base64
import json
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
from awda.payments.gateways.moyasar import MoyasarGateway

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gateways" / "moyasar"
API = "https://api.moyasar.com/v1"
SECRET_KEY = "sk_test_awda"
TOKEN = "awda-fixture-token-7c1e"
PAYMENT = "760878ec-d1d3-5f72-9056-191683f55872"
NOW = 1_745_920_800.0  # 2025-04-29T10:00:00Z


def _fixture(name: str, **changes: Any) -> Any:
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    data.update(changes)
    return data


def _basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@pytest.fixture
def gateway() -> MoyasarGateway:
    return MoyasarGateway(
        {"secret_key": SECRET_KEY, "webhook_secret": TOKEN},
        sleep=lambda seconds: None,
        clock=lambda: NOW,
    )


def _request(**kw: Any) -> RefundRequest:
    fields: dict[str, Any] = {
        "payment_reference": PAYMENT,
        "amount_minor": 7550,  # SAR 75.50 in halalas
        "currency": "SAR",
        "idempotency_key": "ret-1001-refund-1",
        "reason": "Return R-1001",
    }
    fields.update(kw)
    return RefundRequest(**fields)


# -- refunds --------------------------------------------------------------------------------


@respx.mock
def test_a_refund_posts_the_amount_in_halalas_to_the_payments_refund_action(gateway):
    read = respx.get(f"{API}/payments/{PAYMENT}").respond(200, json=_fixture("payment_paid.json"))
    refund = respx.post(f"{API}/payments/{PAYMENT}/refund").respond(
        200, json=_fixture("payment_refunded.json")
    )

    result = gateway.refund(_request())

    sent = refund.calls.last.request
    assert sent.headers["authorization"] == _basic(SECRET_KEY)
    assert read.calls.last.request.headers["authorization"] == _basic(SECRET_KEY)
    # Moyasar documents no idempotency key for refunds: none is sent.
    assert "idempotency-key" not in sent.headers
    assert json.loads(sent.content) == {"amount": 7550}
    assert result.refund_id == f"{PAYMENT}:0:7550"
    assert result.status == RefundStatus.SUCCEEDED
    assert (result.amount_minor, result.currency, result.payment_reference) == (
        7550,
        "SAR",
        PAYMENT,
    )
    assert result.created_at is not None
    assert result.created_at.isoformat() == "2025-05-02T13:40:11.402000+00:00"


@pytest.mark.parametrize(("minor", "currency"), [(7550, "SAR"), (1235, "KWD"), (500, "JPY")])
@respx.mock
def test_amounts_go_to_moyasar_in_the_smallest_unit_unchanged(gateway, minor, currency):
    respx.get(f"{API}/payments/{PAYMENT}").respond(
        200, json=_fixture("payment_paid.json", currency=currency)
    )
    refund = respx.post(f"{API}/payments/{PAYMENT}/refund").respond(
        200, json=_fixture("payment_refunded.json", currency=currency, refunded=minor)
    )

    result = gateway.refund(_request(amount_minor=minor, currency=currency))

    assert json.loads(refund.calls.last.request.content) == {"amount": minor}
    assert result.amount_minor == minor


@respx.mock
def test_a_second_refund_is_named_by_the_refunded_totals_before_and_after_it(gateway):
    respx.get(f"{API}/payments/{PAYMENT}").respond(200, json=_fixture("payment_refunded.json"))
    respx.post(f"{API}/payments/{PAYMENT}/refund").respond(
        200, json=_fixture("payment_refunded.json", refunded=10050)
    )

    result = gateway.refund(_request(amount_minor=2500))

    assert result.refund_id == f"{PAYMENT}:7550:10050"
    assert result.amount_minor == 2500


@respx.mock
def test_a_refund_in_another_currency_than_the_payment_is_refused_before_posting(gateway):
    respx.get(f"{API}/payments/{PAYMENT}").respond(200, json=_fixture("payment_paid.json"))
    refund = respx.post(f"{API}/payments/{PAYMENT}/refund").respond(200, json={})

    with pytest.raises(GatewayError) as refused:
        gateway.refund(_request(currency="KWD"))

    assert refused.value.code == "currency_mismatch"
    assert refund.call_count == 0


@respx.mock
def test_a_refusal_is_a_gateway_error_in_moyasars_words_and_not_retryable(gateway):
    respx.get(f"{API}/payments/{PAYMENT}").respond(200, json=_fixture("payment_paid.json"))
    refund = respx.post(f"{API}/payments/{PAYMENT}/refund").respond(
        400, json=_fixture("error_refund_amount.json")
    )

    with pytest.raises(GatewayError) as refused:
        gateway.refund(_request(amount_minor=30000))

    assert refused.value.code == "invalid_request_error"
    assert refused.value.message == (
        "Validation Failed (amount: must be less than or equal to 12450)"
    )
    assert refused.value.retryable is False
    assert refund.call_count == 1


@respx.mock
def test_a_refund_whose_answer_is_lost_but_went_through_is_read_off_the_payment(gateway):
    respx.get(f"{API}/payments/{PAYMENT}").mock(
        side_effect=[
            httpx.Response(200, json=_fixture("payment_paid.json")),
            httpx.Response(200, json=_fixture("payment_refunded.json")),
        ]
    )
    refund = respx.post(f"{API}/payments/{PAYMENT}/refund").mock(
        side_effect=httpx.ReadTimeout("timed out")
    )

    result = gateway.refund(_request())

    assert refund.call_count == 1  # never sent twice
    assert (result.refund_id, result.status) == (f"{PAYMENT}:0:7550", RefundStatus.SUCCEEDED)


@respx.mock
def test_a_refund_whose_answer_is_lost_and_that_did_not_happen_stays_retryable(gateway):
    respx.get(f"{API}/payments/{PAYMENT}").respond(200, json=_fixture("payment_paid.json"))
    refund = respx.post(f"{API}/payments/{PAYMENT}/refund").respond(503)

    with pytest.raises(GatewayError) as failed:
        gateway.refund(_request())

    assert refund.call_count == 1  # an unkeyed write is not repeated
    assert (failed.value.code, failed.value.retryable) == ("http_503", True)


@respx.mock
def test_a_lost_answer_while_the_total_moved_by_another_amount_goes_to_a_person(gateway):
    respx.get(f"{API}/payments/{PAYMENT}").mock(
        side_effect=[
            httpx.Response(200, json=_fixture("payment_paid.json")),
            httpx.Response(200, json=_fixture("payment_refunded.json", refunded=9000)),
        ]
    )
    respx.post(f"{API}/payments/{PAYMENT}/refund").mock(side_effect=httpx.ReadTimeout("t"))

    with pytest.raises(GatewayError) as unclear:
        gateway.refund(_request())

    assert unclear.value.code == "ambiguous_refund"
    assert unclear.value.retryable is False


@respx.mock
def test_a_lost_answer_that_cannot_be_checked_stays_unreachable(gateway):
    respx.get(f"{API}/payments/{PAYMENT}").mock(
        side_effect=[httpx.Response(200, json=_fixture("payment_paid.json"))]
        + [httpx.ConnectTimeout("down")] * 4
    )
    respx.post(f"{API}/payments/{PAYMENT}/refund").mock(side_effect=httpx.ReadTimeout("t"))

    with pytest.raises(GatewayError) as failed:
        gateway.refund(_request())

    assert (failed.value.code, failed.value.retryable) == ("unreachable", True)


def test_calls_without_a_secret_key_are_refused_before_reaching_moyasar():
    with pytest.raises(GatewayError) as refused:
        MoyasarGateway({}).refund(_request())
    assert refused.value.code == "not_configured"


def test_the_registry_builds_moyasar_by_its_code():
    assert isinstance(build_gateway("moyasar", {"secret_key": SECRET_KEY}), MoyasarGateway)


# -- fetching and finding refunds ---------------------------------------------------------------


@respx.mock
def test_a_refund_is_fetched_by_checking_it_against_the_payments_refunded_total(gateway):
    respx.get(f"{API}/payments/{PAYMENT}").respond(200, json=_fixture("payment_refunded.json"))

    result = gateway.fetch_refund(refund_id=f"{PAYMENT}:0:7550")

    assert (result.status, result.amount_minor) == (RefundStatus.SUCCEEDED, 7550)
    assert result.created_at is not None


@respx.mock
def test_a_refund_followed_by_another_still_succeeded_but_the_time_is_the_later_ones(gateway):
    respx.get(f"{API}/payments/{PAYMENT}").respond(
        200, json=_fixture("payment_refunded.json", refunded=10050)
    )

    result = gateway.fetch_refund(refund_id=f"{PAYMENT}:0:7550")

    assert (result.status, result.amount_minor, result.created_at) == (
        RefundStatus.SUCCEEDED,
        7550,
        None,
    )


@respx.mock
def test_a_refund_the_payment_does_not_show_has_failed(gateway):
    respx.get(f"{API}/payments/{PAYMENT}").respond(200, json=_fixture("payment_paid.json"))

    result = gateway.fetch_refund(refund_id=f"{PAYMENT}:0:7550")

    assert result.status == RefundStatus.FAILED
    assert "0 refunded" in result.failure_message


def test_an_id_this_adapter_never_gave_is_not_found(gateway):
    with pytest.raises(GatewayError) as missing:
        gateway.fetch_refund(refund_id="re_123")
    assert missing.value.code == "not_found"


@respx.mock
def test_a_read_answered_503_is_retried_until_it_succeeds(gateway):
    read = respx.get(f"{API}/payments/{PAYMENT}").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, json=_fixture("payment_refunded.json")),
        ]
    )

    assert gateway.fetch_refund(refund_id=f"{PAYMENT}:0:7550").status == RefundStatus.SUCCEEDED
    assert read.call_count == 2


@respx.mock
def test_find_refund_is_sure_no_refund_was_made_when_the_payment_shows_none(gateway):
    respx.get(f"{API}/payments/{PAYMENT}").respond(200, json=_fixture("payment_paid.json"))

    assert gateway.find_refund(payment_reference=PAYMENT, idempotency_key="k") is None


@respx.mock
def test_find_refund_leaves_a_payment_with_refunds_to_a_person(gateway):
    respx.get(f"{API}/payments/{PAYMENT}").respond(200, json=_fixture("payment_refunded.json"))

    with pytest.raises(GatewayError) as unclear:
        gateway.find_refund(payment_reference=PAYMENT, idempotency_key="ret-1001-refund-1")

    assert unclear.value.code == "ambiguous_refund"
    assert unclear.value.retryable is False
    assert "7550" in unclear.value.message


@respx.mock
def test_a_moyasar_that_does_not_answer_is_unreachable(gateway):
    respx.get(f"{API}/payments/{PAYMENT}").mock(side_effect=httpx.ConnectTimeout("down"))

    with pytest.raises(GatewayError) as failed:
        gateway.find_refund(payment_reference=PAYMENT, idempotency_key="k")

    assert (failed.value.code, failed.value.retryable) == ("unreachable", True)


# -- payment links ------------------------------------------------------------------------------


@respx.mock
def test_a_payment_link_is_a_moyasar_invoice(gateway):
    create = respx.post(f"{API}/invoices").respond(201, json=_fixture("invoice_created.json"))

    link = gateway.create_payment_link(
        PaymentLinkRequest(
            amount_minor=4550,
            currency="SAR",
            description="Price difference for exchange X-77",
            reference="X-77",
            success_url="https://shop.example/returns/X-77/paid",
            idempotency_key="x-77-link",
        )
    )

    sent = create.calls.last.request
    assert sent.headers["authorization"] == _basic(SECRET_KEY)
    assert json.loads(sent.content) == {
        "amount": 4550,
        "currency": "SAR",
        "description": "Price difference for exchange X-77",
        "expired_at": "2025-05-06T10:00:00Z",
        "metadata": {"awda_reference": "X-77", "awda_idempotency_key": "x-77-link"},
        "success_url": "https://shop.example/returns/X-77/paid",
    }
    assert link.link_id == "f91065f7-d188-4ec8-8fc5-af97841ec14e"
    assert link.url.startswith("https://checkout.moyasar.com/invoices/")


# -- webhooks ---------------------------------------------------------------------------------


def _delivery(name: str) -> bytes:
    return (FIXTURES / name).read_bytes().rstrip(b"\n")


def test_a_delivery_carrying_the_accounts_secret_token_verifies(gateway):
    gateway.verify_webhook(headers={}, body=_delivery("webhook_payment_refunded.json"))


def test_a_delivery_with_another_secret_token_is_rejected(gateway):
    body = _delivery("webhook_payment_refunded.json").replace(TOKEN.encode(), b"guessed-token")

    with pytest.raises(WebhookRejected) as rejected:
        gateway.verify_webhook(headers={}, body=body)
    assert rejected.value.reason == "secret token does not match"


def test_a_delivery_without_a_secret_token_is_rejected(gateway):
    event = json.loads(_delivery("webhook_payment_refunded.json"))
    del event["secret_token"]

    with pytest.raises(WebhookRejected) as rejected:
        gateway.verify_webhook(headers={}, body=json.dumps(event).encode())
    assert "missing" in rejected.value.reason


def test_a_delivery_that_is_not_json_cannot_be_verified(gateway):
    with pytest.raises(WebhookRejected):
        gateway.verify_webhook(headers={}, body=b"secret_token=awda-fixture-token-7c1e")


def test_an_account_without_a_webhook_secret_rejects_every_delivery():
    with pytest.raises(WebhookRejected):
        MoyasarGateway({"secret_key": SECRET_KEY}).verify_webhook(
            headers={}, body=_delivery("webhook_payment_refunded.json")
        )


def test_a_paid_invoice_payment_names_the_paid_link(gateway):
    event = gateway.parse_webhook(body=_delivery("webhook_payment_paid_invoice.json"))

    assert event.event_id == "5c0f8a61-3f43-4c1c-9d0e-7b1b2b6f4a10"
    assert (event.kind, event.paid_link_id) == (
        "payment_paid",
        "f91065f7-d188-4ec8-8fc5-af97841ec14e",
    )


def test_a_payment_refunded_event_names_no_refund_of_awdas(gateway):
    # Only the running total is in it; the refund call's own answer settled the refund.
    event = gateway.parse_webhook(body=_delivery("webhook_payment_refunded.json"))

    assert (event.event_id, event.kind) == (
        "2b7a37cb-7f0d-4c8f-a2a6-3c3a9e5d8e41",
        "payment_refunded",
    )
    assert (event.refund, event.paid_link_id) == (None, "")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"type": "payment_paid", "data": {"id": "p"}}',
        b'{"id": "e1", "data": {"id": "p"}}',
        b'{"id": "e1", "type": "payment_paid"}',
        b'{"id": "e1", "type": "payment_paid", "data": {"status": "paid"}}',
    ],
)
def test_an_unreadable_event_is_malformed(gateway, body):
    with pytest.raises(MalformedWebhook):
        gateway.parse_webhook(body=body)


def test_a_secret_token_with_stray_characters_is_rejected_not_a_crash(gateway):
    event = json.loads(_delivery("webhook_payment_refunded.json"))
    event["secret_token"] = "\ud800é"

    with pytest.raises(WebhookRejected):
        gateway.verify_webhook(headers={}, body=json.dumps(event).encode())
