"""The outbox through a real job worker: SQLite job store on the SQLite run, real Redis on
the PostgreSQL run (scripts/test sets AWDA_REDIS_URL there)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from huey.contrib.djhuey import HUEY

from awda.core import clock
from awda.core.models import Event, HandledEvent
from awda.orders.models import Customer
from awda.returns.services import ItemRequest, request_return
from awda.tasks import HANDLERS, sweep_outbox
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        return f"postgres://{db.get('USER') or 'postgres'}@{host}:{port}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


@pytest.fixture
def queue() -> Iterator[None]:
    if settings.REDIS_URL:
        # Fails (never skips) when Redis is down: the worker path must be tested for real.
        HUEY.storage.conn.ping()
    elif os.environ.get("AWDA_TEST_REDIS_URL") and connection.vendor == "postgresql":
        pytest.fail("the PostgreSQL run must use Redis for jobs (AWDA_REDIS_URL unset)")
    _flush()
    yield
    _flush()


def _flush() -> None:
    """The job queue and the money list (events other tests committed with no worker)."""
    from awda import tasks

    HUEY.flush()
    if settings.REDIS_URL:
        HUEY.storage.conn.delete(tasks._money_key())


@pytest.fixture
def worker(queue: None) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "AWDA_DATABASE_URL": _database_url(),
        "AWDA_DATA_DIR": str(settings.DATA_DIR),
        "AWDA_REDIS_URL": settings.REDIS_URL,
        "AWDA_DB_POOL": "false",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "awda.cli", "run_huey", "--workers", "1", "--quiet"], env=env
    )
    yield proc
    proc.terminate()
    proc.wait(timeout=20)


def _wait_for(condition: Callable[[], bool], *, seconds: float = 60) -> None:
    """Poll a condition until it holds; fail after ``seconds`` (a deadline, not a sleep)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the worker did not get there in time")
        time.sleep(0.1)


def _new_return() -> tuple[object, Customer]:
    merchant = factories.merchant()
    order = factories.order(merchant)
    request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref="1", quantity=1, reason="too_small")],
        method="label",
    )
    return merchant, order.customer


def test_events_written_with_a_return_are_dispatched_by_the_worker_after_commit(worker):
    _merchant, customer = _new_return()
    events = Event.objects.filter(name__in=["ReturnRequested", "ReturnApproved"])
    assert events.count() == 2
    _wait_for(lambda: not Event.objects.filter(dispatched_at__isnull=True).exists())
    customer.refresh_from_db()
    assert customer.returns_count == 1
    # One marker per handler of the event: each ran exactly once.
    handled = HandledEvent.objects.filter(event__name="ReturnRequested")
    assert handled.count() == len(HANDLERS["ReturnRequested"])


def test_an_event_lost_between_commit_and_enqueue_is_dispatched_by_the_sweep(worker, settings):
    # The process "dies" after the commit: the enqueue never happens.
    settings.AWDA_OUTBOX_ENQUEUE = "tests.worker.test_outbox_worker.lose_the_event"
    _merchant, customer = _new_return()
    assert Event.objects.filter(dispatched_at__isnull=True).count() == 2
    settings.AWDA_OUTBOX_ENQUEUE = "awda.tasks.enqueue_event"
    with clock.frozen_at(clock.now() + timedelta(minutes=5)):
        sweep_outbox.call_local()
    _wait_for(lambda: not Event.objects.filter(dispatched_at__isnull=True).exists())
    customer.refresh_from_db()
    assert customer.returns_count == 1


def test_dispatching_an_event_twice_runs_its_handlers_once(queue):
    from awda.core.outbox import dispatch
    from awda.tasks import HANDLERS

    _merchant, customer = _new_return()
    event = Event.objects.get(name="ReturnRequested")
    Event.objects.filter(pk=event.pk).update(dispatched_at=None)
    dispatch(str(event.pk), HANDLERS)
    Event.objects.filter(pk=event.pk).update(dispatched_at=None)  # as if the ack was lost
    dispatch(str(event.pk), HANDLERS)
    customer.refresh_from_db()
    assert customer.returns_count == 1


def test_a_burst_of_approvals_is_dispatched_together_and_its_money_issued_once(worker, settings):
    from awda import tasks
    from awda.payments.models import Refund, RefundStatus
    from tests.exchanges.helpers import shop

    # Approvals committed while the queue was away (their events wait in the outbox), then
    # handed to the queue at once: on Redis through the money list, one batch.
    merchant = shop(refund_timing="immediate")
    settings.AWDA_OUTBOX_ENQUEUE = "tests.worker.test_outbox_worker.lose_the_event"
    numbers = []
    for n in range(5):
        order = factories.order(merchant, email=f"burst{n}@example.com")
        numbers.append(
            request_return(
                merchant=merchant,
                order_number=order.number,
                items=[ItemRequest(line_ref="1", quantity=1, reason="too_small")],
                method="label",
            ).number
        )
    settings.AWDA_OUTBOX_ENQUEUE = "awda.tasks.enqueue_event"
    if settings.REDIS_URL:
        # A backlog in the money list whose jobs were lost (gone events): it is worked
        # through, not left in front of the new events.
        stale = [str(uuid.uuid4()) for _ in range(3 * tasks.MONEY_BATCH)]
        HUEY.storage.conn.rpush(tasks._money_key(), *stale)
    events = list(Event.objects.filter(dispatched_at__isnull=True).values_list("pk", "name"))
    tasks.enqueue_event([str(pk) for pk, _name in events], [name for _pk, name in events])

    def issued() -> bool:
        return Refund.objects.filter(
            reference__in=numbers, status=RefundStatus.SUCCEEDED
        ).count() == len(numbers)

    _wait_for(issued)
    _wait_for(lambda: not Event.objects.filter(dispatched_at__isnull=True).exists())
    assert Refund.objects.count() == len(numbers)  # once each
    handled = HandledEvent.objects.filter(
        event__name="ReturnApproved", handler__endswith="start_money"
    )
    assert handled.count() == len(numbers)
    if settings.REDIS_URL:
        assert HUEY.storage.conn.llen(tasks._money_key()) == 0


def lose_the_event(event_ids: Sequence[str], names: Sequence[str]) -> None:
    """Stands for a process that died between commit and enqueue."""
