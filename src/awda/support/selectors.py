"""What support staff read: finding a customer, their whole history, budgets, the audit log.

Every read is scoped to one merchant; a customer id or number of another store finds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.db.models import F, Q, QuerySet, Sum

from awda.core import clock
from awda.core.models import AuditEntry, Event
from awda.core.money import Money
from awda.exchanges.models import Exchange
from awda.merchants.models import Merchant, StaffMembership, StaffRole
from awda.orders.models import Customer, Order
from awda.orders.rules import normalise_email, normalise_phone
from awda.payments.models import BankPayout, Refund
from awda.policies.document import RiskThresholds
from awda.policies.selectors import active_policy
from awda.returns.models import Return
from awda.shipping.models import Shipment
from awda.support.models import CustomerNote, GoodwillAllowance, GoodwillGrant, GoodwillStatus
from awda.support.rules import budget_month, remaining_minor
from awda.wallet.models import CreditAccount, LedgerTransaction

# The money facts the audit log shows beside the staff's actions (the outbox keeps them).
MONEY_EVENTS = (
    "RefundIssued",
    "RefundFailed",
    "BankPayoutRequested",
    "BankTransferPaid",
    "StoreCreditGranted",
    "StoreCreditRedeemed",
    "StoreCreditExpired",
    "StoreCreditClawedBack",
    "ExchangeIssued",
    "ExchangeCharged",
    "ExchangeDifferencePaid",
    "GoodwillGranted",
)


def find_customers(*, merchant: Merchant, query: str, limit: int = 20) -> list[Customer]:
    """Customers matching what an agent typed: a phone number (any format), an e-mail, an
    order or return number, a tracking number, or part of a name."""
    text = query.strip()
    if not text:
        return []
    customers = Customer.objects.for_merchant(merchant)
    match = Q(email=normalise_email(text))
    phone = normalise_phone(text)
    if len(phone.lstrip("+")) >= 6:
        # Stored with the country code; an agent often types the local number.
        match |= Q(phone=phone) | Q(phone__endswith=phone.lstrip("+").lstrip("0"))
    match |= Q(orders__number__iexact=text) | Q(returns__number__iexact=text)
    tracked = (
        Shipment.objects.for_merchant(merchant)
        .filter(tracking_number=text)
        .values("return_request__customer_id")
    )
    match |= Q(pk__in=tracked)
    if len(text) >= 3:
        match |= Q(name__icontains=text)
    return list(customers.filter(match).distinct().order_by("name", "pk")[:limit])


@dataclass(frozen=True)
class ReturnStats:
    orders: int
    returns: int
    units_bought: int
    units_returned: int
    return_rate: Decimal  # units returned ÷ units bought, 0..1 (4 places, half-even)
    returns_value: Money


@dataclass(frozen=True)
class RiskFlag:
    code: str  # serial_returner, high_return_rate, high_return_value
    value: str
    threshold: str


@dataclass(frozen=True)
class Budget:
    month: datetime | object
    monthly: Money | None  # None: an owner, who has no budget
    used: Money
    remaining: Money | None


@dataclass
class CustomerHistory:
    customer: Customer
    stats: ReturnStats
    flags: list[RiskFlag]
    orders: list[Order] = field(default_factory=list)
    returns: list[Return] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    transfers: list[BankPayout] = field(default_factory=list)
    credit_accounts: list[CreditAccount] = field(default_factory=list)
    credit_transactions: list[LedgerTransaction] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    goodwill: list[GoodwillGrant] = field(default_factory=list)
    notes: list[CustomerNote] = field(default_factory=list)


def risk_thresholds(merchant: Merchant) -> RiskThresholds:
    """The merchant's thresholds for flagging a customer (the policy's ``risk``)."""
    _version, policy = active_policy(merchant=merchant)
    return policy.risk


def customer_history(
    *, merchant: Merchant, customer_id: int, risk: RiskThresholds | None = None
) -> CustomerHistory | None:
    """Everything the store knows about one customer, newest first."""
    customer = Customer.objects.for_merchant(merchant).filter(pk=customer_id).first()
    if customer is None:
        return None
    orders = list(
        Order.objects.for_merchant(merchant)
        .filter(customer=customer)
        .prefetch_related("lines")
        .order_by("-placed_at", "-pk")
    )
    returns = list(
        Return.objects.for_merchant(merchant)
        .filter(customer=customer)
        .select_related("order")
        .prefetch_related("items__order_line", "shipments")
        .order_by("-requested_at", "-pk")
    )
    order_ids = [o.pk for o in orders]
    references = [r.number for r in returns]
    refunds = list(
        Refund.objects.for_merchant(merchant)
        .filter(payment__order_id__in=order_ids)
        .order_by("-created_at", "-pk")
    )
    transfers = list(
        BankPayout.objects.for_merchant(merchant)
        .filter(reference__in=references)
        .order_by("-created_at", "-pk")
    )
    accounts = list(CreditAccount.objects.for_merchant(merchant).filter(customer=customer))
    transactions = list(
        LedgerTransaction.objects.for_merchant(merchant)
        .filter(account__in=accounts)
        .order_by("-created_at", "-pk")[:200]
    )
    exchanges = list(
        Exchange.objects.for_merchant(merchant)
        .filter(return_id__in=[r.pk for r in returns])
        .order_by("-pk")
    )
    goodwill = list(
        GoodwillGrant.objects.for_merchant(merchant)
        .filter(customer=customer)
        # Each grant shows its agent and order: one join, not two queries per grant.
        .select_related("agent", "order")
        .order_by("-created_at", "-pk")
    )
    notes = list(
        CustomerNote.objects.for_merchant(merchant)
        .filter(customer=customer)
        .order_by("-created_at", "-pk")
    )
    stats = _stats(customer, len(orders), merchant.currency)
    return CustomerHistory(
        customer=customer,
        stats=stats,
        flags=risk_flags(stats, risk or risk_thresholds(merchant)),
        orders=orders,
        returns=returns,
        refunds=refunds,
        transfers=transfers,
        credit_accounts=accounts,
        credit_transactions=transactions,
        exchanges=exchanges,
        goodwill=goodwill,
        notes=notes,
    )


def _stats(customer: Customer, orders: int, currency: str) -> ReturnStats:
    rate = (
        (Decimal(customer.units_returned) / Decimal(customer.units_bought)).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_EVEN
        )
        if customer.units_bought
        else Decimal(0)
    )
    return ReturnStats(
        orders=orders,
        returns=customer.returns_count,
        units_bought=customer.units_bought,
        units_returned=customer.units_returned,
        return_rate=rate,
        returns_value=Money(customer.returns_value_minor, currency),
    )


def risk_flags(stats: ReturnStats, risk: RiskThresholds) -> list[RiskFlag]:
    """The reasons to look twice at this customer's next return."""
    flags = []
    if stats.returns >= risk.returns_count:
        flags.append(RiskFlag("serial_returner", str(stats.returns), str(risk.returns_count)))
    if stats.units_bought >= risk.min_units_bought and stats.return_rate >= risk.return_rate:
        flags.append(RiskFlag("high_return_rate", str(stats.return_rate), str(risk.return_rate)))
    if (
        risk.returns_value_minor is not None
        and stats.returns_value.minor >= risk.returns_value_minor
    ):
        flags.append(
            RiskFlag(
                "high_return_value", str(stats.returns_value.minor), str(risk.returns_value_minor)
            )
        )
    return flags


