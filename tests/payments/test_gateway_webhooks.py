"""Gateways post their events to ``/hooks/payments/<public id>/``: verified first, stored raw
once under the gateway's event id, then a job applies them — a paid payment link releases its
exchange's held replacement, exactly once, however often the gateway retries.

Stripe's events are built from stripe-mock's example Event and Checkout Session
(fixtures/shared/stripe-mock), Moyasar's is the recorded one in fixtures/gateways/moyasar.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import respx
from django.test import Client

from awda import tasks
from awda.core import clock
from awda.core.models import Event
from awda.exchanges import services as exchanges
from awda.exchanges.models import Exchange, ExchangePayment, ExchangeStatus, PaymentStatus
from awda.orders.models import Order, OrderKind, Payment, ReplacementStatus
from awda.payments import services as payments
from awda.payments.gateways import sandbox as sandbox_gateway
from awda.payments.gateways.sandbox import SandboxGateway
from awda.payments.models import GatewayAccount, GatewayWebhook
from awda.shipping import services as shipping
from tests import factories
from tests.exchanges.helpers import deliver, exchange, policy, shop, tee_order

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
STRIPE = "https://api.stripe.com/v1"
WHSEC = "whsec_awda_hooks"


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox_gateway.reset_sandbox()
    yield
    sandbox_gateway.reset_sandbox()


def _stripe_resource(name: str) -> dict[str, Any]:
    data = json.loads((FIXTURES / "shared/stripe-mock/fixtures3.json").read_text(encoding="utf-8"))
    return copy.deepcopy(data["resources"][name])


def _session_event(kind: str, *, event_id: str, payment_status: str = "paid") -> bytes:
    """Stripe's example Event carrying its example Checkout Session (the link Awda made)."""
    session = _stripe_resource("checkout.session")
    session.update(payment_status=payment_status, status="complete")
    event = _stripe_resource("event")
    event.update(id=event_id, type=kind, data={"object": session})
    return json.dumps(event).encode()


def _stripe_signed(body: bytes, *, secret: str = WHSEC, stamp: int | None = None) -> dict:
    stamp = int(time.time()) if stamp is None else stamp
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={mac}"}


def _post(public_id: str, body: bytes, headers: dict[str, str] | None = None):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
    return Client().post(
        f"/hooks/payments/{public_id}/", data=body, content_type="application/json", **extra
    )


def _stripe_shop() -> tuple[factories.Merchant, GatewayAccount]:
    merchant = factories.merchant(policy=policy())
    shipping.connect_carrier(merchant=merchant, carrier="sandbox", name="Sandbox", settings={})
    account = payments.connect_gateway(
        merchant=merchant,
        gateway="stripe",
        name="Stripe",
        settings={"secret_key": "sk_test_awda", "webhook_secret": WHSEC},
    )
    return merchant, account


def _awaiting_payment(merchant) -> tuple[Exchange, ExchangePayment]:
    """A dearer replacement (TEE-XL for TEE-M: SAR 60.00 more), its link sent, held."""
    ret = exchange(merchant, tee_order(merchant), "TEE-XL")
    factories.run_jobs()
    deliver(ret)
    ex = Exchange.objects.get(return_id=ret.pk)
    assert ex.status == ExchangeStatus.AWAITING_PAYMENT
    payment = ExchangePayment.objects.get(exchange=ex)
    assert payment.status == PaymentStatus.SENT
    return ex, payment


def _replacement() -> Order:
    return Order.objects.get(kind=OrderKind.REPLACEMENT)


def _process_all() -> list[str]:
    return [
        exchanges.process_payment_webhook(webhook_id=pk)
        for pk in GatewayWebhook.objects.order_by("pk").values_list("pk", flat=True)
    ]


# -- Stripe ---------------------------------------------------------------------------------------


