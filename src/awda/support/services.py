"""Support use cases: goodwill within budgets (or sent to the owner), budgets, notes.

Each use case is one transaction and writes its audit row in it. Roles are checked here as
well as in the staff pages, so an API or a script can't grant more than the page would.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from awda.core import clock
from awda.core.audit import record_audit
from awda.core.db import lock_keys
from awda.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from awda.core.formatting import format_money
from awda.core.models import AuditEntry
from awda.core.money import Money
from awda.core.outbox import record_event
from awda.merchants.models import Merchant, StaffMembership, StaffRole
from awda.orders.models import Customer, Order
from awda.payments.services import request_refund
from awda.returns.models import Return, TimelineEntry
from awda.returns.services import (
    POLICY_OVERRIDDEN,
    ItemRequest,
    PolicyOverride,
    approve_return,
    reject_return,
    request_return,
)
from awda.support.models import (
    CustomerNote,
    GoodwillAllowance,
    GoodwillGrant,
    GoodwillKind,
    GoodwillStatus,
)
from awda.support.rules import budget_month, fits_budget, remaining_minor
from awda.wallet.services import grant_store_credit

# Budgets are counted in what was granted or is still waiting for the owner: a pending
# request holds its share, so an agent can't queue more requests than the budget.
_COUNTED = (GoodwillStatus.GRANTED, GoodwillStatus.PENDING)
_MAX_REASON = 500
_MAX_NOTE = 5000
_MAX_BULK = 200


class BudgetExceeded(DomainError):
    code = "goodwill_budget_exceeded"
    status = 422
    default_message = gettext_lazy("This goes over your goodwill budget for the month.")


@dataclass(frozen=True)
class GoodwillResult:
    grant: GoodwillGrant
    remaining: Money | None  # the agent's budget left this month; None: an owner (no budget)
    replayed: bool = False


def _money_text(amount: Money, merchant: Merchant) -> str:
    lang = (get_language() or "en")[:2]
    return format_money(
        amount.minor, amount.currency, lang, arabic_digits=merchant.arabic_digits and lang == "ar"
    )


def _actor(membership: StaffMembership) -> str:
    return membership.user.get_username()


def _require_role(membership: StaffMembership, merchant: Merchant, *roles: str) -> None:
    if membership.merchant_id != merchant.pk or membership.role not in roles:
        raise PermissionDenied(_("Your role does not allow this."))


def set_goodwill_allowance(
    *, merchant: Merchant, actor: StaffMembership, agent_user_id: int, monthly: Money
) -> GoodwillAllowance:
    """An owner sets what one agent may grant per month."""
    _require_role(actor, merchant, StaffRole.OWNER)
    if monthly.currency != merchant.currency:
        raise InvalidInput(_("The budget must be in the store's currency."), field="currency")
    if monthly.minor < 0:
        raise InvalidInput(_("The budget must not be negative."), field="monthly")
    member = (
        StaffMembership.objects.for_merchant(merchant)
        .filter(user_id=agent_user_id)
        .select_related("user")
        .first()
    )
    if member is None:
        raise NotFound(_("No such member of staff."), field="agent")
    now = clock.now()
    with transaction.atomic():
        allowance, _created = GoodwillAllowance.objects.update_or_create(
            merchant=merchant,
            user_id=agent_user_id,
            defaults={
                "monthly_minor": monthly.minor,
                "currency": monthly.currency,
                "set_by": _actor(actor),
                "updated_at": now,
            },
        )
        record_audit(
            merchant_id=merchant.pk,
            actor=_actor(actor),
            role=actor.role,
            action="goodwill_budget_set",
            subject_type="staff",
            subject_id=agent_user_id,
            summary=f"{member.user.get_username()}: {monthly.minor} {monthly.currency} a month",
            data={"monthly_minor": monthly.minor, "currency": monthly.currency},
        )
    return allowance


def _validate_grant(
    merchant: Merchant,
    *,
    customer_id: int,
    kind: str,
    amount: Money,
    reason: str,
    idempotency_key: str,
    order_id: int | None,
) -> tuple[Customer, Order | None]:
    if kind not in GoodwillKind.values:
        raise InvalidInput(_("Choose a kind of compensation."), field="kind")
    if not reason.strip():
        raise InvalidInput(_("Say why the customer gets this."), field="reason")
    if len(reason) > _MAX_REASON:
        raise InvalidInput(
            _("Keep the reason under %(n)s characters.") % {"n": _MAX_REASON}, field="reason"
        )
    if amount.currency != merchant.currency:
        raise InvalidInput(_("The amount must be in the store's currency."), field="currency")
    if amount.minor <= 0:
        raise InvalidInput(_("The amount must be more than zero."), field="amount")
    if not idempotency_key or len(idempotency_key) > 80:
        raise InvalidInput(
            _("An idempotency key of 1 to 80 characters is required."), field="idempotency_key"
        )
    customer = Customer.objects.for_merchant(merchant).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("No such customer."), field="customer")
    order = None
    if kind == GoodwillKind.PARTIAL_REFUND:
        if order_id is None:
            raise InvalidInput(_("Choose the order to refund."), field="order")
        order = Order.objects.for_merchant(merchant).filter(pk=order_id, customer=customer).first()
        if order is None:
            raise NotFound(_("The customer has no such order."), field="order")
    return customer, order


def _used_minor(merchant: Merchant, agent_id: int, month: date) -> int:
    used = (
        GoodwillGrant.objects.for_merchant(merchant)
        .filter(agent_id=agent_id, month=month, status__in=_COUNTED)
        .aggregate(total=Sum("amount_minor"))["total"]
    )
    return int(used or 0)


def grant_goodwill(
    *,
    merchant: Merchant,
    actor: StaffMembership,
    customer_id: int,
    kind: str,
    amount: Money,
    reason: str,
    idempotency_key: str,
    order_id: int | None = None,
    ask_owner: bool = False,
) -> GoodwillResult:
    """Compensate a customer: store credit, a free-shipping code or a partial refund.

    An agent grants within their monthly budget; over it the grant is refused with what is
    left, or, with ``ask_owner``, waits for an owner's approval (holding its share of the
    budget meanwhile). Owners have no budget. Once per ``idempotency_key``."""
    _require_role(actor, merchant, StaffRole.OWNER, StaffRole.AGENT)
    customer, order = _validate_grant(
        merchant,
        customer_id=customer_id,
        kind=kind,
        amount=amount,
        reason=reason,
        idempotency_key=idempotency_key,
        order_id=order_id,
    )
    is_owner = actor.role == StaffRole.OWNER
    now = clock.now()
    month = budget_month(now, merchant.timezone)
    with transaction.atomic():
        lock_keys([f"goodwill:{merchant.pk}:{idempotency_key}"])
        previous = (
            GoodwillGrant.objects.for_merchant(merchant)
            .filter(idempotency_key=idempotency_key)
            .first()
        )
        if previous is not None:
            if previous.customer_id != customer.pk or previous.amount_minor != amount.minor:
                raise Conflict(_("This key was used for another grant."), field="idempotency_key")
            return GoodwillResult(
                grant=previous,
                remaining=None if is_owner else _remaining(merchant, actor, previous.month),
                replayed=True,
            )
        status = GoodwillStatus.GRANTED
        remaining: Money | None = None
        if not is_owner:
            allowance = _lock_allowance(merchant, actor)
            monthly = allowance.monthly_minor if allowance else 0
            used = _used_minor(merchant, actor.user_id, month)
            if not fits_budget(monthly_minor=monthly, used_minor=used, amount_minor=amount.minor):
                left = Money(
                    remaining_minor(monthly_minor=monthly, used_minor=used), amount.currency
                )
                if not ask_owner:
                    raise BudgetExceeded(
                        _(
                            "This goes over your goodwill budget: %(left)s left this month "
                            "of %(monthly)s. Ask an owner to approve it, or grant less."
                        )
                        % {
                            "left": _money_text(left, merchant),
                            "monthly": _money_text(Money(monthly, amount.currency), merchant),
                        },
                        field="amount",
                        details={"remaining_minor": left.minor, "monthly_minor": monthly},
                    )
                status = GoodwillStatus.PENDING
            remaining = Money(
                remaining_minor(
                    monthly_minor=monthly,
                    used_minor=used + amount.minor,
                ),
                amount.currency,
            )
        try:
            with transaction.atomic():
                grant = GoodwillGrant.objects.create(
                    merchant=merchant,
                    customer=customer,
                    order=order,
                    agent_id=actor.user_id,
                    kind=kind,
                    amount_minor=amount.minor,
                    currency=amount.currency,
                    reason=reason.strip(),
                    status=status,
                    month=month,
                    idempotency_key=idempotency_key,
                    created_at=now,
                )
        except IntegrityError:  # pragma: no cover - the key's lock makes this unreachable
            raise Conflict(
                _("This grant is being made already."), field="idempotency_key"
            ) from None
        if status == GoodwillStatus.GRANTED:
            _carry_out(merchant, grant, actor=_actor(actor))
        else:
            record_event(
                "GoodwillApprovalRequested",
                {"grant_id": grant.pk, "customer_id": customer.pk, "agent": _actor(actor)},
                merchant_id=merchant.pk,
                aggregate_type="goodwill",
                aggregate_id=grant.pk,
            )
        record_audit(
            merchant_id=merchant.pk,
            actor=_actor(actor),
            role=actor.role,
            action="goodwill_granted" if status == GoodwillStatus.GRANTED else "goodwill_requested",
            subject_type="customer",
            subject_id=customer.pk,
            summary=f"{kind} {amount.minor} {amount.currency}: {reason.strip()[:200]}",
            data={
                "grant_id": grant.pk,
                "kind": kind,
                "amount_minor": amount.minor,
                "currency": amount.currency,
                "order_id": order.pk if order else None,
            },
        )
    return GoodwillResult(grant=grant, remaining=remaining)


def _lock_allowance(merchant: Merchant, actor: StaffMembership) -> GoodwillAllowance | None:
    # One row per agent, locked for the whole grant: two grants by the same agent at once
    # are counted one after the other, so together they can't pass the budget.
    return (
        GoodwillAllowance.objects.for_merchant(merchant)
        .select_for_update()
        .filter(user_id=actor.user_id)
        .first()
    )


def _remaining(merchant: Merchant, actor: StaffMembership, month: date) -> Money:
    allowance = (
        GoodwillAllowance.objects.for_merchant(merchant).filter(user_id=actor.user_id).first()
    )
    monthly = allowance.monthly_minor if allowance else 0
    used = _used_minor(merchant, actor.user_id, month)
    return Money(remaining_minor(monthly_minor=monthly, used_minor=used), merchant.currency)


def _carry_out(merchant: Merchant, grant: GoodwillGrant, *, actor: str) -> None:
    """Move the money (or make the code) under the grant's own key, in its transaction."""
    amount = Money(grant.amount_minor, grant.currency)
    key = f"goodwill-{grant.pk}"
    account_opened = False
    if grant.kind == GoodwillKind.STORE_CREDIT:
        account_opened = (
            grant_store_credit(
                merchant=merchant,
                customer=grant.customer,
                amount=amount,
                idempotency_key=key,
                reference=key,
                actor=actor,
            ).code
            is not None
        )
    elif grant.kind == GoodwillKind.PARTIAL_REFUND:
        assert grant.order_id is not None  # a database constraint too
        # Goodwill belongs to no order line: it is counted on the payments only.
        request_refund(
            merchant=merchant,
            order_id=grant.order_id,
            amount=amount,
            idempotency_key=key,
            reference=key,
        )
    else:
        grant.code = f"FREESHIP-{secrets.token_hex(4).upper()}"
        grant.save(update_fields=["code"])
    record_event(
        "GoodwillGranted",
        {
            "grant_id": grant.pk,
            "customer_id": grant.customer_id,
            "kind": grant.kind,
            "amount_minor": grant.amount_minor,
            "currency": grant.currency,
            "code": grant.code,
            # The shopper's wallet code exists only as a hash: the mail makes a new one when
            # this grant opened the wallet (as a return's credit mail does).
            "account_opened": account_opened,
        },
        merchant_id=merchant.pk,
        aggregate_type="goodwill",
        aggregate_id=grant.pk,
    )