def goodwill_budget(*, merchant: Merchant, membership: StaffMembership) -> Budget:
    """An agent's goodwill budget this month: what is set, used (granted or waiting for the
    owner) and left. Owners have none."""
    month = budget_month(clock.now(), merchant.timezone)
    used = (
        GoodwillGrant.objects.for_merchant(merchant)
        .filter(
            agent_id=membership.user_id,
            month=month,
            status__in=(GoodwillStatus.GRANTED, GoodwillStatus.PENDING),
        )
        .aggregate(total=Sum("amount_minor"))["total"]
        or 0
    )
    if membership.role == StaffRole.OWNER:
        return Budget(
            month=month, monthly=None, used=Money(used, merchant.currency), remaining=None
        )
    allowance = (
        GoodwillAllowance.objects.for_merchant(merchant).filter(user_id=membership.user_id).first()
    )
    monthly = allowance.monthly_minor if allowance else 0
    return Budget(
        month=month,
        monthly=Money(monthly, merchant.currency),
        used=Money(used, merchant.currency),
        remaining=Money(remaining_minor(monthly_minor=monthly, used_minor=used), merchant.currency),
    )


def pending_goodwill(*, merchant: Merchant) -> QuerySet[GoodwillGrant]:
    """Requests over an agent's budget, waiting for an owner, oldest first."""
    return (
        GoodwillGrant.objects.for_merchant(merchant)
        .filter(status=GoodwillStatus.PENDING)
        .select_related("customer", "agent")
        .order_by("created_at", "pk")
    )


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    actor: str
    role: str
    action: str
    subject: str
    summary: str


