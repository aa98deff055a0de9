"""Field types shared by the API schemas of every domain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def _to_utc(value: datetime) -> datetime:
    # Offsets beyond what databases accept (PostgreSQL stops at ±15:59) are legal ISO 8601;
    # storing the instant in UTC keeps every engine happy. Naive times are taken as UTC.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date out of range") from None


UtcDatetime = Annotated[datetime, AfterValidator(_to_utc)]
