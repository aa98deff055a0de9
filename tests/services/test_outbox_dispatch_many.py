"""The outbox's dispatch of several events at once: a handler that can take them together
runs once for all, with a marker per event; the events it leaves, and every event when it
fails, run it on their own as ``dispatch`` would."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from awda.core import outbox
from awda.core.models import Event, HandledEvent

pytestmark = pytest.mark.django_db(transaction=True)

log: list[tuple[str, object]] = []
mode = {"together": "ok"}


def _n(event: Event) -> int:
    return int(event.payload["n"])


def _money_together(events: Sequence[Event]) -> list[Event]:
    if mode["together"] == "fail":
        Event.objects.create(name="Written", payload={}, created_at="2026-11-24T00:00:00Z")
        raise RuntimeError("a batch that fails")
    log.append(("together", sorted(_n(e) for e in events)))
    return [e for e in events if _n(e) % 3 == 0]  # these are left for one by one


@outbox.together(_money_together)
def money(event: Event) -> None:
    log.append(("one", _n(event)))


def after(event: Event) -> None:
    log.append(("after", _n(event)))


@outbox.outside_transaction
def mail(event: Event) -> None:
    log.append(("mail", _n(event)))


HANDLERS = {"Approved": [money, after, mail]}


def _events(*numbers: int) -> list[str]:
    return [
        str(
            Event.objects.create(
                name="Approved", payload={"n": n}, created_at="2026-11-24T00:00:00Z"
            ).pk
        )
        for n in numbers
    ]


def _key(handler: object) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"  # type: ignore[attr-defined]


def _handled(key: str) -> list[int]:
    return sorted(
        HandledEvent.objects.filter(handler=key).values_list("event__payload__n", flat=True)
    )


def test_a_batch_runs_together_once_and_leaves_some_for_one_by_one() -> None:
    log.clear()
    mode["together"] = "ok"
    ids = _events(1, 2, 3, 4)
    assert outbox.dispatch_many(ids, HANDLERS) == []
    assert log[0] == ("together", [1, 2, 3, 4])
    assert ("one", 3) in log and [e for e in log if e[0] == "one"] == [("one", 3)]
    assert sorted(n for kind, n in log if kind == "after") == [1, 2, 3, 4]
    assert sorted(n for kind, n in log if kind == "mail") == [1, 2, 3, 4]
    # One marker per event and handler, whichever way it ran.
    assert _handled(_key(money)) == [1, 2, 3, 4]
    assert HandledEvent.objects.count() == 12
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()
    # Nothing runs again.
    log.clear()
    Event.objects.update(dispatched_at=None)
    assert outbox.dispatch_many(ids, HANDLERS) == []
    assert log == []


def test_a_failed_batch_leaves_nothing_and_each_event_runs_on_its_own() -> None:
    log.clear()
    mode["together"] = "fail"
    ids = _events(1, 2)
    assert outbox.dispatch_many(ids, HANDLERS) == []
    assert sorted(n for kind, n in log if kind == "one") == [1, 2]
    assert not Event.objects.filter(name="Written").exists()  # its writes rolled back
    assert _handled(_key(money)) == [1, 2]


def test_events_already_handled_are_not_taken_together_again() -> None:
    log.clear()
    mode["together"] = "ok"
    ids = _events(1, 2, 4)
    assert outbox.dispatch(ids[0], HANDLERS).complete  # on its own first
    log.clear()
    assert outbox.dispatch_many(ids, HANDLERS) == []
    assert log[0] == ("together", [2, 4])
    assert _handled(_key(money)) == [1, 2, 4]


def test_one_event_is_dispatched_as_on_its_own_and_a_failure_is_reported() -> None:
    log.clear()
    mode["together"] = "ok"
    ids = _events(5)
    assert outbox.dispatch_many(ids, {"Approved": [money, _failing]}) == ids
    assert log == [("one", 5)]  # no batch for a single event
    event = Event.objects.get(pk=ids[0])
    assert event.dispatched_at is None and event.attempts == 1
    assert outbox.dispatch_many([*ids, ids[0]], HANDLERS) == []  # a repeated id is one event


def _failing(event: Event) -> None:
    raise RuntimeError("not yet")


def _mail_together(events: Sequence[Event]) -> list[Event]:
    from django.db import connection

    log.append(("mails", connection.in_atomic_block))
    return [e for e in events if _n(e) == 2]


@outbox.together(_mail_together)
@outbox.outside_transaction
def mail_together(event: Event) -> None:
    from django.db import connection

    log.append(("mail", connection.in_atomic_block))


def test_an_outside_handler_runs_together_with_no_transaction_open() -> None:
    log.clear()
    ids = _events(1, 2, 3)
    assert outbox.dispatch_many(ids, {"Approved": [mail_together]}) == []
    assert log == [("mails", False), ("mail", False)]  # event 2 was left for one by one
    assert _handled(_key(mail_together)) == [1, 2, 3]
