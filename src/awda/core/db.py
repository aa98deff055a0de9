"""Database helpers that differ by engine."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection


def lock_keys(keys: Iterable[str]) -> None:
    """Serialise transactions that work on the same logical keys until they commit.

    PostgreSQL: transaction-level advisory locks, taken in sorted order so two callers can't
    deadlock. SQLite needs nothing: its IMMEDIATE transactions already run one writer at a
    time. Use it where no row exists yet to lock (e.g. before creating a customer).
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for key in sorted(set(keys)):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])
