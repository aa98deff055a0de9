"""Reads of returns and of what an order can still return, scoped to one merchant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings
from django.db import connection
from django.db.models import Prefetch, QuerySet

from awda.core import clock
from awda.core.cache import LocalCache
from awda.core.db import db_datetime, db_json
from awda.core.errors import NotFound
from awda.core.ids import normalise_return_number
from awda.core.money import Money
from awda.merchants.models import Merchant
from awda.orders.models import Order
from awda.orders.selectors import OrderSnapshot, get_order_lines
from awda.policies.explain import explain_both
from awda.policies.rules import LineDecision, evaluate_order
from awda.policies.selectors import active_compiled_policy, facts_for_order
from awda.returns.models import Resolution, Return, ReturnItem, ReturnReason, TimelineEntry
from awda.returns.quote import QuoteLine, ReturnQuote, quote_return


@dataclass(frozen=True)
class ReturnableLine:
    line_ref: str
    sku: str
    title_en: str
    title_ar: str
    quantity: int
    returnable_quantity: int
    decision: LineDecision
    explanation: dict[str, list[str]]
    preview: ReturnQuote | None  # every still-returnable unit, before return shipping
    image_url: str = ""
    options: dict[str, str] = field(default_factory=dict)  # the variant's {"size": "M"}


def returnable_lines(
    *, merchant: Merchant, order_number: str, now: datetime | None = None
) -> tuple[OrderSnapshot, int, list[ReturnableLine]]:
    """Each line of an order with the policy's decision, its explanation and a quote preview."""
    order, lines = get_order_lines(merchant=merchant, number=order_number)
    version, policy = active_compiled_policy(merchant=merchant)
    order_facts, line_facts = facts_for_order(order, lines)
    moment = now or clock.now()
    decisions = evaluate_order(policy, order_facts, [line_facts[li.id] for li in lines], now=moment)
    result = []
    for line, decision in zip(lines, decisions, strict=True):
        available = line.delivered_quantity - line.returned_quantity
        preview = None
        if decision.returnable and available > 0:
            outcome = decision.outcome
            currency = order.currency
            preview = quote_return(
                currency=currency,
                lines=[
                    QuoteLine(
                        line_ref=line.line_ref,
                        unit_price=Money(line.unit_price_minor, currency),
                        ordered_quantity=line.quantity,
                        discount_total=Money(line.discount_minor, currency),
                        tax_total=Money(line.tax_minor, currency),
                        prices_include_tax=order.prices_include_tax,
                        already_returned_quantity=line.returned_quantity,
                        return_quantity=available,
                        restocking_fee_percent=outcome.restocking_fee_percent,
                        restocking_fee_flat=Money(outcome.restocking_fee_flat_minor, currency),
                        waive_restocking=False,
                        exchange_unit_price=None,
                    )
                ],
                return_shipping_fee=Money(0, currency),
                waive_return_shipping=True,
                store_credit_bonus_percent=Decimal(outcome.store_credit_bonus_percent),
                store_credit_bonus_flat=Money(outcome.store_credit_bonus_flat_minor, currency),
            )
        result.append(
            ReturnableLine(
                line_ref=line.line_ref,
                sku=line.sku,
                title_en=line.title_en,
                title_ar=line.title_ar,
                quantity=line.quantity,
                returnable_quantity=available if decision.returnable else 0,
                decision=decision,
                explanation=explain_both(decision),
                preview=preview,
                image_url=line.product.image_url if line.product else "",
                options=line.variant_options,
            )
        )
    return order, version, result


def get_return(*, merchant: Merchant, number: str) -> Return:
    """A return with its order, items and timeline, or NotFound."""
    ret = (
        Return.objects.filter(merchant=merchant)
        .select_related("order", "customer")
        .prefetch_related(  # type: ignore[type-var]  # stubs can't type the inherited manager
            Prefetch(
                "items",
                queryset=ReturnItem.objects.select_related(
                    "order_line", "exchange_variant"
                ).order_by("pk"),
            ),
            Prefetch("timeline", queryset=TimelineEntry.objects.order_by("at", "pk")),
        )
        .filter(number=normalise_return_number(number))
        .first()
    )
    if ret is None:
        raise NotFound(details={"return": number})
    return ret


