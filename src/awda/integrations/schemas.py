"""API shapes for store connections: secrets go in, never out."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from awda.integrations.models import Platform, StoreConnection, SyncIssue


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class StoreConnectionIn(_In):
    platform: Literal["shopify", "woocommerce", "zid", "salla", "magento"]
    name: str = Field(min_length=1, max_length=80)
    base_url: str = Field(min_length=9, max_length=200, examples=["https://example.myshopify.com"])
    # access_token (Shopify, Salla, Magento), consumer_key + consumer_secret (WooCommerce),
    # authorization + manager_token (Zid); location_id, api_version, branch_id, store_code
    # optional. Encrypted, never returned.
    credentials: dict[str, str] = Field(default_factory=dict, max_length=20)
    # The app's client secret (Shopify), the webhook's secret (WooCommerce, Salla), the key
    # the store's own module signs with (Magento); Zid: made by Awda.
    webhook_secret: str = Field(default="", max_length=200)


class StoreConnectionOut(Schema):
    id: int
    platform: str
    name: str
    base_url: str
    active: bool
    created_at: datetime
    last_synced_at: datetime | None
    webhook_path: str  # where the store posts its events (put your host before it)

    @classmethod
    def of(cls, found: StoreConnection) -> StoreConnectionOut:
        return cls(
            id=found.pk,
            platform=found.platform,
            name=found.name,
            base_url=found.base_url,
            active=found.active,
            created_at=found.created_at,
            last_synced_at=found.last_synced_at,
            webhook_path=f"/hooks/stores/{found.public_id}/",
        )


class StoreConnectionCreated(StoreConnectionOut):
    # Zid signs nothing: its address carries a token, shown here once (like an API key).
    webhook_token: str = ""

    @classmethod
    def created(cls, found: StoreConnection) -> StoreConnectionCreated:
        out = StoreConnectionOut.of(found).model_dump()
        token = found.webhook_secret if found.platform == Platform.ZID else ""
        return cls(**out, webhook_token=token or "")


class BackfillIn(_In):
    days: int = Field(default=30, ge=1, le=365)


class SyncIssueOut(Schema):
    external_id: str
    order_number: str
    code: str
    field: str
    expected: str
    actual: str
    detail: str
    created_at: datetime

    @classmethod
    def of(cls, issue: SyncIssue) -> SyncIssueOut:
        return cls(
            external_id=issue.external_id,
            order_number=issue.order_number,
            code=issue.code,
            field=issue.field,
            expected=issue.expected,
            actual=issue.actual,
            detail=issue.detail,
            created_at=issue.created_at,
        )
