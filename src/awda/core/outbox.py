"""Writing events in the caller's transaction and dispatching them after commit.

A service calls :func:`record_event` inside its ``transaction.atomic()`` block. After the
commit the event id is handed to the job queue (never inside the transaction); the job runs
every handler registered for the event's name, each at most once per event (a
``HandledEvent`` row written in the handler's own transaction). A periodic sweep re-enqueues
events that were committed but never dispatched, e.g. when the process died in between.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.module_loading import import_string

from awda.core import clock
from awda.core.models import Event, HandledEvent

log = logging.getLogger(__name__)

Handler = Callable[[Event], None]


def record_event(
    name: str,
    payload: Mapping[str, Any],
    *,
    merchant_id: int | None,
    aggregate_type: str = "",
    aggregate_id: str | int = "",
) -> Event:
    """Write an event in the current transaction; it is dispatched once that commits."""
    return record_events(
        [(name, payload)],
        merchant_id=merchant_id,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
    )[0]


def record_events(
    events: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    merchant_id: int | None,
    aggregate_type: str = "",
    aggregate_id: str | int = "",
) -> list[Event]:
    """Write several (name, payload) events of one aggregate in one statement, in order."""
    now = clock.now()
    rows = Event.objects.bulk_create(
        [
            Event(
                name=name,
                payload=dict(payload),
                merchant_id=merchant_id,
                aggregate_type=aggregate_type,
                aggregate_id=str(aggregate_id),
                created_at=now,
            )
            for name, payload in events
        ]
    )
    event_ids = [str(event.id) for event in rows]
    transaction.on_commit(lambda: _enqueue_all(event_ids))
    return rows


def _enqueue_all(event_ids: Sequence[str]) -> None:
    # One job for the events of one transaction: one queue round trip, not one per event.
    enqueue: Callable[[Sequence[str]], Any] = import_string(settings.AWDA_OUTBOX_ENQUEUE)
    try:
        enqueue(event_ids)
    except Exception:
        # The queue being down must not fail a committed request: the sweep picks it up.
        log.exception("could not enqueue events %s; the outbox sweep will retry", event_ids)


@dataclass(frozen=True)
class DispatchResult:
    ran: int
    complete: bool  # every handler has now run for this event


def dispatch(event_id: str, handlers: Mapping[str, Sequence[Handler]]) -> DispatchResult:
    """Run the handlers of one event that have not run yet."""
    event = Event.objects.filter(pk=event_id).first()
    if event is None or event.dispatched_at is not None:
        return DispatchResult(ran=0, complete=True)
    ran = 0
    failed = False
    for handler in handlers.get(event.name, ()):
        key = f"{handler.__module__}.{handler.__qualname__}"
        if getattr(handler, "outside_transaction", False):
            outcome = _run_outside_transaction(event, handler, key)
            ran += outcome is True
            failed |= outcome is False
            continue
        try:
            with transaction.atomic():
                # The marker and the handler's own writes commit together, or neither does.
                HandledEvent.objects.create(event=event, handler=key)
                handler(event)
            ran += 1
        except IntegrityError:
            if HandledEvent.objects.filter(event=event, handler=key).exists():
                continue  # another worker handled it already
            failed = True
            log.exception("handler %s failed on event %s", key, event_id)
        except Exception as exc:
            failed = True
            Event.objects.filter(pk=event.pk).update(last_error=f"{key}: {exc}"[:2000])
            log.exception("handler %s failed on event %s", key, event_id)
    Event.objects.filter(pk=event.pk).update(attempts=F("attempts") + 1)
    if not failed:
        Event.objects.filter(pk=event.pk, dispatched_at__isnull=True).update(
            dispatched_at=clock.now()
        )
    return DispatchResult(ran=ran, complete=not failed)


def outside_transaction(handler: Handler) -> Handler:
    """Mark a handler that talks to another server (mail, a carrier, a webhook): it runs with
    no transaction open, so a slow peer holds no database lock (on SQLite, the only writer
    slot), and its marker is written once it succeeded. A failure is retried; a crash between
    success and marker repeats it, so such a handler must bear running twice (at least once)."""
    handler.outside_transaction = True  # type: ignore[attr-defined]
    return handler


def _run_outside_transaction(event: Event, handler: Handler, key: str) -> bool | None:
    """True when it ran, None when it had already, False when it failed."""
    if HandledEvent.objects.filter(event=event, handler=key).exists():
        return None
    try:
        handler(event)
    except Exception as exc:
        Event.objects.filter(pk=event.pk).update(last_error=f"{key}: {exc}"[:2000])
        log.exception("handler %s failed on event %s", key, event.pk)
        return False
    HandledEvent.objects.get_or_create(event=event, handler=key)
    return True


def undispatched_event_ids(*, older_than: timedelta, limit: int = 500) -> list[str]:
    """Events committed a while ago and still not dispatched (the sweep's work list)."""
    cutoff = clock.now() - older_than
    ids = (
        Event.objects.filter(dispatched_at__isnull=True, created_at__lt=cutoff, attempts__lt=25)
        .order_by("created_at")
        .values_list("id", flat=True)[:limit]
    )
    return [str(i) for i in ids]
