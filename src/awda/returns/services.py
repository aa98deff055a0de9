"""Return use cases. Each is one transaction writing the state change (compare-and-swap),
a timeline entry and outbox events; nothing else writes a return's status."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, QuerySet
from django.utils.translation import gettext_lazy as _

from awda.catalog.models import Variant
from awda.core import clock
from awda.core.db import loaded_instance
from awda.core.errors import Conflict, DomainError, InvalidInput, InvalidTransition, NotFound
from awda.core.ids import new_return_number, normalise_return_number
from awda.core.money import Money, round_minor
from awda.core.outbox import record_event, record_events
from awda.exchanges import selectors as exchange_selectors
from awda.exchanges import services as exchanges
from awda.merchants.models import Merchant
from awda.orders.models import Customer, LineRefund, LineRefundKind, Order, OrderLine
from awda.orders.selectors import (
    LineSnapshot,
    OrderSnapshot,
    get_order_lines,
    lock_order_lines,
)
from awda.orders.services import LineCount, count_refunds_on_lines, lock_money_rows
from awda.payments.services import (
    PayoutAsk,
    RefundAsk,
    request_bank_payouts,
    request_refunds,
)
from awda.policies.rules import LineDecision, evaluate_line
from awda.policies.selectors import (
    active_compiled_policy,
    active_policy,
    facts_for_order,
    policy_version,
)
from awda.returns import errors
from awda.returns.models import (
    Condition,
    Decision,
    Disposition,
    Reception,
    Resolution,
    Return,
    ReturnItem,
    ReturnMethod,
    ReturnReason,
    ReturnStatus,
    TimelineEntry,
)
from awda.returns.photos import attach_photos
from awda.returns.quote import QuoteLine, ReturnQuote, quote_return
from awda.returns.rules import INSPECTABLE, RELEASES_UNITS, TERMINAL, next_status
from awda.returns.selectors import (
    ResolutionMoney,
    active_reason_parents,
    money_by_resolution,
    reasons_cache,
)
from awda.wallet.services import (
    GrantAsk,
    claw_back_store_credit,
    grant_store_credits,
    lock_credit_accounts,
)


@dataclass(frozen=True)
class ItemRequest:
    line_ref: str
    quantity: int
    reason: str
    sub_reason: str = ""
    comment: str = ""
    resolution: str = Resolution.REFUND
    exchange_sku: str | None = None
    photo_ids: tuple[int, ...] = ()  # uploaded beforehand (returns.photos.store_photo)


@dataclass(frozen=True)
class PolicyOverride:
    """A person's decision to open a return the policy refuses, and why (on its timeline)."""

    actor: str
    reason: str


# The timeline entry of an override; its data lists what was set aside on each line.
POLICY_OVERRIDDEN = "policy_overridden"
_MAX_OVERRIDE_REASON = 1000


@dataclass(frozen=True)
class ReceivedItem:
    line_ref: str
    quantity: int
    reception: str = Reception.RECEIVED


@dataclass(frozen=True)
class InspectedItem:
    line_ref: str
    condition: str  # Condition; may stay empty for an item that never arrived
    decision: str  # Decision.ACCEPTED or Decision.REJECTED
    note: str = ""  # the warehouse's words: why rejected, what was seen


# -- helpers ----------------------------------------------------------------------------------


def _event_payload(ret: Return, **extra: Any) -> dict[str, Any]:
    return {
        "return_id": ret.pk,
        "number": ret.number,
        "order_id": ret.order_id,
        "customer_id": ret.customer_id,
        "status": ret.status,
        **extra,
    }


def _timeline(ret: Return, *, kind: str, actor: str, at: datetime, **fields: Any) -> None:
    entry = TimelineEntry.objects.create(
        merchant_id=ret.merchant_id, return_request=ret, kind=kind, actor=actor, at=at, **fields
    )
    # Kept on the instance so a caller can show the new entries without reading them back.
    ret.__dict__.setdefault("_new_timeline", []).append(entry)


def _timeline_many(entries: Sequence[tuple[Return, str, datetime, dict[str, Any]]]) -> None:
    """The system's ``(return, kind, at, data)`` notes on several timelines, one statement."""
    created = TimelineEntry.objects.bulk_create(
        [
            TimelineEntry(
                merchant_id=ret.merchant_id,
                return_request=ret,
                kind=kind,
                actor="system",
                at=at,
                data=data,
            )
            for ret, kind, at, data in entries
        ]
    )
    for (ret, *_rest), entry in zip(entries, created, strict=True):
        ret.__dict__.setdefault("_new_timeline", []).append(entry)


_EVENT_FOR_STATUS: dict[str, str] = {
    ReturnStatus.APPROVED: "ReturnApproved",
    ReturnStatus.PENDING_REVIEW: "ReturnFlaggedForReview",
    ReturnStatus.REJECTED: "ReturnRejected",
    ReturnStatus.CANCELLED: "ReturnCancelled",
    ReturnStatus.EXPIRED: "ReturnExpired",
    ReturnStatus.IN_TRANSIT: "FirstScanRecorded",
    ReturnStatus.DELIVERED: "ParcelDelivered",
    ReturnStatus.RECEIVED: "ReturnReceived",
    ReturnStatus.IN_REVIEW: "ReturnHeldForReview",
    ReturnStatus.COMPLETED: "ReturnCompleted",
}


def _transition(
    ret: Return,
    action: str,
    *,
    actor: str,
    now: datetime,
    note: str = "",
    changes: dict[str, Any] | None = None,
) -> Return:
    """Move ``ret`` by ``action`` with a compare-and-swap; the caller holds the transaction."""
    target = next_status(ret.status, action)
    if target is None:
        raise InvalidTransition(details={"current_status": ret.status, "action": action})
    fields: dict[str, Any] = {"status": target, "updated_at": now, **(changes or {})}
    if target in TERMINAL:
        fields["closed_at"] = now
    updated = Return.objects.filter(pk=ret.pk, status=ret.status).update(**fields)
    if updated != 1:
        # Someone else moved it first: report the state they left it in.
        current = Return.objects.filter(pk=ret.pk).values_list("status", flat=True).first()
        raise InvalidTransition(details={"current_status": current, "action": action})
    previous = ret.status
    for key, value in fields.items():
        setattr(ret, key, value)
    if target in RELEASES_UNITS:
        _release_units(ret)
    _timeline(
        ret,
        kind="status_changed",
        actor=actor,
        at=now,
        from_status=previous,
        to_status=target,
        note=note,
    )
    record_event(
        _EVENT_FOR_STATUS[target],
        _event_payload(ret, from_status=previous, note=note),
        merchant_id=ret.merchant_id,
        aggregate_type="return",
        aggregate_id=ret.pk,
    )
    return ret


def _release_units(ret: Return) -> None:
    items = list(
        ReturnItem.objects.filter(return_request=ret).values_list("order_line_id", "quantity")
    )
    # Lines locked in primary-key order, as everywhere, so two releases can't deadlock.
    line_ids = sorted(line_id for line_id, _ in items)
    list(OrderLine.objects.select_for_update().filter(pk__in=line_ids).order_by("pk"))
    for line_id, quantity in sorted(items):
        OrderLine.objects.filter(pk=line_id).update(
            returned_quantity=F("returned_quantity") - quantity
        )
    exchanges.release_exchange(return_id=ret.pk)  # stock held for an exchange goes back


def _load_for_update(merchant: Merchant, number: str) -> Return:
    ret = (
        Return.objects.for_merchant(merchant)
        .select_for_update()
        .filter(number=normalise_return_number(number))
        .first()
    )
    if ret is None:
        raise NotFound(details={"return": number})
    return ret


# -- request ----------------------------------------------------------------------------------


def _validate_request(items: Sequence[ItemRequest], method: str) -> None:
    _validate_items(items)
    if method not in ReturnMethod.values:
        raise InvalidInput(_("Unknown return method."), field="method")


def _validate_items(items: Sequence[ItemRequest]) -> None:
    if not items:
        raise InvalidInput(_("Choose at least one item to return."), field="items")
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.line_ref in seen:
            raise InvalidInput(_("Each item may appear once."), field=f"items.{i}.line_ref")
        seen.add(item.line_ref)
        if item.quantity < 1:
            raise InvalidInput(_("Quantity must be at least 1."), field=f"items.{i}.quantity")
        if item.resolution not in Resolution.values:
            raise InvalidInput(_("Unknown resolution."), field=f"items.{i}.resolution")


def _normalise_reasons(merchant: Merchant, items: Sequence[ItemRequest]) -> list[ItemRequest]:
    """Check reason codes; a sub-reason given as the reason is read as (its parent, it)."""
    known = active_reason_parents(merchant=merchant)
    result = []
    for i, item in enumerate(items):
        if item.reason not in known:
            raise errors.UnknownReason(field=f"items.{i}.reason", details={"reason": item.reason})
        parent = known[item.reason]
        if parent is not None:
            if item.sub_reason and item.sub_reason != item.reason:
                raise errors.UnknownReason(
                    field=f"items.{i}.sub_reason", details={"sub_reason": item.sub_reason}
                )
            item = replace(item, reason=parent, sub_reason=item.reason)
        elif item.sub_reason and known.get(item.sub_reason, "") != item.reason:
            raise errors.UnknownReason(
                field=f"items.{i}.sub_reason", details={"sub_reason": item.sub_reason}
            )
        result.append(item)
    return result


