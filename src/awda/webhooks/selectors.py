"""Reading a merchant's webhooks: subscriptions, the delivery log and its attempts."""

from __future__ import annotations

from django.db.models import QuerySet

from awda.core.errors import NotFound
from awda.merchants.models import Merchant
from awda.webhooks.models import Delivery, Subscription


def subscriptions(*, merchant: Merchant) -> QuerySet[Subscription]:
    """The merchant's endpoints, oldest first."""
    return Subscription.objects.for_merchant(merchant).order_by("created_at", "pk")


def subscription(*, merchant: Merchant, public_id: str) -> Subscription:
    """One of the merchant's endpoints, or 404 (another merchant's included)."""
    sub = Subscription.objects.for_merchant(merchant).filter(public_id=public_id).first()
    if sub is None:
        raise NotFound(field="subscription_id", details={"subscription_id": public_id[:60]})
    return sub


def deliveries(
    *,
    merchant: Merchant,
    subscription_id: str,
    status: str | None = None,
    event_type: str | None = None,
) -> QuerySet[Delivery]:
    """An endpoint's deliveries, newest first, filtered by status and public event name."""
    sub = subscription(merchant=merchant, public_id=subscription_id)
    qs = Delivery.objects.for_merchant(merchant).filter(subscription=sub)
    if status:
        qs = qs.filter(status=status)
    if event_type:
        qs = qs.filter(event_type=event_type)
    return qs.select_related("subscription").order_by("-created_at", "-pk")


def delivery(*, merchant: Merchant, public_id: str) -> Delivery:
    """One delivery with its attempts, or 404 (another merchant's included)."""
    row = (
        Delivery.objects.for_merchant(merchant)
        .select_related("subscription")
        .prefetch_related("attempt_rows")
        .filter(public_id=public_id)
        .first()
    )
    if row is None:
        raise NotFound(field="delivery_id", details={"delivery_id": public_id[:60]})
    return row
