"""Database helpers that differ by engine."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.db import connection, models
from django.utils.dateparse import parse_datetime


def lock_keys(keys: Iterable[str]) -> None:
    """Serialise transactions that work on the same logical keys until they commit.

    PostgreSQL: transaction-level advisory locks, taken in sorted order so two callers can't
    deadlock. SQLite needs nothing: its IMMEDIATE transactions already run one writer at a
    time. Use it where no row exists yet to lock (e.g. before creating a customer).
    """
    if connection.vendor != "postgresql":
        return
    ordered = sorted(set(keys))
    if not ordered:
        return
    with connection.cursor() as cursor:
        # One statement however many keys; the array's order is the order they are taken.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(t.key, 0))"
            " FROM unnest(%s::text[]) WITH ORDINALITY AS t(key, n) ORDER BY t.n",
            [ordered],
        )


M = TypeVar("M", bound=models.Model)


def lock_in_order(queryset: models.QuerySet[Any]) -> None:
    """Lock the query's rows in primary-key order (nothing on SQLite, whose transactions
    already write one at a time); the rows themselves are not loaded."""
    list(queryset.select_for_update().order_by("pk").values_list("pk", flat=True))


def loaded_instance(model: type[M], **values: Any) -> M:
    """An instance as if loaded from the database with only ``values``' fields: the others
    are deferred, so reading one fetches it (never a silent default)."""
    fields = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    if len(fields) != len(values):
        raise ValueError(f"not fields of {model.__name__}: {sorted(set(values) - set(fields))}")
    return model.from_db(connection.alias, fields, [values[f] for f in fields])


def db_json(value: Any) -> Any:
    """A JSON column's value from a plain cursor: PostgreSQL decodes it, SQLite hands text."""
    return json.loads(value) if isinstance(value, str) else value


def db_datetime(value: Any) -> datetime | None:
    """A datetime column's value from a plain cursor, aware in UTC (SQLite hands back naive
    datetimes or text; stored values are UTC)."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else parse_datetime(str(value))
    if parsed is None:
        raise ValueError(f"not a datetime: {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
