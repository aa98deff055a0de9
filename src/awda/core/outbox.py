"""Writing events in the caller's transaction and dispatching them after commit.

A service calls :func:`record_event` inside its ``transaction.atomic()`` block. After the
commit the event id is handed to the job queue (never inside the transaction); the job runs
every handler registered for the event's name, each at most once per event (a
``HandledEvent`` row written in the handler's own transaction). A periodic sweep re-enqueues
events that were committed but never dispatched, e.g. when the process died in between.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils.module_loading import import_string

from awda.core import clock
from awda.core.models import Event, HandledEvent

log = logging.getLogger(__name__)

Handler = Callable[[Event], None]


@dataclass(frozen=True)
class NewEvent:
    """An event to write with others of other aggregates (``record_many``)."""

    name: str
    payload: Mapping[str, Any]
    merchant_id: int | None
    aggregate_type: str = ""
    aggregate_id: str | int = ""


def record_event(
    name: str,
    payload: Mapping[str, Any],
    *,
    merchant_id: int | None,
    aggregate_type: str = "",
    aggregate_id: str | int = "",
) -> Event:
    """Write an event in the current transaction; it is dispatched once that commits."""
    return record_many([NewEvent(name, payload, merchant_id, aggregate_type, aggregate_id)])[0]


def record_events(
    events: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    merchant_id: int | None,
    aggregate_type: str = "",
    aggregate_id: str | int = "",
) -> list[Event]:
    """Write several (name, payload) events of one aggregate in one statement, in order."""
    return record_many(
        [
            NewEvent(name, payload, merchant_id, aggregate_type, aggregate_id)
            for name, payload in events
        ]
    )


def record_many(events: Sequence[NewEvent]) -> list[Event]:
    """Write events of any aggregates in one statement, in order, in the current
    transaction; once it commits they go to the queue together, in one hand-over."""
    if not events:
        return []
    now = clock.now()
    rows = Event.objects.bulk_create(
        [
            Event(
                name=event.name,
                payload=dict(event.payload),
                merchant_id=event.merchant_id,
                aggregate_type=event.aggregate_type,
                aggregate_id=str(event.aggregate_id),
                created_at=now,
            )
            for event in events
        ]
    )
    event_ids = [str(row.id) for row in rows]
    names = [event.name for event in events]
    transaction.on_commit(lambda: _enqueue_all(event_ids, names))
    return rows


def _enqueue_all(event_ids: Sequence[str], names: Sequence[str]) -> None:
    # One job for the events of one transaction: one queue round trip, not one per event.
    # Their names (one per id) let the queue put the events that move money first.
    enqueue: Callable[[Sequence[str], Sequence[str]], Any] = import_string(
        settings.AWDA_OUTBOX_ENQUEUE
    )
    try:
        enqueue(event_ids, names)
    except Exception:
        # The queue being down must not fail a committed request: the sweep picks it up.
        log.exception("could not enqueue events %s; the outbox sweep will retry", event_ids)


@dataclass(frozen=True)
class DispatchResult:
    ran: int
    complete: bool  # every handler has now run for this event


def dispatch(event_id: str, handlers: Mapping[str, Sequence[Handler]]) -> DispatchResult:
    """Run the handlers of one event that have not run yet."""
    # The worker's hottest path (several events per return): the event and the handlers
    # already done are read in one statement, an outside handler's marker is one insert
    # and the event's own bookkeeping one update, so the dispatch costs 2 statements plus
    # one per handler (issue 5's benchmark, bench/README.md).
    loaded = _load(event_id)
    if loaded is None:
        return DispatchResult(ran=0, complete=True)
    event, done = loaded
    result, error = _run_handlers(event, done, handlers)
    _close(event, error=error, complete=result.complete)
    return result


def dispatch_many(event_ids: Sequence[str], handlers: Mapping[str, Sequence[Handler]]) -> list[str]:
    """Dispatch several events; returns the ids of those not complete (a handler failed).

    A handler that can take several events at once (``together``) runs once for all the
    events of its name that still need it, in one transaction with their markers: a burst
    of approvals issues its money in one go (issue 5's benchmark). It hands back the events
    it left for one by one; if it fails, its transaction rolls back and each event runs it
    on its own, as ``dispatch`` does (the reference path). An ``outside_transaction``
    handler runs together with no transaction open and its markers written once it
    succeeded, as on its own. Then every event's other handlers run as in ``dispatch``.
    """
    loaded = _load_many(event_ids)
    groups: dict[str, list[tuple[Event, set[str]]]] = {}
    for event, done in loaded:
        groups.setdefault(event.name, []).append((event, done))
    for name, group in groups.items():
        for handler in handlers.get(name, ()):
            together = getattr(handler, "together", None)
            key = _key(handler)
            todo = [event for event, done in group if key not in done]
            if together is None or len(todo) < 2:
                continue
            try:
                if getattr(handler, "outside_transaction", False):
                    # As on its own: no transaction open while it talks to another server,
                    # the markers once it succeeded (at least once).
                    left = together(todo)
                    left_ids = {event.pk for event in left}
                    _mark_many([e for e in todo if e.pk not in left_ids], key)
                else:
                    with transaction.atomic():
                        mine = _mark_many(todo, key)
                        claimed = [event for event in todo if event.pk in mine]
                        left = together(claimed) if claimed else []
                        _unmark_many([event for event in left if event.pk in mine], key)
            except Exception:
                log.warning(
                    "handler %s failed on %d events together; each runs on its own",
                    key,
                    len(todo),
                    exc_info=True,
                )
                continue
            left_ids = {event.pk for event in left}
            for event, done in group:
                if event.pk not in left_ids:
                    done.add(key)  # ours now, or another worker's (its marker was there)
    incomplete: list[str] = []
    clean: list[Event] = []  # complete at the first try: stamped in one statement
    for event, done in loaded:
        result, error = _run_handlers(event, done, handlers)
        if result.complete and error is None:
            clean.append(event)
            continue
        _close(event, error=error, complete=result.complete)
        if not result.complete:
            incomplete.append(str(event.pk))
    _close_many(clean)
    return incomplete


def _key(handler: Handler) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"


def _run_handlers(
    event: Event, done: set[str], handlers: Mapping[str, Sequence[Handler]]
) -> tuple[DispatchResult, str | None]:
    """Run the event's handlers not done yet: the outcome and the last error (the caller
    records both on the event, ``_close``)."""
    ran = 0
    failed = False
    errors: list[str] = []
    for handler in handlers.get(event.name, ()):
        key = _key(handler)
        if key in done:
            continue
        if getattr(handler, "outside_transaction", False):
            outcome = _run_outside_transaction(event, handler, key, errors)
            ran += outcome is True
            failed |= outcome is False
            continue
        try:
            with transaction.atomic():
                # The marker and the handler's own writes commit together, or neither does.
                _mark(event, key)
                handler(event)
            ran += 1
        except IntegrityError:
            if HandledEvent.objects.filter(event=event, handler=key).exists():
                continue  # another worker handled it already
            failed = True
            errors.append(f"{key}: integrity error")
            log.exception("handler %s failed on event %s", key, event.pk)
        except Exception as exc:
            failed = True
            errors.append(f"{key}: {exc}")
            log.exception("handler %s failed on event %s", key, event.pk)
    return DispatchResult(ran=ran, complete=not failed), errors[-1] if errors else None


def _load(event_id: str) -> tuple[Event, set[str]] | None:
    """The event still to dispatch and the handlers already done with it (None when it is
    gone or dispatched): one statement, a row per marker (or one with none)."""
    rows = list(Event.objects.raw(_LOAD, [Event._meta.pk.get_db_prep_value(event_id, connection)]))
    if not rows:
        return None
    done = {getattr(row, "done", None) for row in rows}  # the raw query's own column
    return rows[0], {key for key in done if key}


def _load_many(event_ids: Sequence[str]) -> list[tuple[Event, set[str]]]:
    """``_load`` for several events, in the order given (one statement)."""
    if not event_ids:
        return []
    ids = [Event._meta.pk.get_db_prep_value(i, connection) for i in event_ids]
    sql = _LOAD_MANY.format(ids=_placeholders(len(ids)))
    loaded: dict[Any, tuple[Event, set[str]]] = {}
    for row in Event.objects.raw(sql, ids):
        marker = getattr(row, "done", None)  # the raw query's own column
        _event, done = loaded.setdefault(row.pk, (row, set()))
        if marker:
            done.add(marker)
    order = {uuid.UUID(str(i)): n for n, i in enumerate(event_ids)}
    return sorted(loaded.values(), key=lambda item: order.get(item[0].pk, len(order)))


def together(batch: Callable[[Sequence[Event]], Collection[Event]]) -> Callable[[Handler], Handler]:
    """Give a handler a way to take several events of its name at once (``dispatch_many``):
    ``batch`` runs in one transaction with their markers and returns the events it left
    for one by one. It must do for each event exactly what the handler would."""

    def mark(handler: Handler) -> Handler:
        handler.together = batch  # type: ignore[attr-defined]
        return handler

    return mark


def outside_transaction(handler: Handler) -> Handler:
    """Mark a handler that talks to another server (mail, a carrier, a webhook): it runs with
    no transaction open, so a slow peer holds no database lock (on SQLite, the only writer
    slot), and its marker is written once it succeeded. A failure is retried; a crash between
    success and marker repeats it, so such a handler must bear running twice (at least once)."""
    handler.outside_transaction = True  # type: ignore[attr-defined]
    return handler


def _run_outside_transaction(
    event: Event, handler: Handler, key: str, errors: list[str]
) -> bool | None:
    """True when it ran, None when another worker had already, False when it failed."""
    try:
        handler(event)
    except Exception as exc:
        errors.append(f"{key}: {exc}")
        log.exception("handler %s failed on event %s", key, event.pk)
        return False
    # No transaction: a marker another worker wrote meanwhile is kept.
    _mark(event, key, if_absent=True)
    return True


# The event's load, the marker and the event's update are plain SQL (the same on PostgreSQL
# and SQLite): the ORM's building and compiling cost 0.2-0.3 ms of CPU per statement, and a
# resolution goes through ~9 of them (bench/README.md, resolutions).
_EVENT = Event._meta.db_table
_HANDLED = HandledEvent._meta.db_table
_LOAD = (
    "SELECT e.id, e.merchant_id, e.name, e.aggregate_type, e.aggregate_id, e.payload,"  # noqa: S608 (no input)
    f" e.created_at, e.dispatched_at, e.attempts, e.last_error, h.handler AS done FROM {_EVENT} e"
    f" LEFT JOIN {_HANDLED} h ON h.event_id = e.id WHERE e.id = %s AND e.dispatched_at IS NULL"
)


_LOAD_MANY = (
    "SELECT e.id, e.merchant_id, e.name, e.aggregate_type, e.aggregate_id, e.payload,"  # noqa: S608 (no input)
    f" e.created_at, e.dispatched_at, e.attempts, e.last_error, h.handler AS done FROM {_EVENT} e"
    f" LEFT JOIN {_HANDLED} h ON h.event_id = e.id"
    " WHERE e.id IN ({ids}) AND e.dispatched_at IS NULL"
)


def _mark_many(events: Sequence[Event], key: str) -> set[Any]:
    """Write the handler's marker for each event that has none yet; returns the ids of
    the events marked here (a marker another worker is writing is waited for, then kept)."""
    if not events:
        return set()
    now = connection.ops.adapt_datetimefield_value(clock.now())
    params: list[Any] = []
    for event in events:
        params += [_db_id(event), key, now]
    values = ", ".join(["(%s, %s, %s)"] * len(events))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_HANDLED} (event_id, handler, handled_at) VALUES {values}"  # noqa: S608 (no input)
            " ON CONFLICT (event_id, handler) DO NOTHING RETURNING event_id",
            params,
        )
        return {uuid.UUID(str(row[0])) for row in cursor.fetchall()}


def _unmark_many(events: Sequence[Event], key: str) -> None:
    if not events:
        return
    ids = [_db_id(event) for event in events]
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {_HANDLED} WHERE handler = %s"  # noqa: S608 (no input)
            f" AND event_id IN ({_placeholders(len(ids))})",
            [key, *ids],
        )


def _mark(event: Event, key: str, *, if_absent: bool = False) -> None:
    """Write the handler's marker; a second one for the pair raises IntegrityError unless
    ``if_absent``."""
    sql = (
        f"INSERT INTO {_HANDLED} (event_id, handler, handled_at) "  # noqa: S608 (no input)
        "VALUES (%s, %s, %s)"
    )
    if if_absent:
        sql += " ON CONFLICT (event_id, handler) DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [_db_id(event), key, connection.ops.adapt_datetimefield_value(clock.now())]
        )


def _close(event: Event, *, error: str | None, complete: bool) -> None:
    """Count the attempt, keep the last error, and stamp the event dispatched when every
    handler has run (once: a concurrent dispatch that finished first keeps its time)."""
    sets = ["attempts = attempts + 1"]
    params: list[Any] = []
    if error is not None:
        sets.append("last_error = %s")
        params.append(error[:2000])
    if complete:
        sets.append("dispatched_at = COALESCE(dispatched_at, %s)")
        params.append(connection.ops.adapt_datetimefield_value(clock.now()))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_EVENT} SET {', '.join(sets)} WHERE id = %s",  # noqa: S608 (no input)
            [*params, _db_id(event)],
        )


def _close_many(events: Sequence[Event]) -> None:
    """``_close`` for events that all completed without an error, in one statement."""
    if not events:
        return
    ids = [_db_id(event) for event in events]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_EVENT} SET attempts = attempts + 1,"  # noqa: S608 (no input)
            " dispatched_at = COALESCE(dispatched_at, %s)"
            f" WHERE id IN ({_placeholders(len(ids))})",
            [connection.ops.adapt_datetimefield_value(clock.now()), *ids],
        )


def _placeholders(count: int) -> str:
    """``%s, %s, …``: an ``IN`` list of ``count`` parameters."""
    return ", ".join(["%s"] * count)


def _db_id(event: Event) -> Any:
    return Event._meta.pk.get_db_prep_value(event.pk, connection)


def undispatched_event_ids(*, older_than: timedelta, limit: int = 500) -> list[str]:
    """Events committed a while ago and still not dispatched (the sweep's work list)."""
    cutoff = clock.now() - older_than
    ids = (
        Event.objects.filter(dispatched_at__isnull=True, created_at__lt=cutoff, attempts__lt=25)
        .order_by("created_at")
        .values_list("id", flat=True)[:limit]
    )
    return [str(i) for i in ids]