def decide_goodwill(
    *, merchant: Merchant, actor: StaffMembership, grant_id: int, approve: bool, note: str = ""
) -> GoodwillGrant:
    """An owner approves (the money moves now) or refuses a grant an agent asked for."""
    _require_role(actor, merchant, StaffRole.OWNER)
    if len(note) > _MAX_REASON:
        raise InvalidInput(
            _("Keep the note under %(n)s characters.") % {"n": _MAX_REASON}, field="note"
        )
    with transaction.atomic():
        grant = (
            GoodwillGrant.objects.for_merchant(merchant)
            .select_for_update()
            .select_related("customer")
            .filter(pk=grant_id)
            .first()
        )
        if grant is None:
            raise NotFound(_("No such request."), field="grant")
        if grant.status != GoodwillStatus.PENDING:
            raise Conflict(_("This request was decided already."), field="grant")
        grant.status = GoodwillStatus.GRANTED if approve else GoodwillStatus.REFUSED
        grant.decided_by = _actor(actor)
        grant.decision_note = note.strip()
        grant.decided_at = clock.now()
        grant.save(update_fields=["status", "decided_by", "decision_note", "decided_at"])
        if approve:
            _carry_out(merchant, grant, actor=_actor(actor))
        record_audit(
            merchant_id=merchant.pk,
            actor=_actor(actor),
            role=actor.role,
            action="goodwill_approved" if approve else "goodwill_refused",
            subject_type="customer",
            subject_id=grant.customer_id,
            summary=f"{grant.kind} {grant.amount_minor} {grant.currency}: {note.strip()[:200]}",
            data={"grant_id": grant.pk},
        )
    return grant


