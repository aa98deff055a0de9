"""Limit/offset pagination with bounds, so no query asks the database for absurd pages."""

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination


class BoundedLimitOffset(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(50, ge=1, le=200)
        # Beyond this, filter by date instead: deep offsets are slow and overflow SQLite.
        offset: int = Field(0, ge=0, le=1_000_000)