def _validate_override(override: PolicyOverride | None) -> None:
    if override is None:
        return
    if not override.reason.strip():
        raise InvalidInput(_("Say why the policy is set aside."), field="override_reason")
    if len(override.reason) > _MAX_OVERRIDE_REASON:
        raise InvalidInput(
            _("Keep the reason under %(n)s characters.") % {"n": _MAX_OVERRIDE_REASON},
            field="override_reason",
        )


def _refuse(error: DomainError, waived: list[str] | None) -> None:
    """Raise a refusal of the policy's, or, under an override, note its code instead."""
    if waived is None:
        raise error
    waived.append(error.code)


def _check_decision(
    i: int,
    item: ItemRequest,
    line: LineSnapshot,
    decision: LineDecision,
    waived: list[str] | None = None,
) -> None:
    if not decision.returnable:
        error = errors.BLOCKING_ERRORS.get(decision.blocking or "", errors.NotReturnable)
        _refuse(error(field=f"items.{i}.line_ref", details={"line_ref": line.line_ref}), waived)
    # More units than arrived and aren't already returned is refused even under an
    # override: those units don't exist to send back (the CHECK on the line says so too).
    available = line.delivered_quantity - line.returned_quantity
    if item.quantity > available:
        raise errors.QuantityExceedsReturnable(
            field=f"items.{i}.quantity",
            details={
                "line_ref": line.line_ref,
                "requested": item.quantity,
                "returnable": available,
            },
        )
    if item.resolution not in decision.outcome.resolutions:
        _refuse(
            errors.ResolutionNotAllowed(
                field=f"items.{i}.resolution",
                details={"allowed": list(decision.outcome.resolutions)},
            ),
            waived,
        )


def _exchange_variant(
    merchant: Merchant,
    i: int,
    item: ItemRequest,
    line: LineSnapshot,
    decision: LineDecision,
    waived: list[str] | None = None,
) -> Variant | None:
    if item.resolution != Resolution.EXCHANGE:
        return None
    scope = decision.outcome.exchange_scope
    if not item.exchange_sku:
        raise errors.ExchangeNotAllowed(field=f"items.{i}.exchange_sku")
    if scope == "none":
        _refuse(errors.ExchangeNotAllowed(field=f"items.{i}.exchange_sku"), waived)
    # An override sets the policy's scope aside, never the catalogue: the SKU must exist.
    variant = Variant.objects.for_merchant(merchant).filter(sku=item.exchange_sku).first()
    if variant is None:
        raise errors.ExchangeNotAllowed(
            _("Unknown product for the exchange."), field=f"items.{i}.exchange_sku"
        )
    if scope == "same_product" and variant.product_id != line.product_id:
        _refuse(
            errors.ExchangeNotAllowed(
                _("Exchanges are for another size or colour of the same product."),
                field=f"items.{i}.exchange_sku",
            ),
            waived,
        )
    return variant


def _build_quote(
    order: OrderSnapshot,
    items: Sequence[ItemRequest],
    lines: dict[str, LineSnapshot],
    decisions: dict[str, LineDecision],
    exchange_variants: dict[str, Variant | None],
) -> ReturnQuote:
    currency = order.currency
    quote_lines = []
    shipping_waived = True
    shipping_fee = 0
    bonus_percent: Decimal | None = None
    bonus_flat: int | None = None
    for item in items:
        line = lines[item.line_ref]
        outcome = decisions[item.line_ref].outcome
        variant = exchange_variants.get(item.line_ref)
        waive_restocking = item.reason in outcome.waive_restocking_for_reasons
        quote_lines.append(
            QuoteLine(
                line_ref=line.line_ref,
                unit_price=Money(line.unit_price_minor, currency),
                ordered_quantity=line.quantity,
                discount_total=Money(line.discount_minor, currency),
                tax_total=Money(line.tax_minor, currency),
                prices_include_tax=order.prices_include_tax,
                already_returned_quantity=line.returned_quantity,
                return_quantity=item.quantity,
                restocking_fee_percent=outcome.restocking_fee_percent,
                restocking_fee_flat=Money(outcome.restocking_fee_flat_minor, currency),
                waive_restocking=waive_restocking,
                exchange_unit_price=Money(variant.price_minor, currency) if variant else None,
            )
        )
        item_waived = (
            outcome.return_shipping_paid_by == "merchant"
            or item.reason in outcome.waive_shipping_for_reasons
            or (item.resolution == Resolution.EXCHANGE and outcome.waive_shipping_for_exchanges)
        )
        if not item_waived:
            shipping_waived = False
            shipping_fee = max(shipping_fee, outcome.return_shipping_fee_minor)
        # Several items may match rules with different bonuses: the return gets the
        # smallest, so adding an item never raises the bonus on the others.
        p, f = outcome.store_credit_bonus_percent, outcome.store_credit_bonus_flat_minor
        bonus_percent = p if bonus_percent is None else min(bonus_percent, p)
        bonus_flat = f if bonus_flat is None else min(bonus_flat, f)
    return quote_return(
        currency=currency,
        lines=quote_lines,
        return_shipping_fee=Money(shipping_fee, currency),
        waive_return_shipping=shipping_waived,
        store_credit_bonus_percent=bonus_percent or Decimal(0),
        store_credit_bonus_flat=Money(bonus_flat or 0, currency),
    )


@dataclass(frozen=True)
class ReturnPlan:
    """What a return of these items would be, checked against the policy: no writes."""

    order: OrderSnapshot
    lines: dict[str, LineSnapshot]
    decisions: dict[str, LineDecision]
    exchange_variants: dict[str, Variant | None]
    quote: ReturnQuote
    policy_version: int
    needs_review: bool
    photos_missing: bool
    expiry_days: int
    refund_timing: str
    # Under an override: each line's refusals that were set aside (error codes), in order.
    overridden: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _plan(
    merchant: Merchant,
    order: OrderSnapshot,
    lines: dict[str, LineSnapshot],
    items: Sequence[ItemRequest],
    method: str,
    *,
    now: datetime,
    override: bool = False,
) -> ReturnPlan:
    """With ``override`` the policy's refusals (not returnable, a resolution or method it
    doesn't offer) are noted per line instead of raised; its terms still price the return."""
    version, policy = active_compiled_policy(merchant=merchant)
    order_facts, line_facts = facts_for_order(order, list(lines.values()))
    decisions: dict[str, LineDecision] = {}
    exchange_variants: dict[str, Variant | None] = {}
    waived: dict[str, list[str]] | None = {} if override else None
    for i, item in enumerate(items):
        line = lines[item.line_ref]
        decision = evaluate_line(
            policy, order_facts, line_facts[line.id], now=now, reason=item.reason
        )
        codes = None if waived is None else waived.setdefault(item.line_ref, [])
        _check_decision(i, item, line, decision, codes)
        decisions[item.line_ref] = decision
        exchange_variants[item.line_ref] = _exchange_variant(
            merchant, i, item, line, decision, codes
        )
    for item in items:
        allowed = decisions[item.line_ref].outcome.methods
        if method not in allowed:
            _refuse(
                errors.MethodNotAllowed(field="method", details={"allowed": list(allowed)}),
                None if waived is None else waived[item.line_ref],
            )
    if method == ReturnMethod.KEEP_ITEM:
        _check_keep_item(items, lines, decisions, waived)
    outcomes = [d.outcome for d in decisions.values()]
    photos_missing = any(
        (o.photos_required or item.reason in o.photos_required_for_reasons) and not item.photo_ids
        for item in items
        for o in [decisions[item.line_ref].outcome]
    )
    return ReturnPlan(
        order=order,
        lines=lines,
        decisions=decisions,
        exchange_variants=exchange_variants,
        quote=_build_quote(order, items, lines, decisions, exchange_variants),
        policy_version=version,
        # A return whose photos are missing waits for a person instead of being approved;
        # under an override a person has decided already.
        needs_review=not override and (photos_missing or any(o.manual_review for o in outcomes)),
        photos_missing=photos_missing,
        expiry_days=min(o.unshipped_expiry_days for o in outcomes),
        refund_timing=_strictest_timing([o.refund_timing for o in outcomes]),
        overridden={ref: tuple(dict.fromkeys(codes)) for ref, codes in (waived or {}).items()},
    )


def _lines_or_not_found(
    items: Sequence[ItemRequest], found: Sequence[LineSnapshot]
) -> dict[str, LineSnapshot]:
    lines = {line.line_ref: line for line in found}
    for i, item in enumerate(items):
        if item.line_ref not in lines:
            raise NotFound(
                _("This order has no such line."),
                field=f"items.{i}.line_ref",
                details={"line_ref": item.line_ref},
            )
    return lines


def preview_return(
    *, merchant: Merchant, order_number: str, items: Sequence[ItemRequest], method: str
) -> ReturnPlan:
    """The quote and decisions ``request_return`` would apply now, with the same errors."""
    _validate_request(items, method)
    items = _normalise_reasons(merchant, items)
    order, found = get_order_lines(merchant=merchant, number=order_number)
    refs = {i.line_ref for i in items}
    lines = _lines_or_not_found(items, [line for line in found if line.line_ref in refs])
    return _plan(merchant, order, lines, items, method, now=clock.now())


