"""The one place that reads the time, so tests and the demo can pin it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.utils import timezone

_frozen: datetime | None = None


def now() -> datetime:
    """The current time (aware, UTC), or the pinned one inside ``frozen_at``."""
    return _frozen if _frozen is not None else timezone.now()


@contextmanager
def frozen_at(moment: datetime) -> Iterator[datetime]:
    """Pin ``now()`` to ``moment`` for the duration of the block."""
    global _frozen
    previous, _frozen = _frozen, moment
    try:
        yield moment
    finally:
        _frozen = previous
