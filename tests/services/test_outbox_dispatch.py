"""The outbox's dispatch: each handler once per event, a failed one retried, the event
stamped dispatched only when every handler has run."""

from __future__ import annotations

import pytest

from awda.core import outbox
from awda.core.models import Event, HandledEvent

pytestmark = pytest.mark.django_db(transaction=True)

ran: list[str] = []
fail = {"second": True}


def first(event: Event) -> None:
    ran.append("first")


def second(event: Event) -> None:
    ran.append("second")
    if fail["second"]:
        raise RuntimeError("not yet")


@outbox.outside_transaction
def mail(event: Event) -> None:
    ran.append("mail")


HANDLERS = {"Pinged": [first, second, mail]}


def _event() -> Event:
    return Event.objects.create(name="Pinged", payload={"n": 1}, created_at="2026-11-24T00:00:00Z")


def _key(handler: object) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"  # type: ignore[attr-defined]


def test_a_failed_handler_is_retried_and_the_handlers_done_are_not_run_again() -> None:
    ran.clear()
    fail["second"] = True
    event = _event()
    result = outbox.dispatch(str(event.pk), HANDLERS)
    assert (result.ran, result.complete) == (2, False)
    event.refresh_from_db()
    assert event.dispatched_at is None and event.attempts == 1
    assert event.last_error.startswith(f"{_key(second)}: not yet")
    assert set(HandledEvent.objects.filter(event=event).values_list("handler", flat=True)) == {
        _key(first),
        _key(mail),
    }
    fail["second"] = False
    result = outbox.dispatch(str(event.pk), HANDLERS)
    assert (result.ran, result.complete) == (1, True)
    assert ran == ["first", "second", "mail", "second"]
    event.refresh_from_db()
    assert event.dispatched_at is not None and event.attempts == 2


def test_a_dispatched_event_runs_nothing_again_even_when_its_stamp_is_lost() -> None:
    ran.clear()
    fail["second"] = False
    event = _event()
    assert outbox.dispatch(str(event.pk), HANDLERS).complete
    event.refresh_from_db()
    stamped = event.dispatched_at
    assert outbox.dispatch(str(event.pk), HANDLERS).ran == 0
    event.refresh_from_db()
    assert event.dispatched_at == stamped and event.attempts == 1  # not touched again
    # As if the first dispatch's stamp were lost: the markers still keep every handler out.
    Event.objects.filter(pk=event.pk).update(dispatched_at=None)
    assert outbox.dispatch(str(event.pk), HANDLERS).ran == 0
    assert ran == ["first", "second", "mail"]
    assert HandledEvent.objects.filter(event=event).count() == 3
    event.refresh_from_db()
    assert event.dispatched_at is not None


def test_an_outside_handlers_marker_written_meanwhile_by_another_worker_is_kept() -> None:
    event = _event()
    HandledEvent.objects.create(event=event, handler=_key(mail))
    outbox._mark(event, _key(mail), if_absent=True)  # no error, no second row
    assert HandledEvent.objects.filter(event=event, handler=_key(mail)).count() == 1