def request_return(
    *,
    merchant: Merchant,
    order_number: str,
    items: Sequence[ItemRequest],
    method: str,
    language: str = "en",
    channel: str = "api",
    actor: str = "api",
    idempotency_key: str | None = None,
    payout_iban: str = "",
    payout_name: str = "",
    pickup: Mapping[str, Any] | None = None,
    override: PolicyOverride | None = None,
) -> Return:
    """Open a return for some units of an order, checked against the policy and quoted.

    Approved at once unless the policy asks for a manual review. With an idempotency key,
    a repeated request returns the return the first one created. With an ``override`` a
    person opens it although the policy refuses it (still priced by the policy's terms):
    approved at once, the reason and what was set aside on its timeline.
    """
    _validate_request(items, method)
    _validate_override(override)
    if idempotency_key:
        existing = _by_idempotency_key(merchant, idempotency_key)
        if existing is not None:
            return existing
    items = _normalise_reasons(merchant, items)
    for _attempt in range(8):
        try:
            return _request_return(
                merchant=merchant,
                order_number=order_number,
                items=items,
                method=method,
                language=language,
                channel=channel,
                actor=actor,
                idempotency_key=idempotency_key,
                override=override,
                extra={
                    "payout_iban": payout_iban,
                    "payout_name": payout_name,
                    "pickup": dict(pickup or {}),
                },
            )
        except IntegrityError as exc:
            if _is_number_collision(exc):
                # The random number was taken (1 in ~887M per return): the whole transaction
                # runs again with a new one, instead of a savepoint around every insert.
                continue
            # Two requests with one idempotency key raced: the loser returns the winner's.
            if idempotency_key:
                existing = _by_idempotency_key(merchant, idempotency_key)
                if existing is not None:
                    return existing
            raise
    raise RuntimeError("could not find a free return number")  # unreachable in practice


def _is_number_collision(exc: IntegrityError) -> bool:
    text = str(exc)
    return "return_number_per_merchant" in text or "returns_return.number" in text


def _by_idempotency_key(merchant: Merchant, key: str) -> Return | None:
    return Return.objects.for_merchant(merchant).filter(idempotency_key=key).first()


def _request_return(
    *,
    merchant: Merchant,
    order_number: str,
    items: Sequence[ItemRequest],
    method: str,
    language: str,
    channel: str,
    actor: str,
    idempotency_key: str | None,
    override: PolicyOverride | None,
    extra: Mapping[str, Any],
) -> Return:
    now = clock.now()
    with transaction.atomic():
        # Row locks on the requested lines, in primary-key order: concurrent returns of the
        # same order queue here instead of deadlocking, and each sees the units the previous
        # one took. One statement brings the order, customer and product facts along.
        locked = lock_order_lines(
            merchant=merchant, number=order_number, line_refs=[i.line_ref for i in items]
        )
        lines = _lines_or_not_found(items, locked)
        order = locked[0].order
        plan = _plan(merchant, order, lines, items, method, now=now, override=override is not None)
        quote, exchange_variants = plan.quote, plan.exchange_variants
        needs_review, photos_missing = plan.needs_review, plan.photos_missing
        version, timing, expiry_days = plan.policy_version, plan.refund_timing, plan.expiry_days

        wanted = {item.line_ref: item.quantity for item in items}
        _take_units([(line.id, wanted[line.line_ref]) for line in locked])

        # The return is written in the state its first, automatic step leaves it in (approved,
        # or waiting for review); the timeline and the events still tell both steps.
        action = "flag_for_review" if needs_review else "approve"
        status = next_status(ReturnStatus.REQUESTED, action)
        if status is None:  # the transition table changed without this code
            raise InvalidTransition(details={"current_status": ReturnStatus.REQUESTED})
        changes: dict[str, Any] = {}
        if not needs_review:
            changes = {"approved_at": now, "expires_at": now + timedelta(days=expiry_days)}
        ret = Return.objects.create(
            number=new_return_number(),
            merchant=merchant,
            order_id=order.id,
            customer_id=order.customer.id,
            status=status,
            method=method,
            currency=order.currency,
            quote=quote.to_data(),
            refund_total_minor=quote.refund_total.minor,
            store_credit_total_minor=quote.store_credit_total.minor,
            policy_version=version,
            refund_timing=timing,
            language=language if language in ("ar", "en") else "en",
            channel=channel,
            idempotency_key=idempotency_key,
            requested_at=now,
            **changes,
            **extra,
        )
        item_quotes = {q.line_ref: q for q in quote.items}
        refund_parts = dict(zip([q.line_ref for q in quote.items], quote.refund_parts, strict=True))
        new_items = ReturnItem.objects.bulk_create(
            [
                ReturnItem(
                    merchant=merchant,
                    return_request=ret,
                    order_line_id=lines[item.line_ref].id,
                    quantity=item.quantity,
                    reason_code=item.reason,
                    sub_reason_code=item.sub_reason,
                    comment=item.comment,
                    resolution=item.resolution,
                    exchange_variant=exchange_variants[item.line_ref],
                    refund_minor=refund_parts[item.line_ref].minor,
                )
                for item in items
                if item.line_ref in item_quotes
            ]
        )
        for item, new_item in zip(
            [i for i in items if i.line_ref in item_quotes], new_items, strict=True
        ):
            if item.photo_ids:
                attach_photos(merchant=merchant, item=new_item, photo_ids=item.photo_ids)
        if any(item.resolution == Resolution.EXCHANGE for item in items):
            _open_exchange(ret, plan, items, new_items)  # stock held, or out of stock
        note = ("photos_required" if photos_missing else "manual_review") if needs_review else ""
        requested_entry = TimelineEntry(
            merchant_id=merchant.pk,
            return_request=ret,
            kind="status_changed",
            actor=actor,
            at=now,
            to_status=ReturnStatus.REQUESTED,
        )
        override_entries = []
        if override is not None:
            override_entries.append(
                TimelineEntry(
                    merchant_id=merchant.pk,
                    return_request=ret,
                    kind=POLICY_OVERRIDDEN,
                    actor=override.actor,
                    at=now,
                    note=override.reason.strip(),
                    data={
                        "lines": [
                            {"line_ref": ref, "codes": list(codes)}
                            for ref, codes in plan.overridden.items()
                        ]
                    },
                )
            )
        entries = TimelineEntry.objects.bulk_create(
            [
                requested_entry,
                *override_entries,
                TimelineEntry(
                    merchant_id=merchant.pk,
                    return_request=ret,
                    kind="status_changed",
                    # Under an override the person who set the policy aside approved it.
                    actor=override.actor if override is not None else "system",
                    at=now,
                    from_status=ReturnStatus.REQUESTED,
                    to_status=status,
                    note=note,
                ),
            ]
        )
        ret.__dict__["_new_timeline"] = entries
        requested = {
            **_event_payload(ret),
            "status": ReturnStatus.REQUESTED,
            "units": sum(i.quantity for i in items),
            "refund_total_minor": quote.refund_total.minor,
            "currency": order.currency,
            "items": [
                {"line_ref": i.line_ref, "quantity": i.quantity, "reason": i.reason} for i in items
            ],
            "override": override is not None,
        }
        record_events(
            [
                ("ReturnRequested", requested),
                (
                    _EVENT_FOR_STATUS[status],
                    _event_payload(ret, from_status=ReturnStatus.REQUESTED, note=note),
                ),
            ],
            merchant_id=merchant.pk,
            aggregate_type="return",
            aggregate_id=ret.pk,
        )
        if method == ReturnMethod.KEEP_ITEM and ret.status == ReturnStatus.APPROVED:
            _transition(ret, "complete", actor="system", now=now)
        # A new return's items and timeline are exactly what was just written: hand them to
        # the caller as if prefetched, instead of a second round of queries to read them.
        _attach_read_rows(ret, order, lines, new_items)
        ret._prefetched_objects_cache = {  # type: ignore[attr-defined]
            "items": _as_fetched(ret.items.all(), new_items),
            "timeline": _as_fetched(ret.timeline.all(), ret.__dict__.pop("_new_timeline", [])),
        }
        return ret


def _attach_read_rows(
    ret: Return,
    order: OrderSnapshot,
    lines: dict[str, LineSnapshot],
    items: Sequence[ReturnItem],
) -> None:
    """Give the new return the related rows its answer shows, from what was already read."""
    ret.order = loaded_instance(
        Order, id=order.id, merchant_id=ret.merchant_id, number=order.number
    )
    ret.customer = loaded_instance(
        Customer, id=order.customer.id, merchant_id=ret.merchant_id, email=order.customer.email
    )
    by_id = {line.id: line for line in lines.values()}
    for item in items:
        line = by_id[item.order_line_id]
        item.order_line = loaded_instance(
            OrderLine,
            id=line.id,
            merchant_id=ret.merchant_id,
            order_id=order.id,
            line_ref=line.line_ref,
            sku=line.sku,
        )


def _take_units(line_quantities: Sequence[tuple[int, int]]) -> None:
    """Count units of locked lines as returned (the CHECK returned ≤ delivered backs this)."""
    table = OrderLine._meta.db_table
    with connection.cursor() as cursor:
        for line_id, quantity in line_quantities:
            cursor.execute(
                f"UPDATE {table} SET returned_quantity = returned_quantity + %s "  # noqa: S608
                "WHERE id = %s",
                [quantity, line_id],
            )