def add_customer_note(
    *, merchant: Merchant, actor: StaffMembership, customer_id: int, text: str
) -> CustomerNote:
    """An internal note on the customer, for the next person who helps them."""
    _require_role(actor, merchant, StaffRole.OWNER, StaffRole.AGENT, StaffRole.WAREHOUSE)
    text = text.strip()
    if not text:
        raise InvalidInput(_("Write the note first."), field="text")
    if len(text) > _MAX_NOTE:
        raise InvalidInput(
            _("Keep the note under %(n)s characters.") % {"n": _MAX_NOTE}, field="text"
        )
    customer = Customer.objects.for_merchant(merchant).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("No such customer."), field="customer")
    with transaction.atomic():
        note = CustomerNote.objects.create(
            merchant=merchant,
            customer=customer,
            author=_actor(actor),
            text=text,
            created_at=clock.now(),
        )
        record_audit(
            merchant_id=merchant.pk,
            actor=_actor(actor),
            role=actor.role,
            action="customer_note_added",
            subject_type="customer",
            subject_id=customer.pk,
            summary=text[:200],
            data={"note_id": note.pk},
        )
    return note


@dataclass(frozen=True)
class BulkOutcome:
    number: str
    ok: bool
    message: str = ""  # why not, in the user's language


def decide_returns(
    *,
    merchant: Merchant,
    actor: StaffMembership,
    numbers: list[str],
    approve: bool,
    reason: str = "",
) -> list[BulkOutcome]:
    """Approve or reject several returns at once: each in its own transaction, so one that
    can't be decided (already approved, say) doesn't stop the others; each outcome says why."""
    _require_role(actor, merchant, StaffRole.OWNER, StaffRole.AGENT)
    if not approve and not reason.strip():
        raise InvalidInput(_("Say why the returns are rejected."), field="reason")
    if not numbers:
        raise InvalidInput(_("Choose at least one return."), field="numbers")
    if len(numbers) > _MAX_BULK:
        raise InvalidInput(
            _("Choose at most %(n)s returns at once.") % {"n": _MAX_BULK}, field="numbers"
        )
    who = f"staff:{actor.user_id}"
    outcomes = []
    for number in dict.fromkeys(numbers):  # each once, in the order chosen
        try:
            with transaction.atomic():
                if approve:
                    approve_return(merchant=merchant, number=number, actor=who, note=reason)
                else:
                    reject_return(merchant=merchant, number=number, actor=who, reason=reason)
                record_audit(
                    merchant_id=merchant.pk,
                    actor=_actor(actor),
                    role=actor.role,
                    action="return_approved" if approve else "return_rejected",
                    subject_type="return",
                    subject_id=number,
                    summary=reason.strip()[:200],
                )
        except DomainError as error:
            outcomes.append(BulkOutcome(number=number, ok=False, message=str(error.message)))
        else:
            outcomes.append(BulkOutcome(number=number, ok=True))
    return outcomes


