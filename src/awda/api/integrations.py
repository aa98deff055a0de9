"""/api/v1/store-connections: connect a Shopify, WooCommerce, Zid, Salla or Magento 2 store,
list and disconnect connections, ask for a backfill, read what didn't add up."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from awda.api.auth import merchant_of
from awda.integrations import selectors, services
from awda.integrations.schemas import (
    BackfillIn,
    StoreConnectionCreated,
    StoreConnectionIn,
    StoreConnectionOut,
    SyncIssueOut,
)

router = Router(tags=["stores"])


@router.get("/store-connections", response=list[StoreConnectionOut], summary="Store connections")
def list_store_connections(request: HttpRequest) -> list[StoreConnectionOut]:
    return [
        StoreConnectionOut.of(c) for c in selectors.store_connections(merchant=merchant_of(request))
    ]


@router.post(
    "/store-connections", response={201: StoreConnectionCreated}, summary="Connect a store"
)
def connect_store(request: HttpRequest, payload: StoreConnectionIn) -> Status:
    found = services.connect_store(
        merchant=merchant_of(request),
        platform=payload.platform,
        name=payload.name,
        base_url=payload.base_url,
        credentials=payload.credentials,
        webhook_secret=payload.webhook_secret,
    )
    return Status(201, StoreConnectionCreated.created(found))


@router.delete(
    "/store-connections/{connection_id}",
    response=StoreConnectionOut,
    summary="Disconnect a store",
)
def disconnect_store(request: HttpRequest, connection_id: int) -> StoreConnectionOut:
    found = services.disconnect_store(merchant=merchant_of(request), connection_id=connection_id)
    return StoreConnectionOut.of(found)


@router.post(
    "/store-connections/{connection_id}/backfill",
    response={202: StoreConnectionOut},
    summary="Import the last days' orders",
)
def backfill_store(request: HttpRequest, connection_id: int, payload: BackfillIn) -> Status:
    found = services.request_backfill(
        merchant=merchant_of(request), connection_id=connection_id, days=payload.days
    )
    return Status(202, StoreConnectionOut.of(found))


@router.get(
    "/store-connections/{connection_id}/issues",
    response=list[SyncIssueOut],
    summary="What didn't add up in the store's orders",
)
def store_sync_issues(request: HttpRequest, connection_id: int) -> list[SyncIssueOut]:
    found = services.get_connection(merchant=merchant_of(request), connection_id=connection_id)
    return [SyncIssueOut.of(i) for i in selectors.sync_issues(connection=found)]