def _as_fetched(qs: QuerySet[Any], rows: list[Any]) -> QuerySet[Any]:
    """``qs`` marked as already evaluated to ``rows`` (what Django's prefetch does)."""
    qs._result_cache = rows
    qs._prefetch_done = True  # type: ignore[attr-defined]
    return qs


_TIMING_ORDER = ["immediate", "first_scan", "delivered", "inspected"]


def _strictest_timing(timings: Sequence[str]) -> str:
    # Money moves when every item's rule allows it: the latest of their timings.
    return max(timings, key=_TIMING_ORDER.index)


def _check_keep_item(
    items: Sequence[ItemRequest],
    lines: dict[str, LineSnapshot],
    decisions: dict[str, LineDecision],
    waived: dict[str, list[str]] | None = None,
) -> None:
    for i, item in enumerate(items):
        threshold = decisions[item.line_ref].outcome.keep_item_threshold_minor
        if lines[item.line_ref].unit_price_minor * item.quantity >= threshold or threshold == 0:
            _refuse(
                errors.MethodNotAllowed(
                    _("Keeping the item is only offered for low-value items."),
                    field=f"items.{i}.line_ref",
                ),
                None if waived is None else waived[item.line_ref],
            )


# -- staff, shopper and system actions ---------------------------------------------------------


def approve_return(*, merchant: Merchant, number: str, actor: str, note: str = "") -> Return:
    """Approve a return that waits for review."""
    with transaction.atomic():
        ret = _load_for_update(merchant, number)
        now = clock.now()
        days = _expiry_days(ret)
        return _transition(
            ret,
            "approve",
            actor=actor,
            now=now,
            note=note,
            changes={"approved_at": now, "expires_at": now + timedelta(days=days)},
        )


def _expiry_days(ret: Return) -> int:
    _version, policy = active_policy(merchant=ret.merchant)
    return int(policy.defaults.unshipped_expiry_days)


def reject_return(*, merchant: Merchant, number: str, actor: str, reason: str) -> Return:
    """Reject a requested return; its units can be returned again."""
    if not reason.strip():
        raise InvalidInput(_("Say why the return is rejected."), field="reason")
    with transaction.atomic():
        ret = _load_for_update(merchant, number)
        return _transition(
            ret,
            "reject",
            actor=actor,
            now=clock.now(),
            note=reason,
            changes={"rejection_reason": reason},
        )


def cancel_return(*, merchant: Merchant, number: str, actor: str, note: str = "") -> Return:
    """Cancel a return before its parcel moves; its units can be returned again."""
    with transaction.atomic():
        ret = _load_for_update(merchant, number)
        return _transition(ret, "cancel", actor=actor, now=clock.now(), note=note)


