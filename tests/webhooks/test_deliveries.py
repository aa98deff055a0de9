"""Deliveries end to end against a real local HTTP server: one per event and subscription,
signed, retried on a growing schedule, disabled after repeated failures (with the owners'
mail over real SMTP), replayed with the same id."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from awda import tasks
from awda.core import clock, outbox
from awda.core.models import Event
from awda.merchants.models import StaffRole
from awda.merchants.services import add_staff
from awda.webhooks import rules, services
from awda.webhooks.models import Attempt, Delivery, DeliveryStatus, Subscription
from tests import factories
from tests.webhooks.snippet import documented_verifier

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def subscribe(merchant, receiver, events=("return.approved",)):
    return services.create_subscription(merchant=merchant, url=receiver.url, events=list(events))


def approved(merchant, number="R-7K3M-Q9", **extra) -> Event:
    with transaction.atomic():
        return outbox.record_event(
            "ReturnApproved",
            {"return_id": 0, "number": number, "status": "approved", "customer_id": 3, **extra},
            merchant_id=merchant.pk,
            aggregate_type="return",
            aggregate_id=0,
        )


def dispatch(event: Event) -> None:
    outbox.dispatch(str(event.pk), {event.name: [tasks.queue_webhooks]})


def test_an_event_reaches_the_endpoint_signed_with_the_subscriptions_secret(merchant, receiver):
    created = subscribe(merchant, receiver)
    event = approved(merchant)
    dispatch(event)
    delivery = Delivery.objects.get(event_id=event.pk)
    assert services.attempt_delivery(delivery_id=delivery.pk).status == DeliveryStatus.DELIVERED

    [got] = receiver.requests
    assert got.path == "/hooks/awda"
    assert got.headers["Awda-Webhook-Id"] == delivery.public_id
    assert got.headers["Awda-Webhook-Event"] == "return.approved"
    assert got.headers["Content-Type"] == "application/json"
    assert documented_verifier()(created.secret, got.headers["Awda-Signature"], got.body)
    assert got.headers["Awda-Signature"].startswith(f"t={got.headers['Awda-Webhook-Timestamp']},")
    body = json.loads(got.body)
    assert body["id"] == delivery.public_id
    assert body["type"] == "return.approved"
    assert body["data"] == {"return_number": "R-7K3M-Q9", "status": "approved"}
    assert "customer_id" not in got.body.decode()


def test_the_secret_is_stored_encrypted(merchant, receiver):
    created = subscribe(merchant, receiver)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret FROM webhooks_subscription WHERE id = %s", [created.subscription.pk]
        )
        (stored,) = cursor.fetchone()
    assert created.secret not in stored
    assert Subscription.objects.get(pk=created.subscription.pk).secret == created.secret


def test_a_replayed_handler_makes_no_second_delivery(merchant, receiver):
    subscribe(merchant, receiver)
    other = services.create_subscription(
        merchant=merchant, url=receiver.url, events=["return.approved", "refund.issued"]
    )
    event = approved(merchant)
    for _ in range(3):
        with transaction.atomic():
            services.record_deliveries(event=event)
    dispatch(event)
    assert Delivery.objects.filter(event_id=event.pk).count() == 2
    assert Delivery.objects.filter(subscription=other.subscription).count() == 1


def test_only_active_subscriptions_of_the_events_merchant_wanting_it_get_a_delivery(
    merchant, receiver
):
    wants = subscribe(merchant, receiver)
    subscribe(merchant, receiver, events=["refund.issued"])
    off = subscribe(merchant, receiver)
    services.update_subscription(
        merchant=merchant, public_id=off.subscription.public_id, active=False
    )
    subscribe(factories.merchant(), receiver)
    event = approved(merchant)
    dispatch(event)
    assert list(
        Delivery.objects.filter(event_id=event.pk).values_list("subscription", flat=True)
    ) == [wants.subscription.pk]


def test_the_registry_queues_webhooks_for_every_public_event():
    for source in rules.PUBLIC_NAME_FOR:
        assert tasks.queue_webhooks in tasks.HANDLERS[source], source
    assert tasks.email_webhook_disabled in tasks.HANDLERS["WebhookSubscriptionDisabled"]


def test_a_real_return_is_announced_with_its_number_and_items(merchant, receiver, api):
    subscribe(merchant, receiver, events=["return.requested"])
    factories.order(merchant, number="9001")
    response = api.post(
        "/returns",
        {
            "order_number": "9001",
            "items": [{"line_ref": "1", "quantity": 1, "reason": "size", "resolution": "refund"}],
            "method": "label",
        },
    )
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    event = Event.objects.get(name="ReturnRequested")
    dispatch(event)
    delivery = Delivery.objects.get(event_id=event.pk)
    services.attempt_delivery(delivery_id=delivery.pk)
    data = json.loads(receiver.requests[0].body)["data"]
    assert data["return_number"] == number
    assert data["items"] == [{"line_ref": "1", "quantity": 1, "reason": "size"}]
    assert data["currency"] == "SAR"


def test_a_failed_delivery_is_retried_later_and_later(merchant, receiver):
    receiver.statuses = [500]
    subscribe(merchant, receiver)
    with clock.frozen_at(T0):
        event = approved(merchant)
        dispatch(event)
        delivery = Delivery.objects.get(event_id=event.pk)
        services.attempt_delivery(delivery_id=delivery.pk)
    waits = []
    moment = T0
    for _ in range(4):
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.PENDING
        waits.append(delivery.next_attempt_at - moment)
        with clock.frozen_at(delivery.next_attempt_at - timedelta(seconds=1)):
            assert delivery.pk not in services.due_delivery_ids()  # not yet
            assert services.attempt_delivery(delivery_id=delivery.pk) is None
        moment = delivery.next_attempt_at
        with clock.frozen_at(moment):
            assert services.due_delivery_ids() == [delivery.pk]
            services.attempt_delivery(delivery_id=delivery.pk)
    assert all(a < b for a, b in itertools.pairwise(waits)), waits
    assert timedelta(minutes=1) <= waits[0] <= timedelta(minutes=1.2)
    assert timedelta(minutes=5) <= waits[1] <= timedelta(minutes=6)
    attempts = list(Attempt.objects.filter(delivery=delivery).order_by("number"))
    assert [a.status_code for a in attempts] == [500] * 5
    assert attempts[0].response_excerpt == '{"ok": true}'
    # Every attempt is signed anew, with the same id.
    assert len({r.headers["Awda-Webhook-Timestamp"] for r in receiver.requests}) == 5
    assert len({r.headers["Awda-Webhook-Id"] for r in receiver.requests}) == 1


def test_a_success_after_failures_delivers_and_clears_the_failure_count(merchant, receiver):
    receiver.statuses = [503, 204]
    created = subscribe(merchant, receiver)
    with clock.frozen_at(T0):
        event = approved(merchant)
        dispatch(event)
        delivery = Delivery.objects.get(event_id=event.pk)
        services.attempt_delivery(delivery_id=delivery.pk)
    assert Subscription.objects.get(pk=created.subscription.pk).consecutive_failures == 1
    with clock.frozen_at(T0 + timedelta(minutes=2)):
        assert services.attempt_delivery(delivery_id=delivery.pk).status == "delivered"
    assert Subscription.objects.get(pk=created.subscription.pk).consecutive_failures == 0


def test_a_redirect_is_a_failure_and_is_not_followed(merchant, receiver):
    receiver.statuses = [302]
    subscribe(merchant, receiver)
    event = approved(merchant)
    dispatch(event)
    delivery = services.attempt_delivery(delivery_id=Delivery.objects.get(event_id=event.pk).pk)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_status_code == 302
    assert len(receiver.requests) == 1


def test_an_unreachable_endpoint_is_a_failed_attempt_with_the_error(merchant, receiver, settings):
    created = subscribe(merchant, receiver)
    Subscription.objects.filter(pk=created.subscription.pk).update(url="http://127.0.0.1:1/x")
    event = approved(merchant)
    dispatch(event)
    delivery = services.attempt_delivery(delivery_id=Delivery.objects.get(event_id=event.pk).pk)
    assert delivery.last_status_code is None
    assert delivery.last_error
    assert delivery.next_attempt_at is not None


def test_an_address_turned_private_since_subscribing_is_refused_at_delivery(merchant, receiver):
    created = subscribe(merchant, receiver)
    # As if the name now resolved inside the network: checked again before every POST.
    Subscription.objects.filter(pk=created.subscription.pk).update(url="https://10.0.0.1/hook")
    event = approved(merchant)
    dispatch(event)
    delivery = services.attempt_delivery(delivery_id=Delivery.objects.get(event_id=event.pk).pk)
    assert delivery.last_error == "address refused: private_address"
    assert receiver.requests == []


def _owner(merchant, email="owner@example.com"):
    add_staff(
        merchant=merchant, username=email, email=email, password="x" * 12, role=StaffRole.OWNER
    )


def test_a_delivery_out_of_attempts_disables_the_subscription_and_mails_the_owners(
    merchant, receiver, smtp
):
    _owner(merchant)
    add_staff(
        merchant=merchant,
        username="agent@example.com",
        email="agent@example.com",
        password="x" * 12,
        role=StaffRole.AGENT,
    )
    receiver.statuses = [500]
    created = subscribe(merchant, receiver)
    with clock.frozen_at(T0):
        event = approved(merchant)
        dispatch(event)
        later = approved(merchant, number="R-2222-33")
        dispatch(later)
    delivery = Delivery.objects.get(event_id=event.pk)
    moment = T0
    for _ in range(rules.MAX_ATTEMPTS):
        with clock.frozen_at(moment):
            services.attempt_delivery(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        moment = delivery.next_attempt_at or moment
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == rules.MAX_ATTEMPTS
    sub = Subscription.objects.get(pk=created.subscription.pk)
    assert not sub.active
    assert sub.disabled_reason == "failing"
    # The other pending delivery stops too; nothing more is sent.
    assert Delivery.objects.get(event_id=later.pk).status == DeliveryStatus.FAILED
    assert services.due_delivery_ids() == []

    factories.run_jobs()
    mail = smtp.only()
    assert mail.rcpt_tos == ["owner@example.com"]
    assert merchant.name_ar in mail.subject
    assert receiver.url in mail.text
    assert sub.public_id in mail.text
    assert mail.message["Content-Language"] == merchant.default_language


def test_fifteen_failures_in_a_row_across_deliveries_disable_the_subscription(
    merchant, receiver, smtp
):
    _owner(merchant)
    merchant.default_language = "en"
    merchant.save(update_fields=["default_language"])
    receiver.statuses = [500]
    created = subscribe(merchant, receiver)
    for n in range(rules.DISABLE_AFTER_FAILURES):
        event = approved(merchant, number=f"R-{n:04d}-AA")
        dispatch(event)
        services.attempt_delivery(delivery_id=Delivery.objects.get(event_id=event.pk).pk)
        sub = Subscription.objects.get(pk=created.subscription.pk)
        assert sub.active == (n + 1 < rules.DISABLE_AFTER_FAILURES)
    factories.run_jobs()
    mail = smtp.only()
    assert mail.subject == f"A webhook of {merchant.name} was disabled"
    assert "failed 15 times in a row" in mail.text
    assert "HTTP 500" in mail.text
    # Switched back on: the count starts again.
    sub = services.update_subscription(
        merchant=merchant, public_id=created.subscription.public_id, active=True
    )
    assert sub.active and sub.consecutive_failures == 0 and sub.disabled_at is None


def test_the_owners_mail_is_in_arabic_for_an_arabic_store(merchant, receiver, smtp):
    _owner(merchant)
    assert merchant.default_language == "ar"
    receiver.statuses = [500]
    created = subscribe(merchant, receiver)
    Subscription.objects.filter(pk=created.subscription.pk).update(
        consecutive_failures=rules.DISABLE_AFTER_FAILURES - 1
    )
    event = approved(merchant)
    dispatch(event)
    services.attempt_delivery(delivery_id=Delivery.objects.get(event_id=event.pk).pk)
    factories.run_jobs()
    mail = smtp.only()
    assert merchant.name_ar in mail.subject
    assert "A webhook" not in mail.subject
    assert 'dir="rtl"' in mail.html
    assert receiver.url in mail.text


def test_a_replay_sends_the_same_delivery_again_with_a_new_signature(merchant, receiver):
    created = subscribe(merchant, receiver)
    with clock.frozen_at(T0):
        event = approved(merchant)
        dispatch(event)
        delivery = Delivery.objects.get(event_id=event.pk)
        services.attempt_delivery(delivery_id=delivery.pk)
    with clock.frozen_at(T0 + timedelta(hours=1)):
        replayed = services.replay_delivery(merchant=merchant, public_id=delivery.public_id)
    assert replayed.status == DeliveryStatus.DELIVERED
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["Awda-Webhook-Id"] == second.headers["Awda-Webhook-Id"]
    assert first.headers["Awda-Signature"] != second.headers["Awda-Signature"]
    assert (
        int(second.headers["Awda-Webhook-Timestamp"]) - int(first.headers["Awda-Webhook-Timestamp"])
        == 3600
    )
    # The documented check refuses old timestamps, so check the signature itself here.
    ts = int(second.headers["Awda-Webhook-Timestamp"])
    assert second.headers["Awda-Signature"] == rules.signature_header(
        created.secret, ts, second.body
    )
    assert [a.replay for a in Attempt.objects.filter(delivery=delivery)] == [False, True]


def test_a_failed_replay_does_not_count_towards_disabling(merchant, receiver):
    receiver.statuses = [500]
    created = subscribe(merchant, receiver)
    with clock.frozen_at(T0):
        event = approved(merchant)
        dispatch(event)
        delivery = Delivery.objects.get(event_id=event.pk)
        services.attempt_delivery(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    scheduled = delivery.next_attempt_at
    services.replay_delivery(merchant=merchant, public_id=delivery.public_id)
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == scheduled
    assert delivery.status == DeliveryStatus.PENDING
    assert Subscription.objects.get(pk=created.subscription.pk).consecutive_failures == 1


def test_a_delivery_held_by_a_worker_is_not_sent_twice(merchant, receiver):
    subscribe(merchant, receiver)
    event = approved(merchant)
    dispatch(event)
    delivery = Delivery.objects.get(event_id=event.pk)
    Delivery.objects.filter(pk=delivery.pk).update(
        claimed_until=clock.now() + timedelta(seconds=30)
    )
    assert services.attempt_delivery(delivery_id=delivery.pk) is None
    assert services.due_delivery_ids() == []
    assert receiver.requests == []


def test_the_sweep_sends_due_deliveries(merchant, receiver, monkeypatch):
    monkeypatch.setattr(
        tasks,
        "deliver_webhooks",
        lambda ids: [services.attempt_delivery(delivery_id=i) for i in ids],
    )
    subscribe(merchant, receiver)
    event = approved(merchant)
    dispatch(event)
    tasks.sweep_webhook_deliveries.call_local()
    assert len(receiver.requests) == 1
    tasks.sweep_webhook_deliveries.call_local()  # delivered: nothing due
    assert len(receiver.requests) == 1


queued: list[list[int]] = []


def record_queued(ids: list[int]) -> None:
    queued.append(list(ids))


def test_new_deliveries_are_queued_after_commit(
    merchant, receiver, settings, django_capture_on_commit_callbacks
):
    settings.AWDA_WEBHOOK_DELIVERY_ENQUEUE = "tests.webhooks.test_deliveries.record_queued"
    queued.clear()
    subscribe(merchant, receiver)
    event = approved(merchant)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch(event)
    assert queued == [[Delivery.objects.get(event_id=event.pk).pk]]
