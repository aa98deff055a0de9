"""Reads for store connections."""

from __future__ import annotations

from awda.integrations.models import StoreConnection, SyncIssue
from awda.merchants.models import Merchant


def store_connections(*, merchant: Merchant) -> list[StoreConnection]:
    return list(StoreConnection.objects.for_merchant(merchant).order_by("-active", "pk"))


def sync_issues(*, connection: StoreConnection, limit: int = 200) -> list[SyncIssue]:
    """What didn't add up in the store's orders, newest first."""
    return list(
        SyncIssue.objects.filter(connection=connection).order_by("-created_at", "-pk")[:limit]
    )
