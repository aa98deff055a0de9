"""Refunds reconciled against the gateways' own records: what finished there is settled once,
what disagrees with our record goes to review with the gateway's words and is counted."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from django.test import Client

from awda import tasks
from awda.core import clock
from awda.core.models import Event
from awda.core.money import Money
from awda.exchanges import services as exchanges
from awda.orders.models import Payment
from awda.payments import services
from awda.payments.gateways import sandbox
from awda.payments.gateways.base import GatewayError
from awda.payments.gateways.base import RefundStatus as GatewayStatus
from awda.payments.models import GatewayAccount, GatewayWebhook, Refund, RefundStatus
from awda.returns.reports import money_report
from tests import factories

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "shared" / "stripe-mock"
API = "https://api.stripe.com/v1"
PI = "pi_1PgafyB7WZ01zgkWSjxsAJo3"  # stripe-mock's resources.payment_intent


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox.reset_sandbox()
    yield
    sandbox.reset_sandbox()


def _refund(merchant, *, amount: int = 10000, key: str = "k", **gateway_settings: str) -> Refund:
    """A refund reserved on a fresh order of ``merchant`` and sent once to the sandbox."""
    if not GatewayAccount.objects.filter(
        merchant=merchant, gateway="sandbox", active=True
    ).exists():
        services.connect_gateway(
            merchant=merchant, gateway="sandbox", name="Sandbox", settings=gateway_settings
        )
    order = factories.order(merchant, lines=[factories.line("1", quantity=1, price=20000)])
    (refund,) = services.request_refund(
        merchant=merchant, order_id=order.pk, amount=Money(amount, "SAR"),
        idempotency_key=key, reference=f"R-{key}",
    )  # fmt: skip
    try:
        return services.execute_refund(refund_id=refund.pk)
    except GatewayError:  # the ``timeout`` outcome: refunded, the answer lost
        return Refund.objects.get(pk=refund.pk)


def _at_sandbox(refund: Refund) -> sandbox.RefundResult:
    (result,) = [r for r in sandbox._refunds.values() if r.refund_id == refund.gateway_refund_id]
    return result


def _rewrite_at_sandbox(refund: Refund, **changes: Any) -> None:
    """What the gateway did on its own since (a reversal, another amount)."""
    for slot, result in sandbox._refunds.items():
        if result.refund_id == refund.gateway_refund_id:
            sandbox._refunds[slot] = dataclasses.replace(result, **changes)


def _issued() -> int:
    return Event.objects.filter(name="RefundIssued").count()


def _refunded_on_payment(refund: Refund) -> int:
    return Payment.objects.get(pk=refund.payment_id).refunded_minor


# -- the sandbox gateway ------------------------------------------------------------------------


def test_a_refund_pending_at_the_gateway_that_succeeded_since_is_settled_once(merchant):
    refund = _refund(merchant, refund_outcome="pending")
    assert refund.status == RefundStatus.SENT and refund.gateway_refund_id
    sandbox.SandboxGateway({}).settle_refund(
        refund_id=refund.gateway_refund_id, status=GatewayStatus.SUCCEEDED
    )

    first = services.reconcile_refunds(merchant=merchant)
    again = services.reconcile_refunds(merchant=merchant)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and refund.settled_at is not None
    assert (first.checked, first.settled, first.mismatches) == (1, 1, 0)
    assert (again.checked, again.settled, again.mismatches) == (1, 0, 0)  # now it agrees
    assert _issued() == 1


def test_a_refund_still_pending_at_the_gateway_stays_open_and_unclaimed(merchant):
    refund = _refund(merchant, refund_outcome="pending")

    summary = services.reconcile_refunds(merchant=merchant)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SENT and refund.claimed_until is None
    assert (summary.checked, summary.settled, summary.mismatches) == (1, 0, 0)


def test_a_pending_refund_the_gateway_refused_since_goes_to_review_the_usual_way(merchant):
    refund = _refund(merchant, refund_outcome="pending")
    sandbox.SandboxGateway({}).settle_refund(
        refund_id=refund.gateway_refund_id, status=GatewayStatus.FAILED,
        failure_message="expired_or_canceled_card",
    )  # fmt: skip

    summary = services.reconcile_refunds(merchant=merchant)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.REVIEW
    assert refund.failure_message == "expired_or_canceled_card"
    assert (summary.refused, summary.mismatches) == (1, 0)  # news, not a disagreement
    assert _refunded_on_payment(refund) == 0


def test_a_lost_answer_is_found_by_its_key_but_not_while_a_worker_holds_the_refund(merchant):
    refund = _refund(merchant, refund_outcome="timeout")  # refunded; the answer was lost
    assert refund.status == RefundStatus.SENT and not refund.gateway_refund_id
    # A worker has taken it up again and is asking the gateway right now.
    claim = clock.now() + timedelta(seconds=services.CLAIM_SECONDS)
    Refund.objects.filter(pk=refund.pk).update(claimed_until=claim)

    while_claimed = services.reconcile_refunds(merchant=merchant)
    with clock.frozen_at(claim + timedelta(seconds=1)):
        after = services.reconcile_refunds(merchant=merchant)

    assert while_claimed.checked == 0
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and refund.gateway_refund_id
    assert after.settled == 1 and len(sandbox._refunds) == 1 and _issued() == 1


def test_a_refund_we_confirmed_that_the_gateway_reversed_goes_to_review_with_its_words(merchant):
    refund = _refund(merchant)
    assert refund.status == RefundStatus.SUCCEEDED and _refunded_on_payment(refund) == 10000
    _rewrite_at_sandbox(
        refund, status=GatewayStatus.FAILED, failure_message="The card was closed (sandbox)"
    )

    summary = services.reconcile_refunds(merchant=merchant)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.REVIEW
    assert "The card was closed (sandbox)" in refund.failure_message
    assert (summary.mismatches, summary.mismatched_ids) == (1, [refund.pk])
    # The money came back to the merchant: the payment may be refunded again.
    assert _refunded_on_payment(refund) == 0
    (found,) = Event.objects.filter(name="RefundMismatchFound")
    assert found.payload["kind"] == "failed" and found.payload["amount_given_back"] is True
    assert Event.objects.filter(name="RefundNeedsReview").count() == 1


def test_a_refund_we_confirmed_that_the_gateway_has_no_record_of_goes_to_review(merchant):
    refund = _refund(merchant)
    sandbox.reset_sandbox()  # the gateway forgot it

    summary = services.reconcile_refunds(merchant=merchant)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.REVIEW and summary.mismatches == 1
    assert "No such refund" in refund.failure_message  # the sandbox's own words
    # Whether money left is not known: it stays counted, so nothing is refunded on top.
    assert _refunded_on_payment(refund) == 10000


def test_a_refund_of_another_amount_at_the_gateway_goes_to_review_with_both_amounts(merchant):
    refund = _refund(merchant)
    _rewrite_at_sandbox(refund, amount_minor=9000)

    summary = services.reconcile_refunds(merchant=merchant)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.REVIEW and summary.mismatches == 1
    assert "9000 SAR" in refund.failure_message and "10000 SAR" in refund.failure_message
    assert _refunded_on_payment(refund) == 10000


def test_refunds_that_agree_are_only_checked(merchant):
    first, second = _refund(merchant, key="a"), _refund(merchant, key="b")

    summary = services.reconcile_refunds(merchant=merchant)

    assert (summary.checked, summary.settled, summary.mismatches) == (2, 0, 0)
    assert {r.status for r in Refund.objects.filter(pk__in=[first.pk, second.pk])} == {
        RefundStatus.SUCCEEDED
    }
    assert _at_sandbox(first).amount_minor == 10000


def test_only_refunds_since_the_window_start_and_of_the_merchant_asked_for_are_checked(merchant):
    old = _refund(merchant, key="old")
    Refund.objects.filter(pk=old.pk).update(created_at=clock.now() - timedelta(days=10))
    _refund(merchant, key="new")
    other = factories.merchant()
    _refund(other, key="theirs")

    assert services.reconcile_refunds(merchant=merchant).checked == 1
    assert services.reconcile_refunds().checked == 2
    since = clock.now() - timedelta(days=30)
    assert services.reconcile_refunds(merchant=merchant, since=since).checked == 2


def test_without_an_active_account_nothing_is_concluded(merchant):
    refund = _refund(merchant)
    sandbox.reset_sandbox()
    GatewayAccount.objects.filter(merchant=merchant).update(active=False)

    summary = services.reconcile_refunds(merchant=merchant)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert (summary.checked, summary.unanswered, summary.mismatches) == (0, 1, 0)


def test_the_money_report_counts_the_mismatches_found_in_its_days(merchant, api):
    refund = _refund(merchant)
    _rewrite_at_sandbox(refund, status=GatewayStatus.CANCELLED, failure_message="")
    services.reconcile_refunds(merchant=merchant)
    today = factories.today_at(merchant)

    report = money_report(merchant=merchant, start=today, end=today)
    earlier = money_report(
        merchant=merchant, start=today - timedelta(days=7), end=today - timedelta(days=1)
    )

    assert report.gateway_mismatches == 1 and earlier.gateway_mismatches == 0
    assert report.refunds_in_review == 1
    answer = api.get(f"/reports/money?start={today}&end={today}").json()
    assert answer["gateway_mismatches"] == 1


def test_the_hourly_job_reconciles_every_merchants_refunds(merchant):
    refund = _refund(merchant, refund_outcome="pending")
    sandbox.SandboxGateway({}).settle_refund(
        refund_id=refund.gateway_refund_id, status=GatewayStatus.SUCCEEDED
    )

    tasks.reconcile_refunds.call_local()

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and _issued() == 1


# -- Stripe (HTTP mocked with respx, answers from stripe-mock's recorded Refund) ----------------


def _stripe_refund(**changes: Any) -> dict[str, Any]:
    resources = json.loads((FIXTURES / "fixtures3.json").read_text(encoding="utf-8"))["resources"]
    refund = copy.deepcopy(resources["refund"])
    refund.update(changes)
    return refund


def _stripe_merchant():
    merchant = factories.merchant()
    services.connect_gateway(
        merchant=merchant, gateway="stripe", name="Stripe", settings={"secret_key": "sk_test_x"}
    )
    order = factories.order(merchant, lines=[factories.line("1", quantity=1, price=30000)])
    Payment.objects.filter(order=order).update(gateway="stripe", reference=PI)
    (refund,) = services.request_refund(
        merchant=merchant, order_id=order.pk, amount=Money(24050, "SAR"),
        idempotency_key="ret-9", reference="R-9",
    )  # fmt: skip
    return merchant, refund


@respx.mock
def test_a_stripe_refund_we_confirmed_that_stripe_reports_failed_goes_to_review(db):
    merchant, refund = _stripe_merchant()
    respx.post(f"{API}/refunds").respond(
        200, json=_stripe_refund(id="re_9", payment_intent=PI, amount=24050, currency="sar")
    )
    assert services.execute_refund(refund_id=refund.pk).status == RefundStatus.SUCCEEDED
    fetch = respx.get(f"{API}/refunds/re_9").respond(
        200,
        json=_stripe_refund(
            id="re_9", payment_intent=PI, amount=24050, currency="sar",
            status="failed", failure_reason="expired_or_canceled_card",
        ),
    )  # fmt: skip

    summary = services.reconcile_refunds(merchant=merchant)

    assert fetch.called and summary.mismatches == 1
    refund.refresh_from_db()
    assert refund.status == RefundStatus.REVIEW
    assert "expired_or_canceled_card" in refund.failure_message
    assert _refunded_on_payment(refund) == 0


@respx.mock
def test_a_stripe_refund_whose_answer_was_lost_is_found_in_stripes_list_and_settled(db):
    merchant, refund = _stripe_merchant()
    Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.SENT)  # asked; no answer
    mine = _stripe_refund(
        id="re_mine", payment_intent=PI, amount=24050, currency="sar",
        metadata={"awda_idempotency_key": refund.idempotency_key},
    )  # fmt: skip
    listing = respx.get(f"{API}/refunds").respond(
        200, json={"object": "list", "data": [_stripe_refund(), mine], "has_more": False}
    )
    create = respx.post(f"{API}/refunds").respond(500)

    summary = services.reconcile_refunds(merchant=merchant)

    assert listing.calls.last.request.url.params["payment_intent"] == PI
    assert not create.called and summary.settled == 1
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and refund.gateway_refund_id == "re_mine"
    assert _issued() == 1


@respx.mock
def test_a_stripe_refund_stripe_has_no_record_of_goes_to_review_in_stripes_words(db):
    merchant, refund = _stripe_merchant()
    Refund.objects.filter(pk=refund.pk).update(
        status=RefundStatus.SUCCEEDED, gateway_refund_id="re_gone", settled_at=clock.now()
    )
    respx.get(f"{API}/refunds/re_gone").respond(
        404,
        json={
            "error": {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "message": "No such refund: 're_gone'",
            }
        },
    )

    summary = services.reconcile_refunds(merchant=merchant)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.REVIEW and summary.mismatches == 1
    assert "No such refund: 're_gone'" in refund.failure_message


@respx.mock
def test_a_stripe_refusal_to_answer_concludes_nothing(db):
    merchant, refund = _stripe_merchant()
    Refund.objects.filter(pk=refund.pk).update(
        status=RefundStatus.SUCCEEDED, gateway_refund_id="re_9", settled_at=clock.now()
    )
    respx.get(f"{API}/refunds/re_9").mock(
        return_value=httpx.Response(
            401,
            json={"error": {"type": "invalid_request_error", "message": "Invalid API Key"}},
        )
    )

    summary = services.reconcile_refunds(merchant=merchant)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert (summary.checked, summary.unanswered, summary.mismatches) == (1, 1, 0)


# -- a gateway's refund webhook: reconciled now, by asking the gateway ----------------------------


def _report(merchant, refund: Refund, status: GatewayStatus, message: str = "") -> str:
    """The sandbox posts its signed ``refund.updated`` to the store's endpoint; the job
    applies it. Returns what became of the delivery."""
    account = GatewayAccount.objects.get(merchant=merchant, gateway="sandbox", active=True)
    reported = sandbox.RefundResult(
        refund_id=refund.gateway_refund_id or "sbx_re_unknown",
        status=status,
        amount_minor=refund.amount_minor,
        currency=refund.currency,
        payment_reference=Payment.objects.get(pk=refund.payment_id).reference,
        failure_message=message,
    )
    headers, body = sandbox.SandboxGateway(json.loads(account.settings)).build_webhook(
        refund=reported
    )
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    answer = Client().post(
        f"/hooks/payments/{account.public_id}/",
        data=body,
        content_type="application/json",
        **extra,
    )
    assert answer.status_code in (200, 202)
    stored = GatewayWebhook.objects.order_by("-pk").first()
    assert stored is not None
    exchanges.process_payment_webhook(webhook_id=stored.pk)
    stored.refresh_from_db()
    return stored.outcome


def test_a_refund_webhook_settles_a_pending_refund_at_once_and_only_once(merchant):
    refund = _refund(merchant, refund_outcome="pending")
    sandbox.SandboxGateway({}).settle_refund(
        refund_id=refund.gateway_refund_id, status=GatewayStatus.SUCCEEDED
    )

    outcome = _report(merchant, refund, GatewayStatus.SUCCEEDED)
    _report(merchant, refund, GatewayStatus.SUCCEEDED)  # the gateway's redelivery

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert outcome.startswith(f"refund {refund.gateway_refund_id}: checked 1, settled 1")
    assert _issued() == 1
    assert GatewayWebhook.objects.count() == 1  # the redelivery was a duplicate


def test_a_refund_webhook_of_a_refusal_sends_the_refund_to_review_with_the_gateways_words(
    merchant,
):
    refund = _refund(merchant, refund_outcome="pending")
    sandbox.SandboxGateway({}).settle_refund(
        refund_id=refund.gateway_refund_id, status=GatewayStatus.FAILED,
        failure_message="expired_or_canceled_card",
    )  # fmt: skip

    assert "refused 1" in _report(merchant, refund, GatewayStatus.FAILED)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.REVIEW
    assert refund.failure_message == "expired_or_canceled_card"
    assert _refunded_on_payment(refund) == 0  # the amount went back to the payment


def test_a_refund_webhook_is_checked_with_the_gateway_not_taken_at_its_word(merchant):
    refund = _refund(merchant, refund_outcome="pending")  # still pending at the gateway

    outcome = _report(merchant, refund, GatewayStatus.SUCCEEDED)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SENT and refund.claimed_until is None
    assert "checked 1, settled 0" in outcome
    assert _issued() == 0


def test_a_refund_webhook_about_no_refund_of_ours_is_kept_with_the_reason(merchant):
    refund = _refund(merchant)  # succeeded: nothing open
    other = factories.merchant()
    services.connect_gateway(merchant=other, gateway="sandbox", name="Sandbox", settings={})

    assert _report(other, refund, GatewayStatus.FAILED).endswith("none of ours open")

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED  # another store's refund is not touched


@respx.mock
def test_stripes_signed_refund_failed_event_sends_a_confirmed_refund_to_review_at_once(db):
    merchant, refund = _stripe_merchant()
    account = GatewayAccount.objects.get(merchant=merchant, gateway="stripe")
    account.settings = json.dumps({"secret_key": "sk_test_x", "webhook_secret": "whsec_x"})
    account.save(update_fields=["settings"])
    succeeded = _stripe_refund(id="re_9", payment_intent=PI, amount=24050, currency="sar")
    respx.post(f"{API}/refunds").respond(200, json=succeeded)
    assert services.execute_refund(refund_id=refund.pk).status == RefundStatus.SUCCEEDED
    failed = {**succeeded, "status": "failed", "failure_reason": "expired_or_canceled_card"}
    fetch = respx.get(f"{API}/refunds/re_9").respond(200, json=failed)
    event = json.loads((FIXTURES / "fixtures3.json").read_text(encoding="utf-8"))["resources"][
        "event"
    ]
    event.update(id="evt_refund_failed", type="refund.updated", data={"object": failed})
    body = json.dumps(event).encode()
    stamp = int(clock.now().timestamp())
    mac = hmac.new(b"whsec_x", f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()

    answer = Client().post(
        f"/hooks/payments/{account.public_id}/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={stamp},v1={mac}",
    )
    assert answer.status_code == 202
    outcome = exchanges.process_payment_webhook(webhook_id=GatewayWebhook.objects.get().pk)

    assert fetch.called and "mismatches 1" in outcome
    refund.refresh_from_db()
    assert refund.status == RefundStatus.REVIEW
    assert "expired_or_canceled_card" in refund.failure_message
    assert _refunded_on_payment(refund) == 0
