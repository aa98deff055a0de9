"""API shapes for webhooks (in and out), and the error bodies every operation documents."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field

from awda.webhooks.models import Attempt, Delivery, DeliveryStatus, Subscription
from awda.webhooks.rules import EventType


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class SubscriptionIn(_In):
    url: str = Field(min_length=1, max_length=2000, description="https:// endpoint to POST to")
    events: list[str] = Field(
        min_length=1, max_length=50, description="Public event names (GET /webhooks/event-types)"
    )
    description: str = Field(default="", max_length=200)


class SubscriptionPatch(_In):
    """Only the fields sent change; ``active: true`` switches a disabled endpoint back on."""

    url: str | None = Field(default=None, min_length=1, max_length=2000)
    events: list[str] | None = Field(default=None, min_length=1, max_length=50)
    description: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class SubscriptionOut(Schema):
    id: str
    url: str
    description: str
    events: list[str]
    active: bool
    consecutive_failures: int
    disabled_at: datetime | None
    disabled_reason: str = Field(description="'' | 'failing' | 'by_merchant'")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, sub: Subscription) -> SubscriptionOut:
        return cls(
            id=sub.public_id,
            url=sub.url,
            description=sub.description,
            events=list(sub.events),
            active=sub.active,
            consecutive_failures=sub.consecutive_failures,
            disabled_at=sub.disabled_at,
            disabled_reason=sub.disabled_reason,
            created_at=sub.created_at,
            updated_at=sub.updated_at,
        )


class SubscriptionCreatedOut(SubscriptionOut):
    secret: str = Field(description="The signing secret: shown only now, store it")

    @classmethod
    def created(cls, sub: Subscription, secret: str) -> SubscriptionCreatedOut:
        return cls(**SubscriptionOut.of(sub).model_dump(), secret=secret)


class SecretOut(Schema):
    id: str
    secret: str = Field(description="The new signing secret: shown only now, store it")


class AttemptOut(Schema):
    number: int
    at: datetime
    timestamp: int = Field(description="The signed Awda-Webhook-Timestamp of this attempt")
    status_code: int | None
    duration_ms: int
    error: str
    response_excerpt: str = Field(description="At most the first 2 KB of the answer")
    replay: bool

    @classmethod
    def of(cls, row: Attempt) -> AttemptOut:
        return cls(
            number=row.number,
            at=row.at,
            timestamp=row.timestamp,
            status_code=row.status_code,
            duration_ms=row.duration_ms,
            error=row.error,
            response_excerpt=row.response_excerpt,
            replay=row.replay,
        )


class DeliveryOut(Schema):
    id: str
    subscription_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_id(obj: Delivery) -> str:
        return obj.public_id

    @staticmethod
    def resolve_subscription_id(obj: Delivery) -> str:
        return obj.subscription.public_id

    @classmethod
    def of(cls, row: Delivery) -> DeliveryOut:
        return cls.from_orm(row)


class DeliveryDetailOut(DeliveryOut):
    body: dict[str, Any] = Field(description="The JSON body sent (the same on every attempt)")
    attempt_log: list[AttemptOut]

    @staticmethod
    def resolve_body(obj: Delivery) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(obj.body)
        return body

    @staticmethod
    def resolve_attempt_log(obj: Delivery) -> list[AttemptOut]:
        return [AttemptOut.of(a) for a in obj.attempt_rows.all()]

    @classmethod
    def detail(cls, row: Delivery) -> DeliveryDetailOut:
        return cls.from_orm(row)


class DeliveryFilters(Schema):
    status: DeliveryStatus | None = None
    event_type: str | None = Field(default=None, max_length=60)


class EventTypeOut(Schema):
    name: str
    description: str

    @classmethod
    def of(cls, event_type: EventType) -> EventTypeOut:
        return cls(name=event_type.name, description=event_type.description)


class ErrorOut(Schema):
    """Every refusal: a stable code, a message in the request's language, maybe a field."""

    code: str
    message: str
    field: str | None = None
    details: dict[str, Any] | None = None


class FieldErrorOut(Schema):
    field: str
    reason: str


class InvalidInputOut(Schema):
    """422: malformed input (``errors``) or a value a rule refused (``field``)."""

    code: str
    message: str
    field: str | None = None
    details: dict[str, Any] | None = None
    errors: list[FieldErrorOut] | None = None
