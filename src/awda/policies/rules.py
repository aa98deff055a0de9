"""Evaluating a return policy for order lines: pure functions over plain data.

No database, no clock, no I/O: the caller passes the facts and ``now``. The engine runs for
every line of every portal request, so a document is compiled once (conditions become small
predicates, patches become dicts) and the compiled form is cached on the immutable document.

Dates: a window counts whole days in UTC from the delivery date, or from the order date while
the order is undelivered. Day 0 is the delivery day; with a 30-day window the last day to
ask is delivery date + 30, and the deadline is the end of that day (23:59:59.999999 UTC).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

from awda.core.money import CurrencyMismatch, Money
from awda.policies.document import (
    Conditions,
    ExchangeScope,
    GoodsCondition,
    HigherPriceHandling,
    LowerPriceHandling,
    PolicyDocument,
    RefundTiming,
    Resolution,
    ReturnMethod,
    ShippingPayer,
)
from awda.policies.presets import LegalPreset, legal_minimum_for

BlockingCode = Literal["window_expired", "final_sale", "not_returnable"]


# -- input facts ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerHistory:
    """The customer's past returns, for rules that treat serial returners differently."""

    returns_count: int = 0
    return_rate: Decimal = Decimal(0)
    returns_value_minor: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFacts:
    """What the engine needs to know about an order; amounts in the policy's currency."""

    currency: str
    order_value_minor: int
    placed_at: datetime
    delivered_at: datetime | None
    payment_method: str
    country: str | None
    order_tags: frozenset[str] = frozenset()
    customer_tags: frozenset[str] = frozenset()
    customer: CustomerHistory = CustomerHistory()


@dataclass(frozen=True, slots=True, kw_only=True)
class LineFacts:
    """What the engine needs to know about one order line."""

    line_ref: str
    product_id: str
    sku: str
    category: str | None
    tags: frozenset[str]
    supplier: str | None
    unit_price_minor: int
    final_sale: bool = False
    # False when the catalog flags the product as never returnable.
    returnable: bool = True


# -- output -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EffectiveOutcome:
    """A line's outcome after defaults, matching rules, the legal minimum and keep-item."""

    window_days: int
    returnable: bool
    resolutions: tuple[Resolution, ...]
    methods: tuple[ReturnMethod, ...]
    return_shipping_paid_by: ShippingPayer
    refund_timing: RefundTiming
    condition: GoodsCondition
    restocking_fee_percent: Decimal
    restocking_fee_flat_minor: int
    return_shipping_fee_minor: int
    waive_shipping_for_reasons: tuple[str, ...]
    waive_shipping_for_exchanges: bool
    waive_restocking_for_reasons: tuple[str, ...]
    store_credit_bonus_percent: Decimal
    store_credit_bonus_flat_minor: int
    keep_item_threshold_minor: int
    photos_required: bool
    photos_required_for_reasons: tuple[str, ...]
    manual_review: bool
    exchange_scope: ExchangeScope
    exchange_price_higher: HigherPriceHandling
    exchange_price_lower: LowerPriceHandling
    instant_exchange: bool
    instant_exchange_max_minor: int
    unshipped_expiry_days: int


@dataclass(frozen=True, slots=True)
class Explanation:
    """One reason behind a decision: a stable code plus the values its sentence needs."""

    code: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LineDecision:
    """Whether a line can be returned, on what terms, and why."""

    line_ref: str
    returnable: bool
    outcome: EffectiveOutcome
    matched_rules: tuple[str, ...]
    window_days: int
    deadline: datetime | None
    days_left: int | None
    legal_minimum_applied: LegalPreset | None
    reasons: tuple[Explanation, ...]
    blocking: BlockingCode | None
    keep_item: bool = False
    photos_required: bool = False
    # Rules whose other conditions hold but which wait for a return reason (reason=None):
    # the portal knows the terms may change once the shopper picks one.
    reason_dependent_rules: tuple[str, ...] = ()


# -- compiled policy --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _OrderContext:
    order: OrderFacts
    now: datetime
    start_date: date
    counted_from: Literal["delivery", "order"]
    days_since: int
    reason: str | None
    legal: LegalPreset | None


