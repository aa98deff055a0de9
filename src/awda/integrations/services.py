"""Store connection use cases: connect (and register the store's webhooks), take webhooks
in, import orders, backfill, and push refunds, returns, restocks, notes, exchanges'
replacement orders and gift cards back to the store (the only code that writes these
tables).

Store calls never run inside a transaction. Inbound: verify, store raw once, answer; a job
maps and upserts. Outbound: each change to the store is a ``StorePush`` row claimed and
committed before the call, so a retried job never repeats a call whose answer was lost
without first looking for its effect (a refund) or asking a person (a stock adjustment).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings as django_settings
from django.db import connection as db
from django.db import transaction
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from awda.core import clock
from awda.core.cache import LocalCache
from awda.core.errors import DomainError, InvalidInput, NotFound
from awda.core.money import Money
from awda.core.outbox import record_event
from awda.integrations.base import (
    Connector,
    GiftCardPush,
    MalformedWebhook,
    MappedOrder,
    NotePush,
    RefundLine,
    RefundPush,
    ReplacementLine,
    ReplacementPush,
    RestockPush,
    StoreError,
    WebhookRejected,
)
from awda.integrations.magento import MagentoConnector
from awda.integrations.models import (
    Platform,
    PushStatus,
    StoreConnection,
    StoreOrder,
    StorePush,
    StoreVariant,
    StoreWebhook,
    SyncIssue,
)
from awda.integrations.salla import SallaConnector
from awda.integrations.shopify import ReturnLine, ReturnPush, ShopifyConnector, return_reason
from awda.integrations.woocommerce import WooCommerceConnector
from awda.integrations.zid import REFUND_METHODS, ZidConnector
from awda.merchants.models import Merchant
from awda.orders.models import LineRefund, Order, OrderKind, ReplacementStatus
from awda.orders.services import mark_replacement_pushed, upsert_order
from awda.payments.models import Refund
from awda.returns.models import Return, ReturnStatus
from awda.wallet import services as wallet
from awda.wallet.models import CreditAccount

log = logging.getLogger(__name__)

CONNECTORS: Mapping[str, Callable[..., Connector]] = {
    Platform.SHOPIFY: ShopifyConnector,
    Platform.WOOCOMMERCE: WooCommerceConnector,
    Platform.ZID: ZidConnector,
    Platform.SALLA: SallaConnector,
    Platform.MAGENTO: MagentoConnector,
}
# What a platform's connection must carry (the rest is optional).
REQUIRED: Mapping[str, tuple[str, ...]] = {
    Platform.SHOPIFY: ("access_token",),
    Platform.WOOCOMMERCE: ("consumer_key", "consumer_secret"),
    Platform.ZID: ("authorization", "manager_token"),
    Platform.SALLA: ("access_token",),
    Platform.MAGENTO: ("access_token",),
}
MAX_BACKFILL_DAYS = 365
# Opt-in: store credit Awda grants becomes a Shopify gift card (the shopper spends it at
# the store's checkout; the wallet hands the amount over).
GIFT_CARD_SETTING = "credit_as_gift_card"


# -- connections --------------------------------------------------------------------------


def connect_store(
    *,
    merchant: Merchant,
    platform: str,
    name: str,
    base_url: str,
    credentials: Mapping[str, str],
    webhook_secret: str = "",
) -> StoreConnection:
    """Connect a store; credentials and the webhook secret are encrypted at rest. Zid signs
    nothing, so its secret is a token Awda makes for the webhook address when none is given."""
    if platform not in CONNECTORS:
        raise InvalidInput(_("Unknown store platform."), field="platform")
    if not name.strip():
        raise InvalidInput(_("Give the connection a name."), field="name")
    url = base_url.strip().rstrip("/")
    if not url.startswith("https://"):
        raise InvalidInput(_("The store's address must start with https://."), field="base_url")
    missing = [k for k in REQUIRED[platform] if not str(credentials.get(k, "")).strip()]
    if missing:
        raise InvalidInput(
            _("Missing credentials: %(keys)s.") % {"keys": ", ".join(missing)},
            field="credentials",
        )
    settings = {str(k): str(v) for k, v in credentials.items()}
    if GIFT_CARD_SETTING in settings:
        flag = settings[GIFT_CARD_SETTING].strip().lower()
        if flag not in ("true", "false"):
            raise InvalidInput(
                _("credit_as_gift_card is true or false."), field=f"credentials.{GIFT_CARD_SETTING}"
            )
        if flag == "true" and platform != Platform.SHOPIFY:
            raise InvalidInput(
                _("Only Shopify connections can turn store credit into gift cards."),
                field=f"credentials.{GIFT_CARD_SETTING}",
            )
        settings[GIFT_CARD_SETTING] = flag
    if platform == Platform.ZID:
        webhook_secret = webhook_secret or secrets.token_urlsafe(24)
    elif not webhook_secret:
        raise InvalidInput(
            _("The webhook secret is needed to check the store's signatures."),
            field="webhook_secret",
        )
    with transaction.atomic():
        if StoreConnection.objects.filter(
            merchant=merchant, platform=platform, base_url=url, active=True
        ).exists():
            raise InvalidInput(_("This store is already connected."), field="base_url")
        return StoreConnection.objects.create(
            merchant=merchant,
            platform=platform,
            name=name.strip(),
            base_url=url,
            public_id=secrets.token_urlsafe(16),
            credentials=json.dumps(settings),
            webhook_secret=webhook_secret,
        )


def webhook_address(connection: StoreConnection) -> str:
    """Where the store posts its webhooks (``AWDA_PUBLIC_URL`` must be reachable by it)."""
    return f"{django_settings.AWDA_PUBLIC_URL.rstrip('/')}/hooks/stores/{connection.public_id}/"


def register_webhooks(connection_id: int) -> list[str]:
    """Subscribe the store's order topics to the connection's webhook address (the ones not
    subscribed already); the topics added. Only Shopify's API is driven so far; raises
    ``StoreError`` with the store's words."""
    found = StoreConnection.objects.get(pk=connection_id, active=True)
    connector = connector_for(found)
    try:
        if not isinstance(connector, ShopifyConnector):
            return []
        return connector.register_webhooks(address=webhook_address(found))
    finally:
        connector.close()


