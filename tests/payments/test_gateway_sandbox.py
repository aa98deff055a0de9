"""The sandbox gateway: offline, deterministic, and able to play every outcome the payments
services must handle (success, refusal, a lost answer, a refund that settles later)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from awda.payments.gateways import build_gateway
from awda.payments.gateways.base import (
    GatewayError,
    MalformedWebhook,
    PaymentLinkRequest,
    RefundRequest,
    RefundStatus,
    WebhookRejected,
)
from awda.payments.gateways.sandbox import (
    SIGNATURE_HEADER,
    SandboxGateway,
    refund_id_for,
    reset_sandbox,
)

NOW = 1_750_000_000.0
SECRET = "sbx_whsec_test"


@pytest.fixture(autouse=True)
def _empty_sandbox() -> Iterator[None]:
    reset_sandbox()
    yield
    reset_sandbox()


@pytest.fixture
def gateway() -> SandboxGateway:
    return SandboxGateway({"webhook_secret": SECRET})


def _request(reference: str = "pay_123", **kw: Any) -> RefundRequest:
    fields: dict[str, Any] = {
        "payment_reference": reference,
        "amount_minor": 24050,
        "currency": "SAR",
        "idempotency_key": "res-1-attempt-1",
        "reason": "Return R-1001",
        "metadata": {"return_number": "R-1001"},
    }
    fields.update(kw)
    return RefundRequest(**fields)


# -- refunds --------------------------------------------------------------------------------


def test_a_refund_succeeds_at_once_with_an_id_derived_from_its_key(gateway):
    result = gateway.refund(_request())

    assert result.status == RefundStatus.SUCCEEDED
    assert result.refund_id == refund_id_for("pay_123", "res-1-attempt-1")
    assert result.refund_id.startswith("sbx_re_")
    assert (result.amount_minor, result.currency, result.payment_reference) == (
        24050,
        "SAR",
        "pay_123",
    )


def test_repeating_a_refund_with_the_same_key_returns_the_same_refund(gateway):
    first = gateway.refund(_request())
    again = SandboxGateway({}).refund(_request())

    assert again == first


def test_another_key_for_the_same_payment_is_another_refund(gateway):
    first = gateway.refund(_request())
    second = gateway.refund(_request(idempotency_key="res-2-attempt-1"))

    assert second.refund_id != first.refund_id


def test_a_key_reused_for_another_amount_is_refused_as_stripe_does(gateway):
    gateway.refund(_request())

    with pytest.raises(GatewayError) as refused:
        gateway.refund(_request(amount_minor=100))

    assert refused.value.code == "idempotency_error"
    assert refused.value.retryable is False


def test_a_payment_reference_starting_pay_fail_is_declined_and_nothing_is_refunded(gateway):
    with pytest.raises(GatewayError) as refused:
        gateway.refund(_request("pay_fail_card"))

    assert refused.value.code == "card_declined"
    assert refused.value.retryable is False
    assert "declined" in refused.value.message
    assert (
        gateway.find_refund(payment_reference="pay_fail_card", idempotency_key="res-1-attempt-1")
        is None
    )


def test_a_timed_out_refund_still_happens_and_find_refund_finds_it(gateway):
    with pytest.raises(GatewayError) as lost:
        gateway.refund(_request("pay_timeout_1"))

    assert (lost.value.code, lost.value.retryable) == ("unreachable", True)
    found = SandboxGateway({}).find_refund(
        payment_reference="pay_timeout_1", idempotency_key="res-1-attempt-1"
    )
    assert found is not None
    assert found.status == RefundStatus.SUCCEEDED
    assert found.amount_minor == 24050


def test_retrying_a_timed_out_refund_with_its_key_returns_the_refund_made_the_first_time(
    gateway,
):
    with pytest.raises(GatewayError):
        gateway.refund(_request("pay_timeout_1"))

    replayed = gateway.refund(_request("pay_timeout_1"))

    assert replayed.refund_id == refund_id_for("pay_timeout_1", "res-1-attempt-1")


def test_a_refund_nobody_asked_for_is_not_found(gateway):
    assert gateway.find_refund(payment_reference="pay_123", idempotency_key="never") is None


def test_a_pending_refund_stays_pending_until_the_sandbox_settles_it(gateway):
    pending = gateway.refund(_request("pay_pending_1"))
    assert pending.status == RefundStatus.PENDING
    assert gateway.fetch_refund(refund_id=pending.refund_id).status == RefundStatus.PENDING

    gateway.settle_refund(refund_id=pending.refund_id, status=RefundStatus.SUCCEEDED)

    assert gateway.fetch_refund(refund_id=pending.refund_id).status == RefundStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("outcome", "status"),
    [("succeeded", RefundStatus.SUCCEEDED), ("pending", RefundStatus.PENDING)],
)
def test_the_refund_outcome_setting_applies_to_every_payment_of_the_account(outcome, status):
    assert SandboxGateway({"refund_outcome": outcome}).refund(_request()).status == status


def test_the_refund_outcome_setting_can_make_every_refund_fail():
    with pytest.raises(GatewayError) as refused:
        SandboxGateway({"refund_outcome": "fail"}).refund(_request())
    assert refused.value.code == "card_declined"


def test_an_unknown_refund_outcome_setting_is_a_configuration_error():
    with pytest.raises(GatewayError) as refused:
        SandboxGateway({"refund_outcome": "maybe"})
    assert refused.value.code == "not_configured"


def test_fetching_a_refund_the_sandbox_never_made_is_not_found(gateway):
    with pytest.raises(GatewayError) as missing:
        gateway.fetch_refund(refund_id="sbx_re_nope")
    assert missing.value.code == "not_found"


def test_a_refund_of_nothing_is_refused_before_anything_happens(gateway):
    with pytest.raises(GatewayError) as refused:
        gateway.refund(_request(amount_minor=0))
    assert refused.value.code == "invalid_amount"


def test_the_registry_builds_the_sandbox_by_its_code():
    built = build_gateway("sandbox", {})
    assert isinstance(built, SandboxGateway)
    assert built.supports_payment_links is True


# -- payment links ------------------------------------------------------------------------------


def test_a_payment_link_points_at_the_sandbox_pay_page_and_is_stable_for_its_key(gateway):
    request = PaymentLinkRequest(
        amount_minor=4550,
        currency="SAR",
        description="Price difference",
        reference="X-77",
        idempotency_key="x-77-link",
    )

    link = gateway.create_payment_link(request)

    assert link.url == f"https://sandbox.awda.invalid/pay/{link.link_id}"
    assert gateway.create_payment_link(request) == link


# -- webhooks -------------------------------------------------------------------------------


def test_a_webhook_the_sandbox_built_verifies_and_reads_back_the_refund(gateway):
    refund = gateway.settle_refund(
        refund_id=gateway.refund(_request("pay_pending_1")).refund_id,
        status=RefundStatus.FAILED,
        failure_message="Issuer reversed the refund",
    )
    headers, body = gateway.build_webhook(refund=refund, now=NOW)

    gateway.verify_webhook(headers=headers, body=body, now=NOW + 10)
    event = gateway.parse_webhook(body=body)

    assert event.kind == "refund.updated"
    assert event.refund is not None
    assert event.refund.refund_id == refund.refund_id
    assert event.refund.status == RefundStatus.FAILED
    assert event.refund.failure_message == "Issuer reversed the refund"
    assert event.refund.amount_minor == 24050


def test_the_same_fact_always_gets_the_same_event_id(gateway):
    refund = gateway.refund(_request())
    _, first = gateway.build_webhook(refund=refund, now=NOW)
    _, again = gateway.build_webhook(refund=refund, now=NOW + 60)

    assert gateway.parse_webhook(body=first).event_id == gateway.parse_webhook(body=again).event_id


def test_a_paid_link_webhook_names_the_link(gateway):
    headers, body = gateway.build_webhook(paid_link_id="sbx_link_abc", now=NOW)

    gateway.verify_webhook(headers=headers, body=body, now=NOW)
    event = gateway.parse_webhook(body=body)

    assert (event.kind, event.paid_link_id, event.refund) == (
        "payment_link.paid",
        "sbx_link_abc",
        None,
    )


def test_a_tampered_webhook_body_is_rejected(gateway):
    headers, body = gateway.build_webhook(paid_link_id="sbx_link_abc", now=NOW)

    with pytest.raises(WebhookRejected) as rejected:
        gateway.verify_webhook(
            headers=headers, body=body.replace(b"sbx_link_abc", b"sbx_link_abd"), now=NOW
        )
    assert rejected.value.reason == "signature does not match"


def test_a_webhook_signed_longer_ago_than_the_tolerance_is_rejected(gateway):
    headers, body = gateway.build_webhook(paid_link_id="sbx_link_abc", now=NOW)

    with pytest.raises(WebhookRejected) as rejected:
        gateway.verify_webhook(headers=headers, body=body, now=NOW + 301)
    assert "tolerance" in rejected.value.reason


def test_a_webhook_without_a_signature_is_rejected(gateway):
    _, body = gateway.build_webhook(paid_link_id="sbx_link_abc", now=NOW)

    with pytest.raises(WebhookRejected):
        gateway.verify_webhook(headers={}, body=body, now=NOW)


def test_a_webhook_signed_with_another_accounts_secret_is_rejected():
    headers, body = SandboxGateway({"webhook_secret": "other"}).build_webhook(
        paid_link_id="sbx_link_abc", now=NOW
    )

    with pytest.raises(WebhookRejected):
        SandboxGateway({"webhook_secret": SECRET}).verify_webhook(
            headers=headers, body=body, now=NOW
        )
    assert SIGNATURE_HEADER in headers


def test_an_account_without_a_webhook_secret_rejects_every_delivery():
    headers, body = SandboxGateway({"webhook_secret": SECRET}).build_webhook(
        paid_link_id="sbx_link_abc", now=NOW
    )
    with pytest.raises(WebhookRejected):
        SandboxGateway({}).verify_webhook(headers=headers, body=body, now=NOW)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"type": "refund.updated"}',
        b'{"id": "e1", "type": "refund.updated", "refund": {"id": "r", "status": "lost"}}',
        json.dumps(
            {
                "id": "e1",
                "type": "refund.updated",
                "refund": {
                    "id": "r",
                    "status": "succeeded",
                    "amount_minor": "10",
                    "currency": "SAR",
                },
            }
        ).encode(),
        b'{"id": "e1", "type": "payment_link.paid"}',
    ],
)
def test_an_unreadable_sandbox_event_is_malformed(gateway, body):
    with pytest.raises(MalformedWebhook):
        gateway.parse_webhook(body=body)


def test_a_signature_header_with_stray_characters_is_rejected_not_a_crash(gateway):
    _, body = gateway.build_webhook(paid_link_id="sbx_link_abc", now=NOW)

    with pytest.raises(WebhookRejected):
        gateway.verify_webhook(headers={SIGNATURE_HEADER: f"t={int(NOW)},v1=é"}, body=body, now=NOW)
