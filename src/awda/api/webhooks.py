"""/api/v1/webhooks: the merchant's outbound webhook subscriptions, the delivery log, replay
and a test ping. The scheme (headers, signature, retries) is in docs/webhooks.md."""

from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Status
from ninja.pagination import paginate

from awda.api.auth import merchant_of
from awda.api.pagination import BoundedLimitOffset
from awda.webhooks import rules, selectors, services
from awda.webhooks.schemas import (
    DeliveryDetailOut,
    DeliveryFilters,
    DeliveryOut,
    ErrorOut,
    EventTypeOut,
    InvalidInputOut,
    SecretOut,
    SubscriptionCreatedOut,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
)

router = Router(tags=["webhooks"])

# Every operation answers 401 without a valid key; the rest is listed per operation.
_401: dict[int, Any] = {401: ErrorOut}
_404: dict[int, Any] = {404: ErrorOut}
_409: dict[int, Any] = {409: ErrorOut}
_422: dict[int, Any] = {422: InvalidInputOut}


@router.get(
    "/webhooks/event-types",
    response={200: list[EventTypeOut], **_401},
    summary="The public event names a subscription can ask for",
)
def event_types(request: HttpRequest) -> list[EventTypeOut]:
    return [EventTypeOut.of(t) for t in rules.EVENT_TYPES]


@router.post(
    "/webhooks/subscriptions",
    response={201: SubscriptionCreatedOut, **_401, **_422},
    summary="Subscribe an endpoint to events (the signing secret is shown only in this answer)",
    description="422 `webhook_url_not_allowed` (field `url`: not https, a private or "
    "link-local address…) or `unknown_event_type` (field `events.<i>`).",
)
def create_subscription(request: HttpRequest, payload: SubscriptionIn) -> Status:
    created = services.create_subscription(
        merchant=merchant_of(request),
        url=payload.url,
        events=payload.events,
        description=payload.description,
    )
    return Status(201, SubscriptionCreatedOut.created(created.subscription, created.secret))


@router.get(
    "/webhooks/subscriptions",
    response={200: list[SubscriptionOut], **_401},
    summary="The merchant's webhook subscriptions, oldest first",
)
def list_subscriptions(request: HttpRequest) -> list[SubscriptionOut]:
    return [SubscriptionOut.of(s) for s in selectors.subscriptions(merchant=merchant_of(request))]


@router.get(
    "/webhooks/subscriptions/{subscription_id}",
    response={200: SubscriptionOut, **_401, **_404},
    summary="One subscription",
)
def get_subscription(request: HttpRequest, subscription_id: Path[str]) -> SubscriptionOut:
    return SubscriptionOut.of(
        selectors.subscription(merchant=merchant_of(request), public_id=subscription_id)
    )


@router.patch(
    "/webhooks/subscriptions/{subscription_id}",
    response={200: SubscriptionOut, **_401, **_404, **_422},
    summary="Change the URL, events or description, or switch the endpoint off and on",
)
def update_subscription(
    request: HttpRequest, subscription_id: Path[str], payload: SubscriptionPatch
) -> SubscriptionOut:
    changes = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    sub = services.update_subscription(
        merchant=merchant_of(request), public_id=subscription_id, **changes
    )
    return SubscriptionOut.of(sub)


@router.delete(
    "/webhooks/subscriptions/{subscription_id}",
    response={204: None, **_401, **_404},
    summary="Delete a subscription with its delivery log",
)
def delete_subscription(request: HttpRequest, subscription_id: Path[str]) -> Status:
    services.delete_subscription(merchant=merchant_of(request), public_id=subscription_id)
    return Status(204, None)


@router.post(
    "/webhooks/subscriptions/{subscription_id}/rotate-secret",
    response={200: SecretOut, **_401, **_404},
    summary="A new signing secret (shown only in this answer); the old one stops at once",
)
def rotate_secret(request: HttpRequest, subscription_id: Path[str]) -> SecretOut:
    rotated = services.rotate_secret(merchant=merchant_of(request), public_id=subscription_id)
    return SecretOut(id=rotated.subscription.public_id, secret=rotated.secret)


@router.post(
    "/webhooks/subscriptions/{subscription_id}/test",
    response={200: DeliveryDetailOut, **_401, **_404, **_409},
    summary="Send a webhook.test delivery now and show what the endpoint answered",
    description="409 `webhook_inactive` when the subscription is switched off.",
)
def send_test(request: HttpRequest, subscription_id: Path[str]) -> DeliveryDetailOut:
    merchant = merchant_of(request)
    sent = services.send_test(merchant=merchant, public_id=subscription_id)
    return DeliveryDetailOut.detail(selectors.delivery(merchant=merchant, public_id=sent.public_id))


@router.get(
    "/webhooks/subscriptions/{subscription_id}/deliveries",
    response={200: list[DeliveryOut], **_401, **_404, **_422},
    summary="A subscription's delivery log, newest first (filter by status and event type)",
)
@paginate(BoundedLimitOffset)
def list_deliveries(
    request: HttpRequest, subscription_id: Path[str], filters: Query[DeliveryFilters]
) -> list[DeliveryOut]:
    rows = selectors.deliveries(
        merchant=merchant_of(request),
        subscription_id=subscription_id,
        status=filters.status,
        event_type=filters.event_type,
    )
    return rows  # type: ignore[return-value]  # paginate slices the queryset, then serialises


@router.get(
    "/webhooks/deliveries/{delivery_id}",
    response={200: DeliveryDetailOut, **_401, **_404},
    summary="One delivery: its body, status and every attempt (status, duration, answer)",
)
def get_delivery(request: HttpRequest, delivery_id: Path[str]) -> DeliveryDetailOut:
    row = selectors.delivery(merchant=merchant_of(request), public_id=delivery_id)
    return DeliveryDetailOut.detail(row)


@router.post(
    "/webhooks/deliveries/{delivery_id}/replay",
    response={200: DeliveryDetailOut, **_401, **_404, **_409},
    summary="Send a delivery again now (same id and body, new timestamp and signature)",
    description="409 `webhook_inactive` when its subscription is switched off, "
    "`delivery_in_progress` while another attempt is being sent.",
)
def replay_delivery(request: HttpRequest, delivery_id: Path[str]) -> DeliveryDetailOut:
    merchant = merchant_of(request)
    row = services.replay_delivery(merchant=merchant, public_id=delivery_id)
    return DeliveryDetailOut.detail(selectors.delivery(merchant=merchant, public_id=row.public_id))