OrderCheck = Callable[[_OrderContext], bool]
LineCheck = Callable[[LineFacts], bool]


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    id: str
    name: str
    name_ar: str | None
    order_checks: tuple[OrderCheck, ...]
    line_checks: tuple[LineCheck, ...]
    reasons: frozenset[str] | None
    changes: Mapping[str, Any]
    # Only a rule aimed at final-sale lines may make one returnable (e.g. defective goods);
    # a broad "returnable: true" rule must not reopen final sales by accident.
    targets_final_sale: bool


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A PolicyDocument prepared for fast evaluation."""

    document: PolicyDocument
    currency: str
    base: Mapping[str, Any]
    rules: tuple[_CompiledRule, ...]


def _folded(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.casefold() for v in values)


def _line_checks(when: Conditions) -> list[LineCheck]:
    # Identifiers (product ids, SKUs) match exactly; merchant-typed labels (categories, tags,
    # suppliers) match case-insensitively, as store platforms treat them.
    checks: list[LineCheck] = []
    if when.product_ids is not None:
        product_ids = frozenset(when.product_ids)
        checks.append(lambda line: line.product_id in product_ids)
    if when.variant_skus is not None:
        skus = frozenset(when.variant_skus)
        checks.append(lambda line: line.sku in skus)
    if when.categories is not None:
        categories = _folded(when.categories)
        checks.append(
            lambda line: line.category is not None and line.category.casefold() in categories
        )
    if when.tags is not None:
        tags = _folded(when.tags)
        checks.append(lambda line: any(t.casefold() in tags for t in line.tags))
    if when.suppliers is not None:
        suppliers = _folded(when.suppliers)
        checks.append(
            lambda line: line.supplier is not None and line.supplier.casefold() in suppliers
        )
    if when.price_min_minor is not None:
        price_min = when.price_min_minor
        checks.append(lambda line: line.unit_price_minor >= price_min)
    if when.price_max_minor is not None:
        price_max = when.price_max_minor
        checks.append(lambda line: line.unit_price_minor <= price_max)
    if when.final_sale is not None:
        final_sale = when.final_sale
        checks.append(lambda line: line.final_sale is final_sale)
    return checks


def _order_checks(when: Conditions) -> list[OrderCheck]:
    checks: list[OrderCheck] = []
    if when.order_value_min_minor is not None:
        value_min = when.order_value_min_minor
        checks.append(lambda ctx: ctx.order.order_value_minor >= value_min)
    if when.order_value_max_minor is not None:
        value_max = when.order_value_max_minor
        checks.append(lambda ctx: ctx.order.order_value_minor <= value_max)
    if when.order_tags is not None:
        order_tags = _folded(when.order_tags)
        checks.append(lambda ctx: any(t.casefold() in order_tags for t in ctx.order.order_tags))
    if when.customer_tags is not None:
        customer_tags = _folded(when.customer_tags)
        checks.append(
            lambda ctx: any(t.casefold() in customer_tags for t in ctx.order.customer_tags)
        )
    if when.countries is not None:
        countries = frozenset(when.countries)
        checks.append(lambda ctx: (ctx.order.country or "").upper() in countries)
    if when.payment_methods is not None:
        payment_methods = frozenset(when.payment_methods)
        checks.append(lambda ctx: ctx.order.payment_method in payment_methods)
    if when.days_since_delivery_min is not None:
        days_min = when.days_since_delivery_min
        checks.append(lambda ctx: ctx.days_since >= days_min)
    if when.days_since_delivery_max is not None:
        days_max = when.days_since_delivery_max
        checks.append(lambda ctx: ctx.days_since <= days_max)
    if when.customer_returns_count_min is not None:
        count_min = when.customer_returns_count_min
        checks.append(lambda ctx: ctx.order.customer.returns_count >= count_min)
    if when.customer_return_rate_min is not None:
        rate_min = when.customer_return_rate_min
        checks.append(lambda ctx: ctx.order.customer.return_rate >= rate_min)
    if when.customer_returns_value_min_minor is not None:
        returned_min = when.customer_returns_value_min_minor
        checks.append(lambda ctx: ctx.order.customer.returns_value_minor >= returned_min)
    return checks


def compile_policy(policy: PolicyDocument) -> CompiledPolicy:
    """The document's compiled form, built once and cached on the document."""
    cached = policy._compiled
    # model_copy() copies private attributes, so check the cache belongs to this document.
    if isinstance(cached, CompiledPolicy) and cached.document is policy:
        return cached
    compiled = CompiledPolicy(
        document=policy,
        currency=policy.currency,
        base=MappingProxyType(dict(policy.defaults.__dict__)),
        rules=tuple(
            _CompiledRule(
                id=rule.id,
                name=rule.name,
                name_ar=rule.name_ar,
                order_checks=tuple(_order_checks(rule.when)),
                line_checks=tuple(_line_checks(rule.when)),
                reasons=frozenset(rule.when.reasons) if rule.when.reasons is not None else None,
                changes=MappingProxyType(rule.then.changes()),
                targets_final_sale=rule.when.final_sale is True,
            )
            for rule in policy.rules
        ),
    )
    policy._compiled = compiled
    return compiled