@dataclass(frozen=True)
class ItemMoney:
    resolution: str
    refund_minor: int


@dataclass(frozen=True)
class TimelineFact:
    at: datetime
    kind: str
    to_status: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReturnSummary:
    """What a return's status page shows, read as plain values."""

    id: int
    number: str
    status: str
    method: str
    currency: str
    order_id: int
    order_number: str
    refund_total_minor: int
    store_credit_total_minor: int
    items: tuple[ItemMoney, ...]
    timeline: tuple[TimelineFact, ...]  # oldest first


def get_return_summary(*, merchant: Merchant, number: str) -> ReturnSummary:
    """The return's status-page facts (three plain queries), or NotFound."""
    table, items, timeline = (
        Return._meta.db_table, ReturnItem._meta.db_table, TimelineEntry._meta.db_table
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.id, r.number, r.status, r.method, r.currency, r.order_id, o.number, "  # noqa: S608
            f"r.refund_total_minor, r.store_credit_total_minor FROM {table} r "
            f"JOIN {Order._meta.db_table} o ON o.id = r.order_id "
            "WHERE r.merchant_id = %s AND r.number = %s",
            [merchant.pk, normalise_return_number(number)],
        )
        row = cursor.fetchone()
        if row is None:
            raise NotFound(details={"return": number})
        cursor.execute(
            f"SELECT resolution, refund_minor FROM {items} "  # noqa: S608
            "WHERE return_request_id = %s ORDER BY id",
            [row[0]],
        )
        item_rows = cursor.fetchall()
        cursor.execute(
            f"SELECT at, kind, to_status, data FROM {timeline} "  # noqa: S608
            "WHERE return_request_id = %s ORDER BY at, id",
            [row[0]],
        )
        facts = [
            TimelineFact(db_datetime(at) or clock.now(), k, t, db_json(d) or {})
            for at, k, t, d in cursor
        ]
    return_id, number, status, method, currency, order_id, order_number, refund, credit = row
    return ReturnSummary(
        id=return_id,
        number=number,
        status=status,
        method=method,
        currency=currency,
        order_id=order_id,
        order_number=order_number,
        refund_total_minor=refund,
        store_credit_total_minor=credit,
        items=tuple(ItemMoney(*r) for r in item_rows),
        timeline=tuple(facts),
    )


def list_returns(
    *,
    merchant: Merchant,
    status: str | None = None,
    order_number: str | None = None,
    customer_email: str | None = None,
    requested_after: datetime | None = None,
    requested_before: datetime | None = None,
    money_review: bool | None = None,
) -> QuerySet[Return]:
    """Returns of one merchant, newest first, filtered."""
    qs = Return.objects.for_merchant(merchant).select_related("order", "customer")
    if status:
        qs = qs.filter(status=status)
    if money_review is not None:
        # Returns whose money job failed for a business reason (hold_money_for_review).
        qs = (
            qs.exclude(money_review_reason="")
            if money_review
            else qs.filter(money_review_reason="")
        )
    if order_number:
        qs = qs.filter(order__number=order_number)
    if customer_email:
        qs = qs.filter(customer__email=customer_email.strip().lower())
    if requested_after:
        qs = qs.filter(requested_at__gte=requested_after)
    if requested_before:
        qs = qs.filter(requested_at__lt=requested_before)
    return qs.order_by("-requested_at", "-pk")


@dataclass(frozen=True)
class ReasonLabel:
    code: str
    parent_code: str | None  # None for a top-level reason
    label_en: str
    label_ar: str
    merchant_fault: bool


# merchant id -> its active reasons in display order, read by every new return and every
# portal page that offers them. An edit in the admin shows within the cache's time.
reasons_cache: LocalCache[int, tuple[ReasonLabel, ...]] = LocalCache(
    "return reasons", ttl=settings.AWDA_LOCAL_CACHE_SECONDS
)