# -- opening a return the policy refuses ---------------------------------------------------------


def open_return_with_override(
    *,
    merchant: Merchant,
    actor: StaffMembership,
    order_number: str,
    items: Sequence[ItemRequest],
    method: str,
    reason: str,
) -> Return:
    """Open a return the policy refuses (out of its window, final sale, a resolution or
    method it doesn't offer) because a person decided so: approved at once, priced by the
    policy's terms, the reason on its timeline and in the audit log."""
    _require_role(actor, merchant, StaffRole.OWNER, StaffRole.AGENT)
    who = f"staff:{actor.user_id}"
    language = (
        Order.objects.for_merchant(merchant)
        .filter(number=order_number)
        .values_list("customer__language", flat=True)
        .first()
    )
    with transaction.atomic():
        ret = request_return(
            merchant=merchant,
            order_number=order_number,
            items=items,
            method=method,
            language=language or merchant.default_language,
            channel="staff",
            actor=who,
            override=PolicyOverride(actor=who, reason=reason),
        )
        _audit_override(merchant, ret, actor=_actor(actor), role=actor.role)
    return ret


def open_return_for_integration(
    *,
    merchant: Merchant,
    order_number: str,
    items: Sequence[ItemRequest],
    method: str,
    reason: str,
    language: str = "en",
    idempotency_key: str | None = None,
) -> Return:
    """The same through the API: the merchant's own integration (its key) decided."""
    with transaction.atomic():
        ret = request_return(
            merchant=merchant,
            order_number=order_number,
            items=items,
            method=method,
            language=language,
            channel="api",
            actor="api",
            idempotency_key=idempotency_key,
            override=PolicyOverride(actor="api", reason=reason),
        )
        already = AuditEntry.objects.filter(
            merchant_id=merchant.pk,
            action="policy_override",
            subject_type="return",
            subject_id=ret.number,
        ).exists()
        # A retry with the idempotency key answers with the first return: audited once.
        if not already:
            _audit_override(merchant, ret, actor="api", role="")
    return ret


def _audit_override(merchant: Merchant, ret: Return, *, actor: str, role: str) -> None:
    entry = _override_entry(ret)
    if entry is None:
        return  # a retry answered with a return first opened without an override
    lines = list(entry.data.get("lines", []))
    record_audit(
        merchant_id=merchant.pk,
        actor=actor,
        role=role,
        action="policy_override",
        subject_type="return",
        subject_id=ret.number,
        summary=entry.note,
        data={
            "order": ret.order.number,
            "lines": lines,
            "overridden": sorted({code for line in lines for code in line.get("codes", [])}),
        },
    )


def _override_entry(ret: Return) -> TimelineEntry | None:
    # A new return carries the entries just written; no second read.
    return next((t for t in ret.timeline.all() if t.kind == POLICY_OVERRIDDEN), None)
