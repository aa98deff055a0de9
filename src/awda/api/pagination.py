"""Lists in answers: limit/offset pagination with bounds, so no query asks the database for
absurd pages, and rows read into their schemas."""

from collections.abc import Sequence
from typing import Any, TypeVar

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination


class BoundedLimitOffset(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(50, ge=1, le=200)
        # Beyond this, filter by date instead: deep offsets are slow and overflow SQLite.
        offset: int = Field(0, ge=0, le=1_000_000)


S = TypeVar("S", bound=Schema)


def rows_of(schema: type[S], rows: Sequence[Any]) -> list[S]:
    """Rows (models, the selectors' dataclasses) whose attributes carry exactly the schema's
    fields, as the schema."""
    return [schema.model_validate(r, from_attributes=True) for r in rows]