def get_connection(*, merchant: Merchant, connection_id: int) -> StoreConnection:
    """The merchant's connection, or 404 (another merchant's is not found either)."""
    found = StoreConnection.objects.for_merchant(merchant).filter(pk=connection_id).first()
    if found is None:
        raise NotFound(_("No such store connection."), field="id")
    return found


def disconnect_store(*, merchant: Merchant, connection_id: int) -> StoreConnection:
    """Stop taking the store's webhooks and pushing to it (its history stays)."""
    found = get_connection(merchant=merchant, connection_id=connection_id)
    StoreConnection.objects.filter(pk=found.pk).update(active=False)
    _connected.invalidate(found.public_id)
    found.active = False
    return found


def connector_for(connection: StoreConnection) -> Connector:
    """A new connector for ``connection``; the caller closes it."""
    settings = json.loads(connection.credentials or "{}")
    return CONNECTORS[connection.platform](
        base_url=connection.base_url,
        settings=settings,
        webhook_secret=connection.webhook_secret or "",
    )


@dataclass(frozen=True, slots=True)
class ConnectedStore:
    connection_id: int
    merchant_id: int
    connector: Connector


# The connection behind a webhook address, decrypted once per process and
# AWDA_LOCAL_CACHE_SECONDS (a disconnect in another process is seen within that time).
_connected: LocalCache[str, ConnectedStore] = LocalCache(
    "store-connections", ttl=django_settings.AWDA_LOCAL_CACHE_SECONDS
)