def reason_labels(*, merchant: Merchant) -> tuple[ReasonLabel, ...]:
    """The merchant's active reasons and sub-reasons, in display order."""

    def load() -> tuple[ReasonLabel, ...]:
        rows = (
            ReturnReason.objects.for_merchant(merchant)
            .filter(active=True)
            .order_by("position", "pk")
            .values_list("code", "parent__code", "label_en", "label_ar", "merchant_fault")
        )
        return tuple(ReasonLabel(*row) for row in rows)

    return reasons_cache.get_or_load(merchant.pk, load) or ()


def active_reason_parents(*, merchant: Merchant) -> dict[str, str | None]:
    """Each active reason code of the merchant with its parent's code (None for top level)."""
    return {r.code: r.parent_code for r in reason_labels(merchant=merchant)}


def list_reasons(*, merchant: Merchant) -> list[ReturnReason]:
    """Active reasons of a merchant with their sub-reasons, in display order."""
    return list(
        ReturnReason.objects.for_merchant(merchant)
        .filter(active=True)
        .select_related("parent")
        .order_by("position", "pk")
    )


def find_by_idempotency_key(*, merchant: Merchant, key: str) -> Return | None:
    """The return a request with this idempotency key created, with its details."""
    number = (
        Return.objects.for_merchant(merchant)
        .filter(idempotency_key=key)
        .values_list("number", flat=True)
        .first()
    )
    return get_return(merchant=merchant, number=number) if number else None


@dataclass(frozen=True)
class ResolutionMoney:
    """What the shopper gets back for the resolutions they chose (minor units)."""

    refund_minor: int
    store_credit_minor: int


class _Totals(Protocol):
    @property
    def currency(self) -> str: ...
    @property
    def refund_total_minor(self) -> int: ...
    @property
    def store_credit_total_minor(self) -> int: ...


class _ItemMoney(Protocol):
    @property
    def resolution(self) -> str: ...
    @property
    def refund_minor(self) -> int: ...


def money_by_resolution(ret: _Totals, items: Sequence[_ItemMoney]) -> ResolutionMoney:
    """The return's quote split by what each item chose: refund items give their refunds,
    store-credit items theirs plus a share of the bonus (largest remainder, so the parts
    add up); exchanged items give none."""
    refund_items = [i for i in items if i.resolution == Resolution.REFUND]
    credit_items = [i for i in items if i.resolution == Resolution.STORE_CREDIT]
    if items and len(refund_items) == len(items):
        return ResolutionMoney(ret.refund_total_minor, 0)
    if items and len(credit_items) == len(items):
        return ResolutionMoney(0, ret.store_credit_total_minor)
    bonus = Money(ret.store_credit_total_minor - ret.refund_total_minor, ret.currency)
    shares = bonus.allocate([i.refund_minor for i in items]) if items else []
    return ResolutionMoney(
        refund_minor=sum(i.refund_minor for i in refund_items),
        store_credit_minor=sum(
            i.refund_minor + share.minor
            for i, share in zip(items, shares, strict=True)
            if i.resolution == Resolution.STORE_CREDIT
        ),
    )


def money_for_paid_items(
    ret: _Totals, items: Sequence[_ItemMoney], paid: Sequence[bool]
) -> ResolutionMoney:
    """``money_by_resolution`` for the items marked ``paid`` (a mask over ``items``): what a
    return paid only in part (items found missing, wrong or rejected get none) owes.

    Each store-credit item keeps its share of the bonus as shared over every item, so the
    paid parts and the unpaid ones add up to the whole return's money."""
    if all(paid):
        return money_by_resolution(ret, items)
    bonus = Money(ret.store_credit_total_minor - ret.refund_total_minor, ret.currency)
    shares = bonus.allocate([i.refund_minor for i in items]) if items else []
    refund = credit = 0
    for item, share, is_paid in zip(items, shares, paid, strict=True):
        if not is_paid:
            continue
        if item.resolution == Resolution.REFUND:
            refund += item.refund_minor
        elif item.resolution == Resolution.STORE_CREDIT:
            credit += item.refund_minor + share.minor
    return ResolutionMoney(refund_minor=refund, store_credit_minor=credit)
