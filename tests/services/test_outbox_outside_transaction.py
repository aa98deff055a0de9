"""Handlers that talk to another server run with no transaction open, and at least once."""

from __future__ import annotations

import pytest
from django.db import connection

from awda.core import outbox
from awda.core.models import Event, HandledEvent
from awda.tasks import HANDLERS, email_return_confirmation

pytestmark = pytest.mark.django_db(transaction=True)


def _event() -> Event:
    return Event.objects.create(name="Pinged", payload={}, created_at="2026-11-24T00:00:00Z")


def test_the_return_confirmation_mail_is_sent_outside_the_handlers_transaction() -> None:
    assert email_return_confirmation in HANDLERS["ReturnRequested"]
    assert getattr(email_return_confirmation, "outside_transaction", False)


seen: list[bool] = []
fail = [True]


@outbox.outside_transaction
def ping(event: Event) -> None:
    seen.append(connection.in_atomic_block)
    if fail[0]:
        raise ConnectionError("peer down")


def test_an_outside_handler_holds_no_transaction_and_runs_until_it_succeeds() -> None:
    seen.clear()
    fail[0] = True
    handlers = {"Pinged": [ping]}
    event = _event()
    assert not outbox.dispatch(str(event.pk), handlers).complete
    assert not HandledEvent.objects.filter(event=event).exists()
    fail[0] = False
    assert outbox.dispatch(str(event.pk), handlers).complete
    Event.objects.filter(pk=event.pk).update(dispatched_at=None)
    assert outbox.dispatch(str(event.pk), handlers).ran == 0  # marked: not again
    assert seen == [False, False]
    assert HandledEvent.objects.filter(event=event).count() == 1