def expire_unshipped_returns(*, limit: int = 500) -> int:
    """Expire approved returns whose parcel never moved in time; returns how many expired."""
    now = clock.now()
    due = list(
        Return.objects.filter(status=ReturnStatus.APPROVED, expires_at__lt=now)
        .exclude(method=ReturnMethod.KEEP_ITEM)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    expired = 0
    for pk in due:
        # One transaction per return: one failure doesn't hold back the others.
        with transaction.atomic():
            ret = Return.objects.select_for_update().filter(pk=pk).first()
            if ret is None or ret.status != ReturnStatus.APPROVED:
                continue
            _transition(ret, "expire", actor="system", now=now)
            expired += 1
    return expired


def record_first_scan(*, return_id: int, at: datetime, actor: str = "carrier") -> bool:
    """The carrier has the parcel: an approved return is now in transit.

    Returns False (and changes nothing) when the return is no longer waiting for its parcel:
    a late or repeated scan, or one for a return staff already received or closed.
    """
    with transaction.atomic():
        ret = Return.objects.select_for_update().filter(pk=return_id).first()
        if ret is None or next_status(ret.status, "record_first_scan") is None:
            return False
        _transition(ret, "record_first_scan", actor=actor, now=at)
        return True


def record_delivery(*, return_id: int, at: datetime, actor: str = "carrier") -> bool:
    """The carrier delivered the parcel to the merchant (its first scan may never have come).

    Returns False when the return can't take it (already received, or closed).
    """
    with transaction.atomic():
        ret = Return.objects.select_for_update().filter(pk=return_id).first()
        if ret is None or next_status(ret.status, "record_delivery") is None:
            return False
        _transition(ret, "record_delivery", actor=actor, now=at)
        return True


def add_timeline_entry(
    *,
    return_id: int,
    merchant_id: int,
    kind: str,
    at: datetime,
    actor: str,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """A fact about a return that is not a status change (a label issued, a pickup booked,
    a carrier's problem); the caller holds the transaction."""
    TimelineEntry.objects.create(
        merchant_id=merchant_id,
        return_request_id=return_id,
        kind=kind,
        actor=actor,
        at=at,
        note=note,
        data=data or {},
    )


def record_receipt(
    *,
    merchant: Merchant,
    number: str,
    actor: str,
    items: Sequence[ReceivedItem] | None = None,
) -> Return:
    """The warehouse has the parcel: note what arrived (all of it when ``items`` is None)."""
    with transaction.atomic():
        ret = _load_for_update(merchant, number)
        now = clock.now()
        _transition(ret, "record_receipt", actor=actor, now=now)
        return_items = list(
            ReturnItem.objects.filter(return_request=ret)
            .select_related("order_line")
            .order_by("pk")
        )
        received = {r.line_ref: r for r in items} if items is not None else None
        for i, item in enumerate(return_items):
            if received is None:
                item.received_quantity, item.reception = item.quantity, Reception.RECEIVED
            else:
                got = received.get(item.order_line.line_ref)
                if got is None:
                    item.received_quantity, item.reception = 0, Reception.MISSING
                else:
                    if not 0 <= got.quantity <= item.quantity:
                        raise InvalidInput(
                            _("Received quantity must be between 0 and the quantity returned."),
                            field=f"items.{i}.quantity",
                        )
                    if got.reception not in Reception.values:
                        raise InvalidInput(
                            _("Unknown reception state."), field=f"items.{i}.reception"
                        )
                    item.received_quantity, item.reception = got.quantity, got.reception
            item.save(update_fields=["received_quantity", "reception"])
        _hold_money_at_stake(ret, return_items, actor=actor, now=now)
        if ret.money_review_reason and ret.status == ReturnStatus.RECEIVED:
            # The money failed while the parcel was on its way: now it can wait in review.
            _transition(ret, "hold_for_review", actor=actor, now=now, note="money_failed")
        return ret


_DECIDED = frozenset({Decision.ACCEPTED, Decision.REJECTED})


def record_inspection(
    *, merchant: Merchant, number: str, actor: str, items: Sequence[InspectedItem]
) -> Return:
    """The warehouse looked at the items: each one's condition, accepted or rejected.

    Valid once the parcel is received. Items may be decided over several calls; a decided
    item keeps its decision (the same one again changes nothing, another is refused: a
    person changes it). Only an item received in full, as returned, can be accepted. When
    the last item is decided, ``ReturnInspected`` is recorded, once: an ``inspected``
    refund timing moves the money then, for the accepted items. Money already sent for an
    item now rejected is held for review (``_hold_money_at_stake``).
    """
    _validate_inspection(items)
    with transaction.atomic():
        ret, return_items, by_ref = _load_inspectable(merchant, number, "record_inspection")
        now = clock.now()
        was_decided = all(item.decision in _DECIDED for item in return_items)
        for i, got in enumerate(items):
            item = by_ref.get(got.line_ref)
            if item is None:
                raise NotFound(
                    _("This return has no such item."),
                    field=f"items.{i}.line_ref",
                    details={"line_ref": got.line_ref},
                )
            if item.decision in _DECIDED:
                if item.decision == got.decision:
                    continue  # a repeat: a double click, a replayed request
                raise Conflict(
                    _("This item was already decided; a person can change the decision."),
                    field=f"items.{i}.decision",
                    details={"line_ref": got.line_ref, "decision": item.decision},
                )
            if got.decision == Decision.ACCEPTED and (
                item.reception != Reception.RECEIVED or item.received_quantity < item.quantity
            ):
                raise InvalidInput(
                    _("Only an item received in full, as returned, can be accepted."),
                    field=f"items.{i}.decision",
                    details={"line_ref": got.line_ref, "reception": item.reception},
                )
            if not got.condition and item.reception != Reception.MISSING:
                raise InvalidInput(_("Grade the item's condition."), field=f"items.{i}.condition")
            item.condition, item.decision = got.condition, got.decision
            item.decision_note = got.note.strip()
            item.save(update_fields=["condition", "decision", "decision_note"])
            _timeline(
                ret,
                kind="item_inspected",
                actor=actor,
                at=now,
                note=item.decision_note,
                data={
                    "item_id": item.pk,
                    "line_ref": got.line_ref,
                    "condition": item.condition,
                    "decision": item.decision,
                },
            )
        _hold_money_at_stake(ret, return_items, actor=actor, now=now)
        if not was_decided and all(item.decision in _DECIDED for item in return_items):
            record_event(
                "ReturnInspected",
                _event_payload(
                    ret,
                    accepted=[
                        it.order_line.line_ref
                        for it in return_items
                        if it.decision == Decision.ACCEPTED
                    ],
                    rejected=[
                        it.order_line.line_ref
                        for it in return_items
                        if it.decision == Decision.REJECTED
                    ],
                ),
                merchant_id=ret.merchant_id,
                aggregate_type="return",
                aggregate_id=ret.pk,
            )
        return ret


def _load_inspectable(
    merchant: Merchant, number: str, action: str
) -> tuple[Return, list[ReturnItem], dict[str, ReturnItem]]:
    """The received return, locked, with its items in order and by line: for the warehouse's
    steps after the parcel arrived (``action`` names the refused step)."""
    ret = _load_for_update(merchant, number)
    if ret.status not in INSPECTABLE:
        raise InvalidTransition(details={"current_status": ret.status, "action": action})
    return_items = list(
        ReturnItem.objects.filter(return_request=ret).select_related("order_line").order_by("pk")
    )
    return ret, return_items, {item.order_line.line_ref: item for item in return_items}


def _validate_inspection(items: Sequence[InspectedItem]) -> None:
    if not items:
        raise InvalidInput(_("Inspect at least one item."), field="items")
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.line_ref in seen:
            raise InvalidInput(_("Each item may appear once."), field=f"items.{i}.line_ref")
        seen.add(item.line_ref)
        if item.decision not in _DECIDED:
            raise InvalidInput(_("Accept or reject the item."), field=f"items.{i}.decision")
        if item.condition and item.condition not in Condition.values:
            raise InvalidInput(_("Unknown condition."), field=f"items.{i}.condition")


# -- the warehouse: further parcels and dispositions (called by awda.warehouse) ---------------


def record_further_receipt(
    *, merchant: Merchant, number: str, actor: str, items: Sequence[ReceivedItem]
) -> Return:
    """Another parcel of a return already received: each listed item's units received *so
    far* (a total, so a repeated scan or request changes nothing), ``wrong_item``, or
    ``missing`` once nobody expects it any more.

    Only items not yet decided; a total never goes down (a person corrects that). Money
    already held for an item found short stays held: a person settles it.
    """
    if not items:
        raise InvalidInput(_("Receive at least one item."), field="items")
    with transaction.atomic():
        ret, return_items, by_ref = _load_inspectable(merchant, number, "record_further_receipt")
        now = clock.now()
        for i, got in enumerate(items):
            item = by_ref.get(got.line_ref)
            if item is None:
                raise NotFound(
                    _("This return has no such item."),
                    field=f"items.{i}.line_ref",
                    details={"line_ref": got.line_ref},
                )
            if got.reception not in (Reception.RECEIVED, Reception.WRONG_ITEM, Reception.MISSING):
                raise InvalidInput(_("Unknown reception state."), field=f"items.{i}.reception")
            before = item.received_quantity if item.reception == Reception.RECEIVED else 0
            if got.reception == Reception.RECEIVED and not before <= got.quantity <= item.quantity:
                raise InvalidInput(
                    _("Received so far: at least what came before, at most what was returned."),
                    field=f"items.{i}.quantity",
                    details={"received_before": before, "quantity": item.quantity},
                )
            if (item.reception, item.received_quantity) == (got.reception, got.quantity):
                continue  # a repeat
            if item.decision != Decision.PENDING:
                raise Conflict(
                    _("This item was already decided; a person can change the decision."),
                    field=f"items.{i}.line_ref",
                    details={"line_ref": got.line_ref, "decision": item.decision},
                )
            item.reception = got.reception
            item.received_quantity = got.quantity if got.reception == Reception.RECEIVED else 0
            item.save(update_fields=["received_quantity", "reception"])
            _timeline(
                ret,
                kind="item_received",
                actor=actor,
                at=now,
                data={
                    "item_id": item.pk,
                    "line_ref": got.line_ref,
                    "reception": item.reception,
                    "received_quantity": item.received_quantity,
                },
            )
        _hold_money_at_stake(ret, return_items, actor=actor, now=now)
        return ret


_DISPOSABLE = frozenset({ReturnStatus.RECEIVED, ReturnStatus.IN_REVIEW, ReturnStatus.COMPLETED})


def record_disposition(
    *, merchant: Merchant, number: str, line_ref: str, disposition: str, actor: str, note: str = ""
) -> tuple[Return, ReturnItem, bool]:
    """What becomes of a returned item (restock, recycle, return to vendor…), once: the same
    disposition again changes nothing (``False``), another is refused. Stock moves are the
    warehouse's (``warehouse.services.dispose``), in the same transaction as this.
    """
    if disposition not in Disposition.values:
        raise InvalidInput(_("Unknown disposition."), field="disposition")
    with transaction.atomic():
        ret = _load_for_update(merchant, number)
        if ret.status not in _DISPOSABLE and not (
            disposition == Disposition.KEPT_BY_CUSTOMER and ret.status not in RELEASES_UNITS
        ):
            raise InvalidTransition(
                details={"current_status": ret.status, "action": "record_disposition"}
            )
        item = (
            ReturnItem.objects.filter(return_request=ret, order_line__line_ref=line_ref)
            .select_related("order_line")
            .first()
        )
        if item is None:
            raise NotFound(
                _("This return has no such item."),
                field="line_ref",
                details={"line_ref": line_ref},
            )
        if item.disposition:
            if item.disposition == disposition:
                return ret, item, False  # a repeat: a double click, a replayed job
            raise Conflict(
                _("This item's disposition was already recorded."),
                field="disposition",
                details={"line_ref": line_ref, "disposition": item.disposition},
            )
        if disposition != Disposition.KEPT_BY_CUSTOMER:
            if item.decision not in _DECIDED:
                raise InvalidInput(
                    _("Accept or reject the item before deciding what becomes of it."),
                    field="disposition",
                    details={"line_ref": line_ref, "decision": item.decision},
                )
            if item.reception not in (Reception.RECEIVED, Reception.WRONG_ITEM):
                raise InvalidInput(
                    _("Only an item that arrived can be disposed of."),
                    field="disposition",
                    details={"line_ref": line_ref, "reception": item.reception},
                )
        if disposition == Disposition.RESTOCK and (
            item.decision != Decision.ACCEPTED
            or item.reception != Reception.RECEIVED
            or item.received_quantity < 1
        ):
            raise InvalidInput(
                _("Only an accepted item that arrived can be restocked."),
                field="disposition",
                details={"line_ref": line_ref, "decision": item.decision},
            )
        item.disposition = disposition
        item.save(update_fields=["disposition"])
        _timeline(
            ret,
            kind="item_disposed",
            actor=actor,
            at=clock.now(),
            note=note.strip(),
            data={"item_id": item.pk, "line_ref": line_ref, "disposition": disposition},
        )
        return ret, item, True


def _not_due_because(item: ReturnItem) -> str:
    """Why the warehouse found an item not due its money ("" when it found nothing wrong)."""
    if item.decision == Decision.REJECTED:
        return "rejected"
    if item.reception in (Reception.MISSING, Reception.WRONG_ITEM):
        return str(item.reception)
    if item.reception == Reception.RECEIVED and item.received_quantity < item.quantity:
        return "short"  # fewer units than returned: a person decides what is due
    return ""


def _credit_values(ret: Return, items: Sequence[ReturnItem]) -> dict[int, int]:
    """Each store-credit item's credit: its refund plus its share of the return's bonus,
    shared over every item by refund as ``money_by_resolution`` does (so they add up)."""
    bonus = Money(ret.store_credit_total_minor - ret.refund_total_minor, ret.currency)
    shares = bonus.allocate([i.refund_minor for i in items]) if items else []
    return {
        item.pk: item.refund_minor + share.minor
        for item, share in zip(items, shares, strict=True)
        if item.resolution == Resolution.STORE_CREDIT
    }


def _hold_money_at_stake(
    ret: Return, items: Sequence[ReturnItem], *, actor: str, now: datetime
) -> None:
    """Money already sent for items the warehouse found missing, wrong or rejected: the
    return goes to review, each such item's amount goes on the timeline, and its unused
    store credit is clawed back (at most the balance; the rest recorded as not recovered).
    Card refunds and bank transfers already sent are not reversed: a person decides.

    What was sent for an item is read from the line refunds the return's resolutions
    counted (``orders.LineRefund``, by the return's number): a refund the gateway refused
    gave its lines back, so it is not at stake. Each item is held once (``at_stake_minor``).
    """
    suspect = [i for i in items if _not_due_because(i) and not i.at_stake_minor]
    if not suspect:
        return
    sent: dict[tuple[int, str], int] = {}
    for line_id, kind, amount in LineRefund.objects.filter(
        merchant_id=ret.merchant_id,
        reference=ret.number,
        order_line_id__in=[i.order_line_id for i in suspect],
        released_at__isnull=True,
    ).values_list("order_line_id", "kind", "amount_minor"):
        sent[(line_id, kind)] = sent.get((line_id, kind), 0) + amount
    credit_values = _credit_values(ret, items)
    held: list[tuple[ReturnItem, int, int, int]] = []
    for item in suspect:
        card = sent.get((item.order_line_id, LineRefundKind.REFUND), 0)
        transfer = sent.get((item.order_line_id, LineRefundKind.BANK_TRANSFER), 0)
        credited = sent.get((item.order_line_id, LineRefundKind.STORE_CREDIT), 0)
        # The bonus went with the credit, so it is at stake with it.
        credit = credit_values.get(item.pk, credited) if credited else 0
        if card + transfer + credit:
            held.append((item, card, transfer, credit))
    if not held:
        return
    if ret.status == ReturnStatus.RECEIVED:
        _transition(ret, "hold_for_review", actor=actor, now=now, note="money_at_stake")
    for item, card, transfer, credit in held:
        clawed_back = not_recovered = 0
        if credit:
            result = claw_back_store_credit(
                merchant=ret.merchant,
                customer=ret.customer,
                amount=Money(credit, ret.currency),
                idempotency_key=f"return-{ret.pk}-clawback-{item.pk}",
                reference=ret.number,
                actor=actor,
            )
            clawed_back, not_recovered = result.clawed_back.minor, result.not_recovered.minor
        item.at_stake_minor = card + transfer + credit
        item.save(update_fields=["at_stake_minor"])
        _timeline(
            ret,
            kind="money_at_stake",
            actor=actor,
            at=now,
            note=item.decision_note,
            data={
                "item_id": item.pk,
                "line_ref": item.order_line.line_ref,
                "why": _not_due_because(item),
                "amount_minor": item.at_stake_minor,
                "currency": ret.currency,
                # Sent and not reversed automatically: for a person to follow up.
                "card_refund_minor": card,
                "bank_transfer_minor": transfer,
                "store_credit_minor": credit,
                "clawed_back_minor": clawed_back,
                "not_recovered_minor": not_recovered,
            },
        )


def hold_money_for_review(*, return_id: int, trigger: str, error: DomainError) -> Return | None:
    """The return's money job (``issue_resolutions`` at ``trigger``) was refused for a
    business reason — a line's cap, payments that can't take the refund: asking again would
    be refused again, so a person decides instead of the job retrying until it gives up.

    The reason goes on the timeline (``money_failed``) and on the return
    (``money_review_reason``, which the staff queue filters on); a received return moves to
    ``in_review`` now, one whose parcel is still coming when it is received (a status
    change now would leave the parcel nowhere to arrive). Records ``ReturnMoneyFailed``.
    """
    with transaction.atomic():
        ret = Return.objects.select_for_update().filter(pk=return_id).first()
        if ret is None:
            return None
        now = clock.now()
        details = {
            str(key): value if isinstance(value, str | int | float | bool | None) else str(value)
            for key, value in error.details.items()
        }
        _timeline(
            ret,
            kind="money_failed",
            actor="system",
            at=now,
            note=str(error.message),
            data={"code": error.code, "trigger": trigger, "details": details},
        )
        Return.objects.filter(pk=ret.pk).update(money_review_reason=error.code, updated_at=now)
        ret.money_review_reason = error.code
        if next_status(ret.status, "hold_for_review") is not None:
            _transition(ret, "hold_for_review", actor="system", now=now, note="money_failed")
        elif ret.method == ReturnMethod.KEEP_ITEM and ret.status == ReturnStatus.COMPLETED:
            # Completed at approval, before the money: not complete while it is in doubt.
            _transition(
                ret,
                "reopen_for_review",
                actor="system",
                now=now,
                note="money_failed",
                changes={"closed_at": None},
            )
        record_event(
            "ReturnMoneyFailed",
            _event_payload(ret, trigger=trigger, code=error.code, details=details),
            merchant_id=ret.merchant_id,
            aggregate_type="return",
            aggregate_id=ret.pk,
        )
        return ret


def hold_refused_refund(
    *, merchant_id: int, number: str, message: str, refund_id: int
) -> Return | None:
    """The gateway refused a refund of the return ``number`` (the refund is in review, its
    amount given back): the return goes before a person as a refused money job does."""
    return_id = (
        Return.objects.filter(merchant_id=merchant_id, number=number)
        .values_list("pk", flat=True)
        .first()
    )
    if return_id is None:
        return None  # a refund no return asked for (goodwill, staff)
    return hold_money_for_review(
        return_id=return_id,
        trigger="RefundNeedsReview",
        error=errors.RefundRefused(message or None, details={"refund_id": refund_id}),
    )


SETTLE_OUTCOMES = ("completed",)


def settle_review(
    *, merchant: Merchant, number: str, actor: str, note: str, outcome: str = "completed"
) -> Return:
    """A person settled the money of a return in review (at stake after inspection, or a
    money job that failed): the return completes as it stands, with their note."""
    if outcome not in SETTLE_OUTCOMES:
        raise InvalidInput(_("Unknown outcome."), field="outcome")
    if not note.strip():
        raise InvalidInput(_("Say how the review was settled."), field="note")
    with transaction.atomic():
        ret = _load_for_update(merchant, number)
        flagged = ret.money_review_reason
        now = clock.now()
        _transition(
            ret,
            "settle",
            actor=actor,
            now=now,
            note=note.strip(),
            changes={"money_review_reason": ""},
        )
        _timeline(
            ret,
            kind="review_settled",
            actor=actor,
            at=now,
            note=note.strip(),
            data={"outcome": outcome, "money_review_reason": flagged},
        )
        return ret


# -- reasons ------------------------------------------------------------------------------------

DEFAULT_REASONS: list[tuple[str, str, str, bool, list[tuple[str, str, str]]]] = [
    (
        "size",
        "Size or fit",
        "المقاس أو القَصّة",
        False,
        [("too_small", "Too small", "صغير جدًا"), ("too_large", "Too large", "كبير جدًا")],
    ),
    (
        "not_as_described",
        "Not as described",
        "لا يطابق الوصف",
        False,
        [
            ("colour_differs", "Colour differs from the photos", "اللون مختلف عن الصور"),
            ("material_differs", "Material differs", "الخامة مختلفة"),
        ],
    ),
    ("defective", "Defective", "معيب", True, []),
    ("damaged_in_transit", "Damaged in transit", "تالف أثناء الشحن", True, []),
    ("wrong_item", "Wrong item sent", "وصلني منتج خاطئ", True, []),
    ("quality", "Quality not as expected", "الجودة أقل من المتوقع", False, []),
    ("arrived_late", "Arrived too late", "وصل متأخرًا", False, []),
    ("changed_my_mind", "Changed my mind", "غيّرت رأيي", False, []),
]


def install_default_reasons(*, merchant: Merchant) -> int:
    """Give a merchant the standard reason list (idempotent); returns how many were added."""
    added = 0
    with transaction.atomic():
        for position, (code, en, ar, fault, children) in enumerate(DEFAULT_REASONS):
            parent, created = ReturnReason.objects.get_or_create(
                merchant=merchant,
                code=code,
                defaults={
                    "label_en": en,
                    "label_ar": ar,
                    "merchant_fault": fault,
                    "position": position * 10,
                },
            )
            added += created
            for sub_position, (sub_code, sub_en, sub_ar) in enumerate(children):
                _sub, created = ReturnReason.objects.get_or_create(
                    merchant=merchant,
                    code=sub_code,
                    defaults={
                        "parent": parent,
                        "label_en": sub_en,
                        "label_ar": sub_ar,
                        "merchant_fault": fault,
                        "position": position * 10 + sub_position + 1,
                    },
                )
                added += created
    reasons_cache.invalidate(merchant.pk)
    transaction.on_commit(lambda: reasons_cache.invalidate(merchant.pk))
    return added


# -- reminders ----------------------------------------------------------------------------------


def remind_unshipped_returns(*, before: timedelta = timedelta(days=2), limit: int = 500) -> int:
    """Note (``ReturnExpiring``) the approved returns whose parcel hasn't moved and that expire
    within ``before``, each once however often this runs; returns how many were noted."""
    now = clock.now()
    due = list(
        Return.objects.filter(
            status=ReturnStatus.APPROVED,
            expires_at__gt=now,
            expires_at__lte=now + before,
            expiry_reminder_sent_at__isnull=True,
        )
        .exclude(method=ReturnMethod.KEEP_ITEM)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    reminded = 0
    for pk in due:
        # One transaction per return; the conditional UPDATE is the compare-and-swap that
        # keeps two overlapping runs (or a parcel scanned meanwhile) from a second reminder.
        with transaction.atomic():
            marked = Return.objects.filter(
                pk=pk, status=ReturnStatus.APPROVED, expiry_reminder_sent_at__isnull=True
            ).update(expiry_reminder_sent_at=now, updated_at=now)
            if marked != 1:
                continue
            ret = Return.objects.get(pk=pk)
            record_event(
                "ReturnExpiring",
                _event_payload(
                    ret, expires_at=ret.expires_at.isoformat() if ret.expires_at else ""
                ),
                merchant_id=ret.merchant_id,
                aggregate_type="return",
                aggregate_id=ret.pk,
            )
            reminded += 1
    return reminded


# -- money ------------------------------------------------------------------------------------

# Which fact lets the money move, for each refund timing of the policy ("inspected" waits
# for the warehouse's decision).
TIMING_TRIGGERS: dict[str, str] = {
    "immediate": "ReturnApproved",
    "first_scan": "FirstScanRecorded",
    "delivered": "ParcelDelivered",
    "inspected": "ReturnInspected",
}
_MONEY_STATES = {
    ReturnStatus.APPROVED,
    ReturnStatus.IN_TRANSIT,
    ReturnStatus.DELIVERED,
    ReturnStatus.RECEIVED,
    ReturnStatus.COMPLETED,
}


def issue_resolutions(*, return_id: int, trigger: str) -> list[str]:
    """Start the return's money when ``trigger`` is the fact its refund timing waits for:
    the refund to the original payment (sent by a job) and the store credit with its bonus.

    Once per return whatever the retries: each resolution carries the return's own
    idempotency key. Returns what was started ("refund", "store_credit"). Cash-on-delivery
    refunds go by bank transfer and exchanges by a replacement order (``_issue_exchanges``).
    """
    with transaction.atomic():
        ret = _money_returns([return_id]).get(return_id)
        if ret is None or not _money_due(ret, trigger):
            return []
        all_items = list(
            ReturnItem.objects.filter(return_request=ret)
            .select_related("order_line")
            .order_by("pk")
        )
        return _issue_resolutions(ret, all_items)


def issue_resolutions_together(*, return_ids: Sequence[int], trigger: str) -> list[int]:
    """``issue_resolutions`` for several returns at once, in the caller's transaction (the
    outbox's batch: a burst of approvals or scans, issue 5's benchmark), each return's money
    exactly as on its own. Returns the ids left for one by one: exchanges, whose replacement
    order takes stock and exchange rows not locked here.

    Lock order: every row the batch's money takes is locked first, class by class and in
    primary-key order within each — the returns, their orders' payments, the returned lines,
    the customers' credit accounts — the order a single return keeps, so a batch and a
    single return queue behind one another and can't deadlock. A business refusal sends
    that return to review (``hold_money_for_review``), as the single job does; anything
    else raises, and the caller's transaction rolls the whole batch back.
    """
    rets = _money_returns(sorted(set(return_ids)))
    items: dict[int, list[ReturnItem]] = {pk: [] for pk in rets}
    for item in (
        ReturnItem.objects.filter(return_request_id__in=list(rets))
        .select_related("order_line")
        .order_by("pk")
    ):
        items[item.return_request_id].append(item)
    left = [pk for pk in rets if any(i.resolution == Resolution.EXCHANGE for i in items[pk])]
    due = [ret for pk, ret in rets.items() if pk not in left and _money_due(ret, trigger)]
    # Only what the money will touch: a burst's batches overlap as little as they can.
    lock_money_rows(
        order_ids=[ret.order_id for ret in due],
        line_ids=[i.order_line_id for ret in due for i in items[ret.pk]],
    )
    lock_credit_accounts(
        customer_ids=[
            ret.customer_id
            for ret in due
            if any(i.resolution == Resolution.STORE_CREDIT for i in items[ret.pk])
        ]
    )
    try:
        with transaction.atomic():
            now, terms = clock.now(), _Terms()
            _issue_money([_plan_money(ret, items[ret.pk], now=now, terms=terms) for ret in due])
            return left
    except DomainError:
        pass  # one refusal refuses the batch's money (all or nothing): rolled back
    # Each return on its own, as its single job would: the refused one goes to review.
    for ret in due:
        try:
            with transaction.atomic():
                _issue_resolutions(ret, items[ret.pk])
        except DomainError as error:
            hold_money_for_review(return_id=ret.pk, trigger=trigger, error=error)
    return left


def _money_returns(return_ids: Sequence[int]) -> dict[int, Return]:
    """The returns, locked in primary-key order, with what their money needs joined."""
    return {
        ret.pk: ret
        for ret in (
            # The returns' rows only: locking the joined merchant too would queue every
            # resolution of the store behind one another (the money's own rows are locked
            # next, in their fixed order).
            Return.objects.select_for_update(of=("self",))
            .select_related("merchant", "order", "customer")
            .filter(pk__in=return_ids)
            .order_by("pk")
        )
    }


def _money_due(ret: Return, trigger: str) -> bool:
    if ret.status not in _MONEY_STATES:
        return False
    if ret.method == ReturnMethod.KEEP_ITEM:
        return trigger in ("ReturnApproved", "ReturnCompleted")
    return TIMING_TRIGGERS.get(ret.refund_timing) == trigger


def _issue_resolutions(ret: Return, all_items: Sequence[ReturnItem]) -> list[str]:
    """``issue_resolutions`` once the return is locked and due (its items loaded)."""
    now = clock.now()
    money = _plan_money(ret, all_items, now=now, terms=_Terms())
    _issue_money([money])
    return money.started + _issue_exchanges(ret, all_items, now=now)


@dataclass
class _ReturnMoney:
    """What a due return's money asks for, before anything is written (``_plan_money``)."""

    ret: Return
    now: datetime
    refund: RefundAsk | None = None
    transfer: PayoutAsk | None = None
    credit_lines: LineCount | None = None
    grant: GrantAsk | None = None
    credit_minor: int = 0  # with the bonus

    @property
    def started(self) -> list[str]:
        return [
            name
            for name, ask in (
                ("bank_transfer", self.transfer),
                ("refund", self.refund),
                ("store_credit", self.grant),
            )
            if ask is not None
        ]


class _Terms(dict[tuple[int, int], timedelta | None]):
    """How long store credit lasts under each (merchant, policy version): read once per
    batch (``_credit_term``)."""

    def of(self, ret: Return) -> timedelta | None:
        key = (ret.merchant_id, ret.policy_version)
        if key not in self:
            self[key] = _credit_term(ret)
        return self[key]


def _plan_money(
    ret: Return, all_items: Sequence[ReturnItem], *, now: datetime, terms: _Terms
) -> _ReturnMoney:
    """The money a locked, due return asks for; the items it does not pay for get their
    note now (once)."""
    # Only the items still due money: after an inspection, the accepted ones; before it,
    # all but those the warehouse already found missing, wrong or rejected (a job that
    # runs late must not pay for them). The others get a note saying why, once.
    inspected = ret.refund_timing == "inspected" and ret.method != ReturnMethod.KEEP_ITEM
    items = [i for i in all_items if not _not_paid_because(i, inspected=inspected)]
    _note_items_not_paid(ret, all_items, inspected=inspected, now=now)
    money = (
        money_by_resolution(ret, items)
        if len(items) == len(all_items)
        else _money_of(ret, all_items, items)
    )
    plan = _ReturnMoney(ret, now, credit_minor=money.store_credit_minor)
    # What each line gives back, counted against what was paid for it (DESIGN §6).
    refund_lines = [
        (i.order_line_id, i.refund_minor) for i in items if i.resolution == Resolution.REFUND
    ]
    cod = ret.order.payment_method == "cash_on_delivery"
    if money.refund_minor and cod and ret.payout_iban:
        # Cash on delivery: back by bank transfer, in the merchant's next transfer file.
        plan.transfer = PayoutAsk(
            merchant=ret.merchant,
            amount=Money(money.refund_minor, ret.currency),
            creditor_name=ret.payout_name or ret.customer.name,
            creditor_iban=ret.payout_iban,
            idempotency_key=f"return-{ret.pk}-transfer",
            reference=ret.number,
            lines=refund_lines,
        )
    if money.refund_minor and not cod:
        plan.refund = RefundAsk(
            merchant=ret.merchant,
            order_id=ret.order_id,
            amount=Money(money.refund_minor, ret.currency),
            idempotency_key=f"return-{ret.pk}-refund",
            reference=ret.number,
            lines=refund_lines,
        )
    if money.store_credit_minor:
        credit_items = [i for i in items if i.resolution == Resolution.STORE_CREDIT]
        base = sum(i.refund_minor for i in credit_items)
        # The base (not the bonus) counts against what each line was paid.
        plan.credit_lines = LineCount(
            merchant_id=ret.merchant_id,
            kind=LineRefundKind.STORE_CREDIT,
            reference=ret.number,
            lines=[(i.order_line_id, i.refund_minor) for i in credit_items],
            parts=[(f"return-{ret.pk}-credit", base)],
        )
        plan.grant = GrantAsk(
            customer=ret.customer,
            amount=Money(base, ret.currency),
            bonus=Money(money.store_credit_minor - base, ret.currency)
            if money.store_credit_minor > base
            else None,
            idempotency_key=f"return-{ret.pk}-credit",
            reference=ret.number,
            actor="system",
            valid_for=terms.of(ret),
        )
    return plan


def _issue_money(plans: Sequence[_ReturnMoney]) -> None:
    """Issue the planned money of locked returns together, all or nothing (a refusal
    raises and the caller's savepoint rolls it all back), each once per its keys.

    Lock order, as every resolution keeps it: the orders' payments (the refunds), the
    lines (refunds, transfers, then credits: a batch has locked them all first, in
    primary-key order), the credit accounts last."""
    request_refunds([plan.refund for plan in plans if plan.refund is not None])
    request_bank_payouts([plan.transfer for plan in plans if plan.transfer is not None])
    credits = [plan for plan in plans if plan.grant is not None and plan.credit_lines]
    count_refunds_on_lines([plan.credit_lines for plan in credits if plan.credit_lines])
    by_merchant: dict[int, list[_ReturnMoney]] = {}
    for plan in credits:
        by_merchant.setdefault(plan.ret.merchant_id, []).append(plan)
    issued: list[_ReturnMoney] = []
    for group in by_merchant.values():
        grants = grant_store_credits(
            merchant=group[0].ret.merchant, asks=[p.grant for p in group if p.grant]
        )
        issued += [plan for plan, grant in zip(group, grants, strict=True) if not grant.replayed]
    _timeline_many(
        [
            (
                plan.ret,
                "store_credit_issued",
                plan.now,
                {"amount_minor": plan.credit_minor, "currency": plan.ret.currency},
            )
            for plan in issued
        ]
    )


def _credit_term(ret: Return) -> timedelta | None:
    """How long the return's store credit lasts: the policy it was decided under says (a
    term, not a date, so a job replayed days later asks for the same grant)."""
    document = policy_version(merchant_id=ret.merchant_id, version=ret.policy_version)
    days = document.store_credit_expiry_days if document is not None else None
    return timedelta(days=days) if days else None


def _not_paid_because(item: ReturnItem, *, inspected: bool) -> str:
    """Why an item gets no money now ("" when it does)."""
    why = _not_due_because(item)
    if why or not inspected or item.decision == Decision.ACCEPTED:
        return why
    return "not_accepted"


def _note_items_not_paid(
    ret: Return, items: Sequence[ReturnItem], *, inspected: bool, now: datetime
) -> None:
    unpaid = [
        (item, why) for item in items if (why := _not_paid_because(item, inspected=inspected))
    ]
    if not unpaid:
        return  # the usual case: no timeline to read
    noted = {
        (entry or {}).get("item_id")
        for entry in TimelineEntry.objects.filter(
            return_request=ret, kind="item_not_refunded"
        ).values_list("data", flat=True)
    }
    for item, why in unpaid:
        if item.pk not in noted:
            _timeline(
                ret,
                kind="item_not_refunded",
                actor="system",
                at=now,
                note=item.decision_note,
                data={"item_id": item.pk, "line_ref": item.order_line.line_ref, "why": why},
            )


def _money_of(
    ret: Return, items: Sequence[ReturnItem], paid: Sequence[ReturnItem]
) -> ResolutionMoney:
    """``money_by_resolution`` for the ``paid`` part of the return's ``items``."""
    credit = _credit_values(ret, items)
    return ResolutionMoney(
        refund_minor=sum(i.refund_minor for i in paid if i.resolution == Resolution.REFUND),
        store_credit_minor=sum(credit.get(i.pk, 0) for i in paid),
    )


def record_refund_issued(
    *,
    merchant_id: int,
    number: str,
    amount_minor: int,
    currency: str,
    card_last4: str = "",
    iban_last4: str = "",
) -> Return | None:
    """The gateway confirmed a refund of the return ``number``: say so on its timeline."""
    with transaction.atomic():
        ret = (
            Return.objects.select_for_update()
            .filter(merchant_id=merchant_id, number=number)
            .first()
        )
        if ret is None:
            return None
        _timeline(
            ret,
            kind="refund_issued",
            actor="gateway",
            at=clock.now(),
            data={
                "amount_minor": amount_minor,
                "currency": currency,
                "card_last4": card_last4,
                "iban_last4": iban_last4,
            },
        )
        return ret


# -- exchanges ----------------------------------------------------------------------------------
# The exchange itself lives in ``awda.exchanges``, below returns: these helpers hand it what
# only the return knows (the items, the policy's terms, what arrived, the customer's history)
# and write the return's timeline.


def _exchange_terms(outcomes: Sequence[Any]) -> exchanges.Terms:
    # Items under different rules: the terms that protect the merchant win, so adding an
    # item never loosens them (as with the store-credit bonus): a dearer replacement is paid
    # before it ships, a cheaper one's difference is credited, and an instant exchange needs
    # every item's rule to allow it, under the smallest cap.
    return exchanges.Terms(
        price_higher="charge_link"
        if any(o.exchange_price_higher == "charge_link" for o in outcomes)
        else "collect_on_delivery",
        price_lower="credit_difference"
        if any(o.exchange_price_lower == "credit_difference" for o in outcomes)
        else "refund_difference",
        instant=all(o.instant_exchange for o in outcomes),
        instant_max_minor=min(o.instant_exchange_max_minor for o in outcomes),
    )


def _open_exchange(
    ret: Return, plan: ReturnPlan, items: Sequence[ItemRequest], rows: Sequence[ReturnItem]
) -> None:
    lines, outcomes = [], []
    for i, (item, row) in enumerate(zip(items, rows, strict=True)):
        variant = plan.exchange_variants.get(item.line_ref)
        if item.resolution != Resolution.EXCHANGE or variant is None:
            continue
        outcomes.append(plan.decisions[item.line_ref].outcome)
        lines.append(
            exchanges.LineRequest(
                field=f"items.{i}.exchange_sku",
                return_item_id=row.pk,
                order_line_id=row.order_line_id,
                variant_id=variant.pk,
                quantity=row.quantity,
                # The returned units pay for the new ones with what they'd refund (after
                # the policy's fees), so an exchange never gives more than a refund would.
                credit_minor=row.refund_minor,
            )
        )
    exchanges.open_exchange(
        merchant=ret.merchant,
        return_id=ret.pk,
        reference=ret.number,
        order_id=ret.order_id,
        customer_id=ret.customer_id,
        currency=ret.currency,
        lines=lines,
        terms=_exchange_terms(outcomes),
    )


_NOT_BACK = (Reception.MISSING, Reception.WRONG_ITEM)


def _exchange_shortfall(items: Sequence[ReturnItem]) -> tuple[int, bool]:
    """What the exchanged items that didn't come back as returned (missing, wrong, fewer
    units, or refused at inspection) counted towards their replacement; and whether any was
    refused at inspection."""
    shortfall, rejected = 0, False
    for item in items:
        if item.resolution != Resolution.EXCHANGE:
            continue
        if item.decision == Decision.REJECTED:
            shortfall, rejected = shortfall + item.refund_minor, True
            continue
        if item.reception in _NOT_BACK:
            units = item.quantity
        elif item.reception == Reception.RECEIVED:
            units = item.quantity - item.received_quantity
        else:
            units = 0  # still on its way
        if units:
            shortfall += round_minor(Decimal(item.refund_minor * units) / Decimal(item.quantity))
    return shortfall, rejected


def _issue_exchanges(
    ret: Return, items: Sequence[ReturnItem], *, now: datetime, instant: bool = False
) -> list[str]:
    """Issue the return's exchange, once (the caller holds the transaction and the return's
    lock); the timeline says so. Returns ["exchange"] when it was issued now."""
    if not any(i.resolution == Resolution.EXCHANGE for i in items):
        return []
    shortfall, _rejected = _exchange_shortfall(items)
    # The risk rule's half that only returns know: an earlier return of this customer that
    # arrived missing or wrong (the exchanges' own half: items of an exchange never back, or
    # another instant exchange still out).
    risky = (
        instant
        and ReturnItem.objects.filter(
            return_request__customer_id=ret.customer_id, reception__in=_NOT_BACK
        )
        .exclude(return_request_id=ret.pk)
        .exists()
    )
    issued = exchanges.issue_exchange(
        return_id=ret.pk,
        instant=instant,
        customer_risky=risky,
        shortfall_minor=shortfall,
        originals_expected=ret.method != ReturnMethod.KEEP_ITEM,
        payout_iban=ret.payout_iban,
        payout_name=ret.payout_name,
        credit_valid_for=_credit_term(ret),
    )
    if issued is None or issued.replayed:
        return []
    if issued.declined:
        _timeline(
            ret,
            kind="instant_exchange_declined",
            actor="system",
            at=now,
            data={"reason": issued.declined},
        )
        return []
    ex = issued.exchange
    if ex.replacement_order is None:
        return []  # stopped for review: its event puts it on the timeline
    _timeline(
        ret,
        kind="exchange_issued",
        actor="system",
        at=now,
        data={
            "order_number": ex.replacement_order.number,
            "handling": ex.difference_handling,
            "amount_minor": abs(ex.difference_minor),
            "currency": ex.currency,
            "instant": ex.instant,
        },
    )
    return ["exchange"]


def issue_instant_exchange(*, return_id: int) -> bool:
    """At approval: the replacement ships before the return arrives, when the policy allows
    it and the customer passes the risk rule; otherwise the exchange waits for its timing."""
    if not exchange_selectors.may_ship_early(return_id=return_id):
        return False
    with transaction.atomic():
        ret = (
            Return.objects.select_for_update()
            .select_related("merchant")
            .filter(pk=return_id)
            .first()
        )
        if ret is None or ret.status != ReturnStatus.APPROVED:
            return False
        if ret.method == ReturnMethod.KEEP_ITEM:
            return False  # nothing comes back: issued with the money at approval
        items = list(ReturnItem.objects.filter(return_request=ret).order_by("pk"))
        return bool(_issue_exchanges(ret, items, now=clock.now(), instant=True))


def note_exchange_originals(*, return_id: int) -> None:
    """The parcel was received (or inspected): tell the exchange what came back, so a
    replacement sent for items that didn't is charged or reviewed."""
    with transaction.atomic():
        items = list(
            ReturnItem.objects.filter(
                return_request_id=return_id, resolution=Resolution.EXCHANGE
            ).order_by("pk")
        )
        if not items or any(i.reception == Reception.AWAITING for i in items):
            return
        shortfall, rejected = _exchange_shortfall(items)
        exchanges.record_originals(
            return_id=return_id, shortfall_minor=shortfall, rejected=rejected
        )
