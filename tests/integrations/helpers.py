"""Shared test helpers: the real payloads (tests/fixtures/shared, byte copies of the
workplace's fixtures), a connection per platform, a delivered order with a refunded return."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.test import Client

from awda.core import clock
from awda.core.money import Money
from awda.integrations import services
from awda.integrations.models import StoreConnection
from awda.orders.models import Order, OrderLine
from awda.payments.models import Refund
from awda.payments.services import request_refund
from awda.returns.services import ItemRequest, request_return

SHARED = Path(__file__).resolve().parents[1] / "fixtures/shared"

CREDENTIALS = {
    "shopify": {"access_token": "shpat_test", "location_id": "655441491"},
    "woocommerce": {"consumer_key": "ck_test", "consumer_secret": "cs_test"},
    "zid": {"authorization": "partner-token", "manager_token": "store-token"},
}
URLS = {
    "shopify": "https://awda-test.myshopify.com",
    "woocommerce": "https://shop.example.com",
    "zid": "https://api.zid.sa",
}


def raw(folder: str, name: str) -> bytes:
    return (SHARED / folder / name).read_bytes()


def payload(folder: str, name: str) -> Any:
    return json.loads(raw(folder, name))


def connect(merchant, platform: str, *, secret: str = "whsec-test", **kw) -> StoreConnection:
    return services.connect_store(
        merchant=merchant,
        platform=platform,
        name=kw.pop("name", f"{platform} store"),
        base_url=kw.pop("base_url", URLS[platform]),
        credentials=kw.pop("credentials", CREDENTIALS[platform]),
        webhook_secret="" if platform == "zid" else secret,
    )


def import_payload(connection: StoreConnection, data: Any) -> str:
    connector = services.connector_for(connection)
    try:
        return services.import_order(connection=connection, connector=connector, payload=data)
    finally:
        connector.close()


def post_hook(connection: StoreConnection, body: bytes, headers: dict[str, str], query: str = ""):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return Client().post(
        f"/hooks/stores/{connection.public_id}/{query}",
        data=body,
        content_type="application/json",
        **extra,
    )


def refunded_return(order: Order, *, line_ref: str, quantity: int, amount_minor: int) -> Refund:
    """The order delivered yesterday, a return of ``quantity`` units of one line, and the
    card refund Awda paid for it (counted on the line), as the money flow would leave it."""
    Order.objects.filter(pk=order.pk).update(delivered_at=clock.now() - timedelta(days=1))
    OrderLine.objects.filter(order=order).update(delivered_quantity=1)
    OrderLine.objects.filter(order=order, line_ref=line_ref).update(delivered_quantity=quantity)
    ret = request_return(
        merchant=order.merchant,
        order_number=order.number,
        items=[
            ItemRequest(line_ref=line_ref, quantity=quantity, reason="size", sub_reason="too_small")
        ],
        method="label",
    )
    line = OrderLine.objects.get(order=order, line_ref=line_ref)
    [refund] = request_refund(
        merchant=order.merchant,
        order_id=order.pk,
        amount=Money(amount_minor, order.currency),
        idempotency_key=f"{ret.number}-refund",
        reference=ret.number,
        lines=[(line.pk, amount_minor)],
    )
    return refund