def connected_store(public_id: str) -> ConnectedStore | None:
    def load() -> ConnectedStore | None:
        found = StoreConnection.objects.filter(public_id=public_id, active=True).first()
        if found is None or found.platform not in CONNECTORS:
            return None
        return ConnectedStore(found.pk, found.merchant_id, connector_for(found))

    return _connected.get_or_load(public_id, load)


# -- inbound webhooks ---------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookReceipt:
    http_status: int
    code: str  # accepted, duplicate, unknown_connection, rejected, malformed
    detail: str = ""


def receive_store_webhook(
    *,
    public_id: str,
    headers: Mapping[str, str],
    body: bytes,
    query: Mapping[str, str] | None = None,
    enqueue: bool = True,
) -> WebhookReceipt:
    """Verify a store's delivery, store it raw once under its event id, queue its import.

    Nothing is stored unless the signature holds and the body is JSON; a repeated event id
    is acknowledged (the store stops retrying) and ignored.
    """
    store = connected_store(public_id)
    if store is None:
        return WebhookReceipt(404, "unknown_connection")
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        delivery = store.connector.verify_webhook(headers=lowered, body=body, query=query or {})
        text = body.decode("utf-8")
    except WebhookRejected as exc:
        return WebhookReceipt(401, "rejected", str(exc))
    except (MalformedWebhook, UnicodeDecodeError) as exc:
        return WebhookReceipt(400, "malformed", str(exc)[:300])
    # One statement in autocommit, as the carrier webhooks do (bench/README.md): no
    # BEGIN/COMMIT round trips around it; on_commit runs at once.
    with db.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {StoreWebhook._meta.db_table} "  # noqa: S608 (table name)
            "(merchant_id, connection_id, event_id, topic, body, received_at, outcome) "
            "VALUES (%s, %s, %s, %s, %s, %s, '') "
            "ON CONFLICT (connection_id, event_id) DO NOTHING RETURNING id",
            [
                store.merchant_id,
                store.connection_id,
                delivery.event_id[:200],
                delivery.topic[:80],
                text,
                clock.now(),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return WebhookReceipt(200, "duplicate")
    webhook_id = int(row[0])
    if enqueue:
        transaction.on_commit(lambda: _enqueue_webhook(webhook_id))
    return WebhookReceipt(202, "accepted")


def _enqueue_webhook(webhook_id: int) -> None:
    enqueue: Callable[[int], Any] = import_string(django_settings.AWDA_STORE_WEBHOOK_ENQUEUE)
    try:
        enqueue(webhook_id)
    except Exception:
        # The row is safe; the sweep picks it up. The store must still get its 2xx.
        log.exception("could not queue store webhook %s", webhook_id)


# Topics that carry an order; others (products, customers…) are kept and not imported.
ORDER_TOPICS = ("orders/", "order.", "order")


def process_store_webhook(*, webhook_id: int) -> str:
    """Import a stored delivery's order (once); returns what became of it."""
    row = StoreWebhook.objects.select_related("connection").filter(pk=webhook_id).first()
    if row is None or row.processed_at is not None:
        return "done"
    if row.topic and not row.topic.startswith(ORDER_TOPICS):
        outcome = f"ignored: {row.topic}"
    else:
        connector = connector_for(row.connection)
        try:
            outcome = import_order(
                connection=row.connection, connector=connector, payload=json.loads(row.body)
            )
        finally:
            connector.close()
    StoreWebhook.objects.filter(pk=row.pk, processed_at__isnull=True).update(
        processed_at=clock.now(), outcome=outcome[:300]
    )
    return outcome


def pending_webhook_ids(*, older_than_seconds: int = 60, limit: int = 500) -> list[int]:
    """Stored deliveries whose job was lost (never processed after a while)."""
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    return list(
        StoreWebhook.objects.filter(processed_at__isnull=True, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )


# -- importing orders ---------------------------------------------------------------------


def import_order(*, connection: StoreConnection, connector: Connector, payload: Any) -> str:
    """Map a store order and upsert it (idempotent); quirks become ``SyncIssue`` rows. Never
    raises for the payload's content: what can't be imported is written down instead."""
    try:
        mapped = connector.map_order(payload)
    except MalformedWebhook as exc:
        return f"unreadable: {exc}"
    with transaction.atomic():
        issues = list(mapped.issues)
        order: Order | None = None
        if mapped.data is not None:
            try:
                order, _created = upsert_order(merchant=connection.merchant, data=mapped.data)
            except DomainError as error:
                # upsert_order's savepoint rolled back what it wrote; the issue stays.
                _record_issue(connection, mapped, "rejected", error.field or "", str(error.message))
        for issue in issues:
            _record_issue(
                connection,
                mapped,
                issue.code,
                issue.field,
                issue.detail,
                issue.expected,
                issue.actual,
            )
        now = clock.now()
        if order is not None:
            StoreOrder.objects.update_or_create(
                order=order,
                defaults={
                    "merchant": connection.merchant,
                    "connection": connection,
                    "external_id": mapped.external_id,
                    "synced_at": now,
                },
            )
        for ref in mapped.variants:
            StoreVariant.objects.update_or_create(
                connection=connection,
                sku=ref.sku,
                defaults={
                    "merchant": connection.merchant,
                    "product_ref": ref.product_ref,
                    "variant_ref": ref.variant_ref,
                },
            )
    if order is None:
        return f"not imported: order {mapped.external_id}"
    flagged = f", {len(issues)} issue(s)" if issues else ""
    return f"imported {order.number}{flagged}"


def _record_issue(
    connection: StoreConnection,
    mapped: MappedOrder,
    code: str,
    field: str,
    detail: str,
    expected: str = "",
    actual: str = "",
) -> None:
    SyncIssue.objects.update_or_create(
        connection=connection,
        external_id=mapped.external_id,
        code=code,
        field=field[:120],
        defaults={
            "merchant_id": connection.merchant_id,
            "order_number": mapped.data.number if mapped.data else "",
            "expected": expected[:120],
            "actual": actual[:120],
            "detail": detail[:500],
            "created_at": clock.now(),
        },
    )


def request_backfill(*, merchant: Merchant, connection_id: int, days: int) -> StoreConnection:
    """Ask for the last ``days`` days of orders (a job pages through the store's API)."""
    found = get_connection(merchant=merchant, connection_id=connection_id)
    if not found.active:
        raise InvalidInput(_("This store is disconnected."), field="id")
    if not 1 <= days <= MAX_BACKFILL_DAYS:
        raise InvalidInput(
            _("Between 1 and %(max)s days.") % {"max": MAX_BACKFILL_DAYS}, field="days"
        )
    with transaction.atomic():
        record_event(
            "StoreBackfillRequested",
            {"connection_id": found.pk, "days": days},
            merchant_id=merchant.pk,
            aggregate_type="store_connection",
            aggregate_id=found.pk,
        )
    return found


@dataclass(frozen=True)
class BackfillResult:
    seen: int
    imported: int
    failed: int


def backfill(*, connection_id: int, days: int) -> BackfillResult:
    """Import every order of the last ``days`` days through the store's list API, one
    transaction per order: an order that fails is written down and the rest still come."""
    found = StoreConnection.objects.select_related("merchant").get(pk=connection_id)
    since = clock.now() - timedelta(days=days)
    seen = imported = failed = 0
    connector = connector_for(found)
    try:
        for payload in connector.fetch_orders(since=since):
            seen += 1
            if isinstance(payload, StoreError):
                failed += 1
                ref = str(payload).split(":", 1)[0].removeprefix("order ").strip()
                _record_issue(
                    found, MappedOrder(ref or "?", None), "fetch_failed", "", str(payload)
                )
                continue
            outcome = import_order(connection=found, connector=connector, payload=payload)
            if outcome.startswith("imported"):
                imported += 1
            else:
                failed += 1
    finally:
        connector.close()
    StoreConnection.objects.filter(pk=found.pk).update(last_synced_at=clock.now())
    return BackfillResult(seen, imported, failed)


# -- outbound -----------------------------------------------------------------------------


def _push(
    connection: StoreConnection,
    *,
    key: str,
    kind: str,
    send: Callable[[], str],
    lookup: Callable[[], str | None] | None = None,
) -> StorePush:
    """Make one change in the store, once per key (see the module's docstring)."""
    now = clock.now()
    with transaction.atomic():
        row, created = StorePush.objects.select_for_update().get_or_create(
            connection=connection,
            key=key,
            defaults={
                "merchant_id": connection.merchant_id,
                "kind": kind,
                "status": PushStatus.SENT,
                "created_at": now,
                "updated_at": now,
            },
        )
    if not created:
        if row.status != PushStatus.SENT:
            return row  # done, or waiting for a person
        # Sent before and the answer lost (timeout, killed worker).
        found = lookup() if lookup is not None else None
        if found:
            return _settle(row, PushStatus.DONE, remote_id=found)
        if lookup is None:
            return _settle(
                row,
                PushStatus.REVIEW,
                message="an earlier call's answer was lost: check the store before repeating",
            )
    try:
        remote_id = send()
    except StoreError as exc:
        if exc.retryable:
            raise  # the row stays "sent": the retry looks before it asks again
        return _settle(row, PushStatus.REVIEW, message=str(exc))
    return _settle(row, PushStatus.DONE, remote_id=remote_id)


def _settle(row: StorePush, status: str, *, remote_id: str = "", message: str = "") -> StorePush:
    StorePush.objects.filter(pk=row.pk).update(
        status=status, remote_id=remote_id[:120], message=message[:500], updated_at=clock.now()
    )
    row.refresh_from_db()
    return row


def _store_order(order_id: int) -> StoreOrder | None:
    return (
        StoreOrder.objects.select_related("connection")
        .filter(order_id=order_id, connection__active=True)
        .first()
    )


def push_refund(*, refund_id: int) -> StorePush | None:
    """Record in the store a refund Awda paid for one of its orders (items and amount)."""
    refund = Refund.objects.select_related("payment__order").filter(pk=refund_id).first()
    if refund is None:
        return None
    link = _store_order(refund.payment.order_id)
    if link is None:
        return None  # not a store's order (API, CSV) or the store is disconnected
    ret = Return.objects.filter(merchant_id=refund.merchant_id, number=refund.reference).first()
    units = {}
    if ret is not None:
        units = {item.order_line_id: item.quantity for item in ret.items.all()}
    lines = [
        RefundLine(lr.order_line.line_ref, units.get(lr.order_line_id, 0), lr.amount_minor)
        for lr in LineRefund.objects.select_related("order_line")
        .filter(
            merchant_id=refund.merchant_id, key=refund.idempotency_key, released_at__isnull=True
        )
        .order_by("pk")
    ]
    push = RefundPush(
        key=f"awda-refund-{refund.pk}",
        order_ref=link.external_id,
        return_number=refund.reference,
        currency=refund.currency,
        amount_minor=refund.amount_minor,
        lines=[line for line in lines if line.quantity],
        shipping_address=dict(refund.payment.order.shipping_address),
    )
    connection = link.connection
    connector = connector_for(connection)
    try:
        if isinstance(connector, ZidConnector):
            # Zid's own return object first (once per refund), then its refund.
            reverse = _push(
                connection,
                key=f"{push.key}-reverse",
                kind="reverse_order",
                send=lambda: connector.create_reverse_order(push),
            )
            if reverse.status != PushStatus.DONE:
                return reverse
            method = REFUND_METHODS.get(refund.payment.method, "credit_card")
            return _push(
                connection,
                key=push.key,
                kind="refund",
                send=lambda: connector.push_refund(
                    push, reverse_id=reverse.remote_id, method=method
                ),
            )
        return _push(
            connection,
            key=push.key,
            kind="refund",
            send=lambda: connector.push_refund(push),
            lookup=lambda: connector.find_refund(push),
        )
    finally:
        connector.close()


def push_restock(
    *, merchant_id: int, move_id: int, sku: str, quantity: int, reason: str
) -> list[StorePush]:
    """Units the warehouse put back on the shelf go back into each store selling the SKU.

    Only restocks: ``store_sync`` moves came from the store, and exchanges' own moves are
    the replacement order's business."""
    if reason != "restock" or quantity <= 0 or not sku:
        return []
    done: list[StorePush] = []
    for ref in StoreVariant.objects.select_related("connection").filter(
        merchant_id=merchant_id, sku=sku, connection__active=True
    ):
        done.append(_restock_one(ref, move_id=move_id, quantity=quantity))
    return done


def _restock_one(ref: StoreVariant, *, move_id: int, quantity: int) -> StorePush:
    push = RestockPush(
        key=f"awda-move-{move_id}",
        sku=ref.sku,
        product_ref=ref.product_ref,
        variant_ref=ref.variant_ref,
        quantity=quantity,
    )
    connector = connector_for(ref.connection)
    try:
        return _push(
            ref.connection, key=push.key, kind="restock", send=lambda: connector.push_restock(push)
        )
    finally:
        connector.close()


def note_return_in_store(*, return_id: int) -> StorePush | None:
    """Tag the store's order (and leave a note) when a return is asked for in Awda."""
    ret = Return.objects.filter(pk=return_id).first()
    if ret is None:
        return None
    link = _store_order(ret.order_id)
    if link is None:
        return None
    push = NotePush(
        key=f"awda-return-{ret.pk}-requested",
        order_ref=link.external_id,
        note=f"Awda return {ret.number} requested",
        tags=("awda-return", ret.number),
    )
    connector = connector_for(link.connection)
    try:
        return _push(
            link.connection, key=push.key, kind="note", send=lambda: connector.push_note(push)
        )
    finally:
        connector.close()


_NOT_APPROVED = frozenset(
    {
        ReturnStatus.REQUESTED,
        ReturnStatus.PENDING_REVIEW,
        ReturnStatus.REJECTED,
        ReturnStatus.CANCELLED,
        ReturnStatus.EXPIRED,
    }
)


def refunds_to_push(*, refund_ids: Sequence[int]) -> set[int]:
    """The refunds among these ``push_refund`` has anything to do for: those of an order
    from a connected store (one statement for a burst of refunds)."""
    orders = StoreOrder.objects.filter(connection__active=True).values("order_id")
    return set(
        Refund.objects.filter(pk__in=refund_ids, payment__order_id__in=orders).values_list(
            "pk", flat=True
        )
    )


def returns_to_push(*, return_ids: Sequence[int]) -> set[int]:
    """The returns among these ``push_return`` has anything to do for: those of an order
    from a connected Shopify store (one statement for a batch of approvals)."""
    orders = StoreOrder.objects.filter(
        connection__active=True, connection__platform=Platform.SHOPIFY
    ).values("order_id")
    return set(
        Return.objects.filter(pk__in=return_ids, order_id__in=orders).values_list("pk", flat=True)
    )


def push_return(*, return_id: int) -> StorePush | None:
    """An approved return of a Shopify order becomes Shopify's own Return (once per return,
    key ``awda-return-<number>``; the Return's gid is the push's ``remote_id``)."""
    ret = Return.objects.filter(pk=return_id).first()
    if ret is None or ret.status in _NOT_APPROVED:
        return None  # a late job for a return withdrawn since makes nothing in the store
    link = _store_order(ret.order_id)
    if link is None or link.connection.platform != Platform.SHOPIFY:
        return None  # Zid's reverse order goes with the refund (push_refund)
    push = ReturnPush(
        key=f"awda-return-{ret.number}",
        order_ref=link.external_id,
        return_number=ret.number,
        lines=[
            ReturnLine(
                item.order_line.line_ref,
                item.quantity,
                return_reason(item.reason_code, item.sub_reason_code),
            )
            for item in ret.items.select_related("order_line").order_by("pk")
        ],
    )
    connector = connector_for(link.connection)
    if not isinstance(connector, ShopifyConnector):
        connector.close()
        return None
    try:
        return _push(
            link.connection,
            key=push.key,
            kind="return",
            send=lambda: connector.create_return(push),
            lookup=lambda: connector.find_return(push),
        )
    finally:
        connector.close()


def push_replacement_order(*, order_id: int) -> StorePush | None:
    """An exchange's replacement order, made in the store the original came from (once).

    Only a ``ready`` replacement goes: a held one waits for its difference to be paid
    (``ReplacementOrderReleased`` calls this again), a cancelled one never goes. Where the
    store's API can't make the order as Awda priced it, the connector leaves a note on the
    original order saying what to send (Zid, Salla, Magento)."""
    order = (
        Order.objects.select_related("customer")
        .filter(pk=order_id, kind=OrderKind.REPLACEMENT)
        .first()
    )
    if order is None or order.replaces_id is None:
        return None
    if order.replacement_status not in (ReplacementStatus.READY, ReplacementStatus.PUSHED):
        return None
    link = _store_order(order.replaces_id)
    if link is None:
        return None  # the original isn't a store's order, or the store is disconnected
    connection = link.connection
    original = Order.objects.only("number").get(pk=order.replaces_id)
    order_lines = list(order.lines.order_by("pk"))
    refs = {
        ref.sku: ref
        for ref in StoreVariant.objects.filter(
            connection=connection, sku__in=[line.sku for line in order_lines]
        )
    }
    credit = order.exchange_credit_minor
    lines = []
    for line in order_lines:
        # The returned items' credit pays the lines in order; what is left is paid (by
        # link, or by the courier).
        cost = line.paid_minor
        covered = min(credit, cost)
        credit -= covered
        ref = refs.get(line.sku)
        lines.append(
            ReplacementLine(
                sku=line.sku,
                title=line.title_en,
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
                paid_minor=cost - covered,
                product_ref=ref.product_ref if ref else "",
                variant_ref=ref.variant_ref if ref else "",
            )
        )
    customer_ref = order.customer.external_id or ""
    push = ReplacementPush(
        key=f"awda-replacement-{order.pk}",
        number=order.number,
        original_ref=link.external_id,
        original_number=original.number,
        currency=order.currency,
        placed_at=order.placed_at,
        total_minor=order.total_minor,
        credit_minor=order.exchange_credit_minor,
        collect_minor=order.collect_on_delivery_minor,
        lines=lines,
        customer_ref=customer_ref.removeprefix(f"{connection.platform}:")
        if customer_ref.startswith(f"{connection.platform}:")
        else "",
        email=order.customer.email,
        phone=order.customer.phone,
        country=order.shipping_country,
        shipping_address={
            **order.shipping_address,
            "name": order.shipping_address.get("name") or order.customer.name,
        },
    )
    connector = connector_for(connection)

    def send() -> str:
        if connection.platform in (Platform.SHOPIFY, Platform.WOOCOMMERCE):
            unknown = [line.sku or line.title for line in lines if not line.product_ref]
            if unknown:
                raise StoreError(
                    f"the store's product ids aren't known for {', '.join(unknown)} "
                    "(no order with these SKUs was imported from this store)",
                    code="unknown_variant",
                )
        return connector.create_replacement_order(push)

    try:
        row = _push(
            connection,
            key=push.key,
            kind="replacement",
            send=send,
            lookup=lambda: connector.find_replacement_order(push),
        )
    finally:
        connector.close()
    if row.status == PushStatus.DONE:
        # Handed to the store: it can no longer be withdrawn in Awda (a cancel that won the
        # race leaves the order as it is, and the push for a person).
        mark_replacement_pushed(order_id=order.pk)
    return row


def gift_card_code(key: str) -> str:
    """The gift card's code for a push key: 16 letters and digits from an HMAC with the
    site's secret, so a retry sends the same code (Shopify refuses a second card with it)
    and a mail can show it again without Awda storing it."""
    digest = hmac.new(django_settings.SECRET_KEY.encode(), key.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:16]


def _gift_card_connection(merchant_id: int, reference: str) -> StoreConnection | None:
    """The opted-in Shopify connection for credit granted under ``reference``: the store of
    the return's order, else the merchant's only opted-in Shopify store."""
    candidates = [
        found
        for found in StoreConnection.objects.filter(
            merchant_id=merchant_id, platform=Platform.SHOPIFY, active=True
        ).order_by("pk")
        if json.loads(found.credentials or "{}").get(GIFT_CARD_SETTING) == "true"
    ]
    if not candidates:
        return None
    ret = Return.objects.filter(merchant_id=merchant_id, number=reference).first()
    link = _store_order(ret.order_id) if ret is not None else None
    if link is not None:
        return next((c for c in candidates if c.pk == link.connection_id), None)
    return candidates[0] if len(candidates) == 1 else None


def gift_card_for_credit(*, merchant_id: int, reference: str, transaction_id: int) -> str:
    """The Shopify gift card code credit granted under ``reference`` becomes (the same code
    ``push_store_credit`` sends), or "" when the credit stays in the Awda wallet: the mail
    to the shopper gives this code instead of the wallet's."""
    if _gift_card_connection(merchant_id, reference) is None:
        return ""
    return gift_card_code(f"awda-credit-{transaction_id}")


def push_store_credit(
    *,
    merchant_id: int,
    account_id: int,
    transaction_id: int,
    amount_minor: int,
    currency: str,
    reference: str,
    expires_at: datetime | None,
) -> StorePush | None:
    """Store credit Awda granted, as a Shopify gift card, for connections that opted in
    (``credit_as_gift_card``). The amount leaves the Awda wallet (a ledger adjustment) as
    the card is made, so it can't be spent twice; a refusal puts it back."""
    if amount_minor <= 0:
        return None
    connection = _gift_card_connection(merchant_id, reference)
    if connection is None:
        return None
    account = CreditAccount.objects.select_related("merchant", "customer").get(
        pk=account_id, merchant_id=merchant_id
    )
    customer = account.customer
    key = f"awda-credit-{transaction_id}"  # as gift_card_for_credit
    external = customer.external_id or ""
    push = GiftCardPush(
        key=key,
        code=gift_card_code(key),
        currency=currency,
        amount_minor=amount_minor,
        reference=reference,
        expires_on=expires_at.date() if expires_at else None,
        customer_ref=external.removeprefix("shopify:") if external.startswith("shopify:") else "",
    )
    connector = connector_for(connection)
    if not isinstance(connector, ShopifyConnector):  # opted-in connections are Shopify's
        connector.close()
        return None

    def send() -> str:
        try:
            wallet.adjust_store_credit(
                merchant=account.merchant,
                customer=customer,
                amount=Money(-amount_minor, currency),
                reason=f"issued as Shopify gift card ({key})",
                actor="system",
                idempotency_key=f"{key}-out",
            )
        except DomainError as error:
            # Spent (or expired) before it could move: no card, a person decides.
            raise StoreError(
                f"the credit is no longer in the Awda wallet: {error.message!s}",
                code="credit_spent",
            ) from None
        try:
            return connector.create_gift_card(push)
        except StoreError as exc:
            if not exc.retryable:
                wallet.adjust_store_credit(
                    merchant=account.merchant,
                    customer=customer,
                    amount=Money(amount_minor, currency),
                    reason=f"Shopify refused the gift card ({key}): credit put back",
                    actor="system",
                    idempotency_key=f"{key}-back",
                    expires_at=expires_at if expires_at and expires_at > clock.now() else None,
                )
                raise StoreError(
                    f"{exc} (the credit is back in the Awda wallet)", code=exc.code
                ) from None
            raise

    try:
        return _push(
            connection,
            key=key,
            kind="gift_card",
            send=send,
            lookup=lambda: connector.find_gift_card(push),
        )
    finally:
        connector.close()