# -- evaluation -------------------------------------------------------------------------------
def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


def _order_context(
    compiled: CompiledPolicy, order: OrderFacts, now: datetime, reason: str | None
) -> _OrderContext:
    if order.currency != compiled.currency:
        # Thresholds and fees are minor units of the policy's currency; comparing another
        # currency's amounts against them would be silently wrong.
        raise CurrencyMismatch(f"order in {order.currency}, policy in {compiled.currency}")
    now_utc = _utc(now, "now")
    counted_from: Literal["delivery", "order"]
    if order.delivered_at is not None:
        start, counted_from = _utc(order.delivered_at, "delivered_at"), "delivery"
    else:
        start, counted_from = _utc(order.placed_at, "placed_at"), "order"
    start_date = start.date()
    return _OrderContext(
        order=order,
        now=now_utc,
        start_date=start_date,
        counted_from=counted_from,
        # A carrier clock slightly ahead of ours must not make the count negative.
        days_since=max(0, (now_utc.date() - start_date).days),
        reason=reason,
        # Consumer law protects the shopper where they live; the merchant's own preset stands
        # in when the shipping country is unknown.
        legal=legal_minimum_for(order.country or compiled.document.country),
    )


def _order_rules(compiled: CompiledPolicy, ctx: _OrderContext) -> list[_CompiledRule]:
    """The rules whose order-level conditions hold (reason conditions are checked per line)."""
    return [rule for rule in compiled.rules if all(check(ctx) for check in rule.order_checks)]


def deadline_for(start_date: date, window_days: int) -> datetime:
    """The end (UTC) of the last day of a window that starts on ``start_date``."""
    return datetime.combine(start_date + timedelta(days=window_days), time.max, tzinfo=UTC)


def _rule_params(rule: _CompiledRule) -> dict[str, object]:
    return {"rule_id": rule.id, "name": rule.name, "name_ar": rule.name_ar}


def _decide(
    compiled: CompiledPolicy,
    ctx: _OrderContext,
    rules: Sequence[_CompiledRule],
    line: LineFacts,
) -> LineDecision:
    values = dict(compiled.base)
    matched: list[_CompiledRule] = []
    waiting: list[str] = []
    returnable_set_by: _CompiledRule | None = None
    final_sale_reopened = False
    reason = ctx.reason
    for rule in rules:
        if not all(check(line) for check in rule.line_checks):
            continue
        if rule.reasons is not None:
            if reason is None:
                waiting.append(rule.id)
                continue
            if reason not in rule.reasons:
                continue
        values.update(rule.changes)
        matched.append(rule)
        if "returnable" in rule.changes:
            returnable_set_by = rule
            # Only a rule aimed at final-sale lines reopens them; any later rule closing the
            # line closes it again, and a broad reopening rule changes nothing for them.
            if rule.targets_final_sale or not rule.changes["returnable"]:
                final_sale_reopened = rule.changes["returnable"]

    currency = compiled.currency
    threshold = values["keep_item_threshold_minor"]
    keep_item = "keep_item" in values["methods"] and line.unit_price_minor < threshold
    if keep_item:
        # Below the threshold the item isn't worth shipping back: keeping it is the method.
        values["methods"] = ("keep_item",)
    else:
        values["methods"] = tuple(m for m in values["methods"] if m != "keep_item")

    explanations: list[Explanation] = []
    blocking: BlockingCode | None = None
    if not line.returnable:
        blocking = "not_returnable"
        explanations.append(Explanation("product_not_returnable"))
    elif line.final_sale and not final_sale_reopened:
        blocking = "final_sale"
        explanations.append(Explanation("final_sale"))
    elif not values["returnable"] or not values["resolutions"] or not values["methods"]:
        # Validation rejects rules that contradict the defaults, but two rules together can
        # still leave nothing to offer; treat that as not returnable rather than crash.
        blocking = "not_returnable"
        explanations.append(
            Explanation(
                "policy_not_returnable",
                _rule_params(returnable_set_by) if returnable_set_by is not None else {},
            )
        )

    window_days: int = values["window_days"]
    legal_applied: LegalPreset | None = None
    deadline: datetime | None = None
    days_left: int | None = None
    if blocking is None:
        # The law sets a floor on the *length* of the window for goods returnable by their
        # nature; lines the merchant marked final sale or not returnable (lawful exceptions
        # such as hygiene goods) are left as they are — see presets.py.
        legal = ctx.legal
        if legal is not None and window_days < legal.window_days:
            window_days = legal.window_days
            legal_applied = legal
            explanations.append(
                Explanation(
                    "legal_minimum_applied",
                    {
                        "code": legal.code,
                        "law_en": legal.label_en,
                        "law_ar": legal.label_ar,
                        "days": legal.window_days,
                    },
                )
            )
        deadline = deadline_for(ctx.start_date, window_days)
        if ctx.now > deadline:
            blocking = "window_expired"
            explanations.insert(0, Explanation("window_expired", {"deadline": deadline}))
        else:
            days_left = (deadline.date() - ctx.now.date()).days
            explanations.insert(
                0,
                Explanation(
                    "window_open",
                    {
                        "deadline": deadline,
                        "days_left": days_left,
                        "counted_from": ctx.counted_from,
                    },
                ),
            )

    returnable = blocking is None
    photos_required = bool(
        values["photos_required"]
        or (reason is not None and reason in values["photos_required_for_reasons"])
    )
    if returnable:
        explanations.extend(_terms(values, currency, reason, keep_item, photos_required))
    explanations.extend(Explanation("rule_matched", _rule_params(rule)) for rule in matched)

    values["returnable"] = returnable
    values["window_days"] = window_days
    return LineDecision(
        line_ref=line.line_ref,
        returnable=returnable,
        outcome=EffectiveOutcome(**values),
        matched_rules=tuple(rule.id for rule in matched),
        window_days=window_days,
        deadline=deadline,
        days_left=days_left,
        legal_minimum_applied=legal_applied,
        reasons=tuple(explanations),
        blocking=blocking,
        keep_item=keep_item and returnable,
        photos_required=photos_required and returnable,
        reason_dependent_rules=tuple(waiting),
    )


