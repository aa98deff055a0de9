"""Reading the active policy, parsed once per version and process."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_lazy as _

from awda.core.cache import LocalCache
from awda.core.errors import NotFound
from awda.merchants.models import Merchant
from awda.orders.selectors import LineSnapshot, OrderSnapshot
from awda.policies.document import PolicyDocument, parse_policy
from awda.policies.models import ReturnPolicy
from awda.policies.rules import (
    CompiledPolicy,
    CustomerHistory,
    LineFacts,
    OrderFacts,
    compile_policy,
)


@lru_cache(maxsize=1024)
def _parsed(policy_id: int, created_at: datetime) -> tuple[PolicyDocument, CompiledPolicy]:
    # Versions are immutable, so a parsed document is kept for the process's life. The key
    # includes the creation time because SQLite may hand a rolled-back row's id out again.
    row = ReturnPolicy.objects.only("document").get(pk=policy_id)
    document = parse_policy(row.document)
    return document, compile_policy(document)


# merchant id -> (policy id, version, created_at) of the active version. A new version is
# seen at once by the process that saved it and within the cache's time by the others;
# each return records the version it was decided under.
active_versions: LocalCache[int, tuple[int, int, datetime]] = LocalCache(
    "active policies", ttl=settings.AWDA_LOCAL_CACHE_SECONDS
)


def _active_row(merchant_id: int) -> tuple[int, int, datetime] | None:
    # Plain SQL skips the ORM's per-query build.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, version, created_at FROM {ReturnPolicy._meta.db_table} "  # noqa: S608
            "WHERE merchant_id = %s AND is_active",
            [merchant_id],
        )
        row = cursor.fetchone()
    return (row[0], row[1], row[2]) if row is not None else None


def _active(merchant: Merchant) -> tuple[int, PolicyDocument, CompiledPolicy]:
    row = active_versions.get_or_load(merchant.pk, lambda: _active_row(merchant.pk))
    if row is None:
        raise NotFound(_("This store has no return policy yet."), details={"resource": "policy"})
    policy_id, version, created_at = row
    document, compiled = _parsed(policy_id, created_at)
    return version, document, compiled


def active_policy(*, merchant: Merchant) -> tuple[int, PolicyDocument]:
    """(version, document) of the merchant's active policy, or NotFound."""
    version, document, _compiled = _active(merchant)
    return version, document


def policy_version(*, merchant_id: int, version: int) -> PolicyDocument | None:
    """The document of one version of the merchant's policy (the terms a return was decided
    under), or None if there is no such version."""
    row = (
        ReturnPolicy.objects.filter(merchant_id=merchant_id, version=version)
        .values_list("pk", "created_at")
        .first()
    )
    return _parsed(*row)[0] if row is not None else None


def active_compiled_policy(*, merchant: Merchant) -> tuple[int, CompiledPolicy]:
    """(version, compiled policy) for evaluating many lines fast, or NotFound."""
    version, _document, compiled = _active(merchant)
    return version, compiled


def facts_for_order(
    order: OrderSnapshot, lines: Sequence[LineSnapshot]
) -> tuple[OrderFacts, dict[int, LineFacts]]:
    """The plain facts the policy engine needs, from an order (with customer) and its lines."""
    customer = order.customer
    rate = (
        Decimal(customer.units_returned) / Decimal(customer.units_bought)
        if customer.units_bought
        else Decimal(0)
    )
    order_facts = OrderFacts(
        currency=order.currency,
        order_value_minor=order.total_minor,
        placed_at=order.placed_at,
        delivered_at=order.delivered_at,
        payment_method=order.payment_method,
        country=order.shipping_country or None,
        order_tags=frozenset(order.tags),
        customer_tags=frozenset(customer.tags),
        customer=CustomerHistory(
            returns_count=customer.returns_count,
            return_rate=rate,
            returns_value_minor=customer.returns_value_minor,
        ),
    )
    line_facts = {}
    for line in lines:
        product = line.product
        line_facts[line.id] = LineFacts(
            line_ref=line.line_ref,
            product_id=product.external_id if product else "",
            sku=line.sku,
            category=product.category_code if product else None,
            tags=frozenset(product.tags) if product else frozenset(),
            supplier=product.supplier_code if product else None,
            unit_price_minor=line.unit_price_minor,
            final_sale=product.final_sale if product else False,
            returnable=product.returnable if product else True,
        )
    return order_facts, line_facts