def audit_log(
    *,
    merchant: Merchant,
    query: str = "",
    actions: Sequence[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
    money: bool = True,
) -> list[AuditRow]:
    """The staff's actions and (``money``) the money the system moved, newest first.

    ``query`` matches the actor, the subject and the summary."""
    entries = AuditEntry.objects.filter(merchant_id=merchant.pk)
    if query:
        entries = entries.filter(
            Q(actor__icontains=query) | Q(summary__icontains=query) | Q(subject_id=query)
        )
    if actions:
        entries = entries.filter(action__in=actions)
    if since:
        entries = entries.filter(at__gte=since)
    if until:
        entries = entries.filter(at__lt=until)
    rows = [
        AuditRow(
            at=e.at,
            actor=e.actor,
            role=e.role,
            action=e.action,
            subject=f"{e.subject_type}:{e.subject_id}",
            summary=e.summary,
        )
        for e in entries.order_by("-at", "-pk")[:limit]
    ]
    if money and (not actions or set(actions) & set(MONEY_EVENTS)):
        events = Event.objects.filter(merchant_id=merchant.pk, name__in=MONEY_EVENTS)
        if actions:
            events = events.filter(name__in=actions)
        if since:
            events = events.filter(created_at__gte=since)
        if until:
            events = events.filter(created_at__lt=until)
        for event in events.order_by("-created_at")[:limit]:
            summary = _money_summary(event.payload)
            subject = f"{event.aggregate_type}:{event.aggregate_id}"
            if query and query.lower() not in f"{summary} {subject}".lower():
                continue
            rows.append(
                AuditRow(
                    at=event.created_at,
                    actor="system",
                    role="",
                    action=event.name,
                    subject=subject,
                    summary=summary,
                )
            )
        rows.sort(key=lambda r: r.at, reverse=True)
    return rows[:limit]


def _money_summary(payload: dict[str, object]) -> str:
    parts = [
        str(payload[k])
        for k in ("reference", "amount_minor", "bonus_minor", "currency")
        if payload.get(k) not in (None, "", 0)
    ]
    return " ".join(parts)


@dataclass(frozen=True)
class QueueFilters:
    """The returns queue's filters; empty ones don't filter."""

    statuses: Sequence[str] = ()
    reason: str = ""
    method: str = ""
    carrier: str = ""
    risky: bool = False  # only customers the risk thresholds flag
    older_than_days: int | None = None
    search: str = ""  # a return or order number, an e-mail, a phone or a tracking number


def returns_queue(
    *, merchant: Merchant, filters: QueueFilters, risk: RiskThresholds | None = None
) -> QuerySet[Return]:
    """The merchant's returns for the staff queue, oldest first (the one waiting longest
    is the next to handle), filtered."""
    qs = Return.objects.for_merchant(merchant).select_related("order", "customer")
    if filters.statuses:
        qs = qs.filter(status__in=list(filters.statuses))
    if filters.reason:
        qs = qs.filter(items__reason_code=filters.reason)
    if filters.method:
        qs = qs.filter(method=filters.method)
    if filters.carrier:
        qs = qs.filter(shipments__carrier=filters.carrier)
    if filters.older_than_days is not None:
        qs = qs.filter(
            requested_at__lte=clock.now() - timedelta(days=max(0, filters.older_than_days))
        )
    if filters.risky:
        r = risk or risk_thresholds(merchant)
        flagged = Q(customer__returns_count__gte=r.returns_count) | Q(
            customer__units_bought__gte=r.min_units_bought,
            customer__units_returned__gte=F("customer__units_bought") * r.return_rate,
        )
        if r.returns_value_minor is not None:
            flagged |= Q(customer__returns_value_minor__gte=r.returns_value_minor)
        qs = qs.filter(flagged)
    if filters.search:
        qs = qs.filter(_search(merchant, filters.search.strip()))
    return qs.distinct().order_by("requested_at", "pk")


def _search(merchant: Merchant, text: str) -> Q:
    match = (
        Q(number__iexact=text)
        | Q(order__number__iexact=text)
        | Q(customer__email=normalise_email(text))
        | Q(shipments__tracking_number=text)
    )
    phone = normalise_phone(text)
    if len(phone.lstrip("+")) >= 6:
        match |= Q(customer__phone=phone) | Q(
            customer__phone__endswith=phone.lstrip("+").lstrip("0")
        )
    return match