def _terms(
    values: Mapping[str, Any],
    currency: str,
    reason: str | None,
    keep_item: bool,
    photos_required: bool,
) -> list[Explanation]:
    """The terms a shopper should know before asking to return a returnable line."""
    terms: list[Explanation] = []
    if keep_item:
        terms.append(Explanation("keep_item"))
    if photos_required:
        terms.append(Explanation("photos_required"))
    if values["manual_review"]:
        terms.append(Explanation("manual_review"))
    percent: Decimal = values["restocking_fee_percent"]
    flat: int = values["restocking_fee_flat_minor"]
    if (percent or flat) and reason not in values["waive_restocking_for_reasons"]:
        terms.append(
            Explanation("restocking_fee", {"percent": percent, "flat": Money(flat, currency)})
        )
    if not keep_item:
        fee: int = values["return_shipping_fee_minor"]
        # "customer" with a zero fee is a free return too.
        if values["return_shipping_paid_by"] == "merchant" or fee == 0:
            terms.append(Explanation("return_shipping_free", {"why": "policy"}))
        elif reason is not None and reason in values["waive_shipping_for_reasons"]:
            terms.append(Explanation("return_shipping_free", {"why": "reason"}))
        else:
            terms.append(
                Explanation(
                    "return_shipping_fee",
                    {
                        "fee": Money(fee, currency),
                        "free_for_exchanges": values["waive_shipping_for_exchanges"]
                        and "exchange" in values["resolutions"],
                    },
                )
            )
    bonus_percent: Decimal = values["store_credit_bonus_percent"]
    bonus_flat: int = values["store_credit_bonus_flat_minor"]
    if "store_credit" in values["resolutions"] and (bonus_percent or bonus_flat):
        terms.append(
            Explanation(
                "store_credit_bonus",
                {"percent": bonus_percent, "flat": Money(bonus_flat, currency)},
            )
        )
    terms.append(Explanation("refund_timing", {"timing": values["refund_timing"]}))
    return terms


def evaluate_line(
    policy: PolicyDocument | CompiledPolicy,
    order: OrderFacts,
    line: LineFacts,
    *,
    now: datetime,
    reason: str | None = None,
) -> LineDecision:
    """Decide whether ``line`` can be returned at ``now`` and on what terms.

    With ``reason=None`` (the shopper hasn't picked one yet) rules that have a ``reasons``
    condition are not applied; they are listed in ``reason_dependent_rules`` instead, and the
    returns service evaluates again with the chosen reason.
    """
    return evaluate_order(policy, order, (line,), now=now, reason=reason)[0]


def evaluate_order(
    policy: PolicyDocument | CompiledPolicy,
    order: OrderFacts,
    lines: Iterable[LineFacts],
    *,
    now: datetime,
    reason: str | None = None,
) -> list[LineDecision]:
    """Decide every line of an order; order-level conditions are checked once per rule.

    ``reason`` works as in ``evaluate_line``.
    """
    compiled = policy if isinstance(policy, CompiledPolicy) else compile_policy(policy)
    ctx = _order_context(compiled, order, now, reason)
    rules = _order_rules(compiled, ctx)
    return [_decide(compiled, ctx, rules, line) for line in lines]