def test_stripes_paid_checkout_session_releases_the_held_replacement_once():
    merchant, account = _stripe_shop()
    session = _stripe_resource("checkout.session")
    with respx.mock:
        created = respx.post(f"{STRIPE}/checkout/sessions").respond(200, json=session)
        ex, payment = _awaiting_payment(merchant)
    assert created.call_count == 1
    assert payment.link_id == session["id"] and payment.url == session["url"]
    body = _session_event("checkout.session.completed", event_id="evt_paid_1")

    first = _post(account.public_id, body, _stripe_signed(body))
    retried = _post(account.public_id, body, _stripe_signed(body))  # Stripe's retry

    assert (first.status_code, first.json()) == (202, {"code": "accepted"})
    assert (retried.status_code, retried.json()) == (200, {"code": "duplicate"})
    stored = GatewayWebhook.objects.get()
    assert (stored.event_id, stored.merchant_id, stored.body) == (
        "evt_paid_1", merchant.pk, body.decode(),
    )  # fmt: skip
    assert stored.processed_at is None  # answered first, applied by the job

    assert _process_all() == [f"paid: {session['id']}"]
    assert exchanges.process_payment_webhook(webhook_id=stored.pk) == "done"  # a replayed job
    factories.run_jobs()

    ex.refresh_from_db()
    payment.refresh_from_db()
    assert ex.status == ExchangeStatus.ISSUED and payment.status == PaymentStatus.PAID
    assert _replacement().replacement_status == ReplacementStatus.READY
    assert Event.objects.filter(name="ExchangeDifferencePaid").count() == 1
    stored.refresh_from_db()
    assert stored.processed_at is not None and stored.outcome == f"paid: {session['id']}"


def test_a_second_event_about_the_same_paid_session_pays_nothing_twice():
    merchant, account = _stripe_shop()
    with respx.mock:
        respx.post(f"{STRIPE}/checkout/sessions").respond(
            200, json=_stripe_resource("checkout.session")
        )
        _awaiting_payment(merchant)
    # A delayed payment method: "completed" (unpaid) first, then "async_payment_succeeded";
    # a store may also subscribe to both and get "completed" paid plus the async one.
    for event_id, kind in (
        ("evt_a", "checkout.session.completed"),
        ("evt_b", "checkout.session.async_payment_succeeded"),
    ):
        body = _session_event(kind, event_id=event_id)
        assert _post(account.public_id, body, _stripe_signed(body)).status_code == 202

    outcomes = _process_all()
    factories.run_jobs()

    assert outcomes[0].startswith("paid: ") and outcomes[1].startswith("paid: ")
    assert Event.objects.filter(name="ExchangeDifferencePaid").count() == 1
    assert ExchangePayment.objects.get().status == PaymentStatus.PAID


def test_a_completed_session_not_yet_paid_is_kept_and_changes_nothing():
    merchant, account = _stripe_shop()
    with respx.mock:
        respx.post(f"{STRIPE}/checkout/sessions").respond(
            200, json=_stripe_resource("checkout.session")
        )
        ex, _payment = _awaiting_payment(merchant)
    body = _session_event(
        "checkout.session.completed", event_id="evt_unpaid", payment_status="unpaid"
    )

    assert _post(account.public_id, body, _stripe_signed(body)).status_code == 202
    assert _process_all() == ["ignored: checkout.session.completed"]

    ex.refresh_from_db()
    assert ex.status == ExchangeStatus.AWAITING_PAYMENT
    assert _replacement().replacement_status == ReplacementStatus.HELD


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no signature header at all
        {"Stripe-Signature": "t=1,v1=00"},  # stale and wrong
        "other-secret",  # signed, with a secret that is not this endpoint's
        "tampered",  # signed, then one byte of the body changed
    ],
)
def test_an_unsigned_or_tampered_delivery_is_refused_and_nothing_is_stored(headers):
    _merchant, account = _stripe_shop()
    body = _session_event("checkout.session.completed", event_id="evt_x")
    if headers == "other-secret":
        headers = _stripe_signed(body, secret="whsec_someone_else")
    elif headers == "tampered":
        headers = _stripe_signed(body)
        body = body.replace(b'"paid"', b'"PAID"', 1)

    response = _post(account.public_id, body, headers)

    assert response.status_code == 401
    assert response.json()["code"] == "rejected"
    assert not GatewayWebhook.objects.exists()


def test_a_signed_body_that_is_not_json_is_a_400_saying_so_and_nothing_is_stored():
    _merchant, account = _stripe_shop()
    body = b'{"id": "evt_1", "type": "checkout.session.completed",'

    response = _post(account.public_id, body, _stripe_signed(body))

    assert response.status_code == 400
    assert response.json()["code"] == "malformed"
    assert "not JSON" in response.json()["detail"]
    assert not GatewayWebhook.objects.exists()


def test_an_unknown_account_is_404_and_only_post_is_allowed():
    _merchant, account = _stripe_shop()
    body = _session_event("checkout.session.completed", event_id="evt_1")

    assert _post("no-such-account", body, _stripe_signed(body)).status_code == 404
    assert Client().get(f"/hooks/payments/{account.public_id}/").status_code == 405
    assert not GatewayWebhook.objects.exists()


