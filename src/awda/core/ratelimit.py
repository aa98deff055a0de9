"""Fixed-window rate limits counted in the database: atomic on SQLite and PostgreSQL alike,
shared by every web process, nothing extra to run.

``hit("lookup-ip:203.0.113.9", limit=20, window=timedelta(minutes=10))`` counts one attempt
and says whether it is within the limit and, if not, when the window ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest

from awda.core import clock
from awda.core.models import RateCounter


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    count: int
    retry_after: timedelta  # zero when allowed


def client_ip(request: HttpRequest) -> str:
    """The address to count a client by: behind ``AWDA_TRUSTED_PROXIES`` proxies, the one
    that many hops from the right of X-Forwarded-For (the left part is the client's to forge);
    with none, the socket's peer."""
    hops = settings.AWDA_TRUSTED_PROXIES
    if hops:
        forwarded = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return str(request.META.get("REMOTE_ADDR", ""))


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


def hit(key: str, *, limit: int, window: timedelta, cost: int = 1) -> RateDecision:
    """Count ``cost`` attempts for ``key`` in the current window; allowed while ≤ ``limit``."""
    now = clock.now()
    start = _window_start(now, window)
    count = _add(key, start, cost)
    if count <= limit:
        return RateDecision(True, count, timedelta(0))
    return RateDecision(False, count, start + window - now)


def count(key: str, *, window: timedelta, cost: int = 1) -> int:
    """Count ``cost`` attempts for ``key`` in the current window; the window's total."""
    return _add(key, _window_start(clock.now(), window), cost)


def _add(key: str, start: datetime, cost: int) -> int:
    table = RateCounter._meta.db_table
    with connection.cursor() as cursor:
        # One statement, so two processes can't both read the old count.
        cursor.execute(
            f"INSERT INTO {table} (key, window_start, count) VALUES (%s, %s, %s) "  # noqa: S608
            "ON CONFLICT (key, window_start) DO UPDATE SET count = "
            f"{table}.count + excluded.count RETURNING count",
            [key[:200], connection.ops.adapt_datetimefield_value(start), cost],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else cost


def peek(key: str, *, window: timedelta) -> int:
    """Attempts counted for ``key`` in the current window, without counting one."""
    start = _window_start(clock.now(), window)
    row = RateCounter.objects.filter(key=key[:200], window_start=start).first()
    return row.count if row else 0


def forget_before(moment: datetime) -> int:
    """Delete counters of windows that started before ``moment`` (the periodic sweep)."""
    deleted, _ = RateCounter.objects.filter(window_start__lt=moment).delete()
    return deleted