def test_a_stored_delivery_is_queued_once_committed(django_capture_on_commit_callbacks, settings):
    settings.AWDA_GATEWAY_WEBHOOK_ENQUEUE = f"{__name__}._record_enqueue"
    _RECORDED.clear()
    _merchant, account = _stripe_shop()
    body = _session_event("checkout.session.completed", event_id="evt_q")

    with django_capture_on_commit_callbacks(execute=True):
        assert _post(account.public_id, body, _stripe_signed(body)).status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(account.public_id, body, _stripe_signed(body)).status_code == 200

    assert [GatewayWebhook.objects.get().pk] == _RECORDED  # the repeat queued nothing


_RECORDED: list[int] = []


def _record_enqueue(webhook_id: int) -> None:
    _RECORDED.append(webhook_id)


def test_the_sweep_finds_deliveries_whose_job_was_lost():
    _merchant, account = _stripe_shop()
    body = _session_event("payment_intent.succeeded", event_id="evt_lost")
    assert _post(account.public_id, body, _stripe_signed(body)).status_code == 202
    stored = GatewayWebhook.objects.get()
    assert payments.pending_gateway_webhook_ids(older_than_seconds=60) == []  # just arrived

    with clock.frozen_at(clock.now() + timedelta(minutes=2)):
        assert payments.pending_gateway_webhook_ids(older_than_seconds=60) == [stored.pk]
        tasks.process_gateway_webhook.call_local(stored.pk)
        assert payments.pending_gateway_webhook_ids(older_than_seconds=60) == []
    stored.refresh_from_db()
    assert stored.outcome == "ignored: payment_intent.succeeded"


# -- the sandbox and Moyasar take the same path ---------------------------------------------------


def test_the_sandboxs_signed_paid_link_event_pays_the_exchange_through_the_endpoint():
    merchant = shop()
    ex, payment = _awaiting_payment(merchant)
    account = GatewayAccount.objects.get(merchant=merchant, gateway="sandbox")
    headers, body = SandboxGateway(json.loads(account.settings)).build_webhook(
        paid_link_id=payment.link_id, paid_card_last4="4242"
    )

    assert _post(account.public_id, body, headers).status_code == 202
    assert _post(account.public_id, body, headers).status_code == 200
    assert _process_all() == [f"paid: {payment.link_id}"]
    factories.run_jobs()

    ex.refresh_from_db()
    assert ex.status == ExchangeStatus.ISSUED
    assert Event.objects.filter(name="ExchangeDifferencePaid").count() == 1
    assert Payment.objects.get(order=_replacement()).card_last4 == "4242"


def test_a_paid_link_no_exchange_made_is_kept_with_the_reason():
    merchant = shop()
    account = GatewayAccount.objects.get(merchant=merchant, gateway="sandbox")
    headers, body = SandboxGateway(json.loads(account.settings)).build_webhook(
        paid_link_id="sbx_link_someone_elses"
    )

    assert _post(account.public_id, body, headers).status_code == 202
    assert _process_all() == ["unknown link sbx_link_someone_elses"]


def test_moyasars_recorded_paid_invoice_event_pays_the_exchange_whose_link_it_was():
    merchant = shop()
    ex, payment = _awaiting_payment(merchant)
    body = (FIXTURES / "gateways/moyasar/webhook_payment_paid_invoice.json").read_bytes().strip()
    recorded = json.loads(body)
    # As if Moyasar had made the link: its invoice is what the shopper paid.
    ExchangePayment.objects.filter(pk=payment.pk).update(
        gateway="moyasar", link_id=recorded["data"]["invoice_id"]
    )
    account = payments.connect_gateway(
        merchant=merchant,
        gateway="moyasar",
        name="Moyasar",
        settings={"secret_key": "sk_test_x", "webhook_secret": recorded["secret_token"]},
    )

    assert _post(account.public_id, body).status_code == 202
    forged = body.replace(recorded["secret_token"].encode(), b"guessed-token")
    assert _post(account.public_id, forged).status_code == 401
    assert _process_all() == [f"paid: {recorded['data']['invoice_id']}"]

    ex.refresh_from_db()
    assert ex.status == ExchangeStatus.ISSUED
    # The card Moyasar shows masked ("4111-11XX-XXXX-1111") is kept on the replacement's payment.
    assert Payment.objects.get(order=_replacement()).card_last4 == "1111"


def test_every_gateway_account_gets_its_own_public_id_and_the_sandbox_a_secret():
    merchant = factories.merchant()
    first = payments.connect_gateway(merchant=merchant, gateway="sandbox", name="A", settings={})
    second = payments.connect_gateway(merchant=merchant, gateway="sandbox", name="B", settings={})

    assert first.public_id and second.public_id and first.public_id != second.public_id
    assert json.loads(second.settings)["webhook_secret"]
