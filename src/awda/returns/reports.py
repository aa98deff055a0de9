"""The money report: what went back to shoppers per day, read from the ledgers that moved it
(refunds confirmed by gateways, bank transfers paid, store-credit entries), and the returns
whose money doesn't match what they promised, to the minor unit."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Sum

from awda.core.models import Event
from awda.exchanges.selectors import differences_credited, differences_given_back
from awda.merchants.models import Merchant
from awda.orders.models import LineRefund, LineRefundKind
from awda.payments.models import BankPayout, PayoutStatus, Refund, RefundStatus
from awda.returns.models import Resolution, Return, ReturnItem
from awda.returns.selectors import money_for_paid_items
from awda.wallet.models import EntryKind, LedgerEntry


@dataclass
class DayTotals:
    day: date
    currency: str
    refunded_minor: int = 0  # to cards and wallets, confirmed by the gateway
    refunds: int = 0
    transferred_minor: int = 0  # bank transfers marked paid
    transfers: int = 0
    credited_minor: int = 0  # store credit granted (without the bonus)
    bonus_minor: int = 0
    redeemed_minor: int = 0  # store credit spent in the store


@dataclass(frozen=True)
class Mismatch:
    number: str
    kind: str  # refund, store_credit
    promised_minor: int
    moved_minor: int


@dataclass
class MoneyReport:
    days: list[DayTotals] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    refunds_in_doubt: int = 0  # sent, the gateway's answer not yet known
    refunds_in_review: int = 0
    # Refunds whose gateway's record disagreed with ours, found in these days
    # (payments.services.reconcile_refunds: each also sits in review).
    gateway_mismatches: int = 0


def money_report(*, merchant: Merchant, start: date, end: date) -> MoneyReport:
    """Days ``start``…``end`` (inclusive) in the merchant's time zone."""
    zone = ZoneInfo(merchant.timezone or "UTC")
    since = datetime.combine(start, time.min, zone)
    until = datetime.combine(end + timedelta(days=1), time.min, zone)
    days: dict[tuple[date, str], DayTotals] = {}

    def day(moment: datetime | None, currency: str) -> DayTotals:
        key = ((moment or since).astimezone(zone).date(), currency)
        if key not in days:
            days[key] = DayTotals(day=key[0], currency=currency)
        return days[key]

    for at, currency, amount in Refund.objects.filter(
        merchant=merchant,
        status=RefundStatus.SUCCEEDED,
        settled_at__gte=since,
        settled_at__lt=until,
    ).values_list("settled_at", "currency", "amount_minor"):
        totals = day(at, currency)
        totals.refunded_minor += amount
        totals.refunds += 1
    for at, currency, amount in BankPayout.objects.filter(
        merchant=merchant, status=PayoutStatus.PAID, paid_at__gte=since, paid_at__lt=until
    ).values_list("paid_at", "currency", "amount_minor"):
        totals = day(at, currency)
        totals.transferred_minor += amount
        totals.transfers += 1
    for at, currency, kind, amount in LedgerEntry.objects.filter(
        merchant=merchant,
        kind__in=[EntryKind.CREDIT, EntryKind.BONUS, EntryKind.DEBIT],
        created_at__gte=since,
        created_at__lt=until,
    ).values_list("created_at", "account__currency", "kind", "amount_minor"):
        totals = day(at, currency)
        if kind == EntryKind.CREDIT:
            totals.credited_minor += amount
        elif kind == EntryKind.BONUS:
            totals.bonus_minor += amount
        else:
            totals.redeemed_minor += -amount
    report = MoneyReport(days=sorted(days.values(), key=lambda d: (d.day, d.currency)))
    report.mismatches = _mismatches(merchant)
    open_refunds = Refund.objects.filter(merchant=merchant)
    report.refunds_in_doubt = open_refunds.filter(status=RefundStatus.SENT).count()
    report.refunds_in_review = open_refunds.filter(status=RefundStatus.REVIEW).count()
    report.gateway_mismatches = Event.objects.filter(
        merchant_id=merchant.pk,
        name="RefundMismatchFound",
        created_at__gte=since,
        created_at__lt=until,
    ).count()
    return report


def _mismatches(merchant: Merchant) -> list[Mismatch]:
    """Returns whose money moved, where what moved differs from what the return promised.

    Refunds are compared once their money is final (confirmed or paid); store credit once
    granted. A refund in review or in doubt is reported in its own counters instead.

    The promise is what the items actually paid are due (``_paid_items``): a return the
    warehouse found partly missing, wrong or rejected is paid for the rest only, and that is
    no mismatch; a refund or credit that differs from those items' money still is.
    """
    moved_refund: dict[str, int] = defaultdict(int)
    for reference, amount in Refund.objects.filter(
        merchant=merchant, status=RefundStatus.SUCCEEDED
    ).values_list("reference", "amount_minor"):
        moved_refund[reference] += amount
    for reference, amount in BankPayout.objects.filter(
        merchant=merchant, status=PayoutStatus.PAID
    ).values_list("reference", "amount_minor"):
        moved_refund[reference] += amount
    open_refund = set(
        Refund.objects.filter(merchant=merchant)
        .exclude(status=RefundStatus.SUCCEEDED)
        .values_list("reference", flat=True)
    )
    credited = dict(
        LedgerEntry.objects.filter(
            merchant=merchant,
            kind__in=[EntryKind.CREDIT, EntryKind.BONUS],
            transaction__reference__gt="",
        )
        .values_list("transaction__reference")
        .annotate(total=Sum("amount_minor"))
        .values_list("transaction__reference", "total")
    )
    numbers = set(moved_refund) | set(credited)
    mismatches: list[Mismatch] = []
    returns = (
        Return.objects.filter(merchant=merchant, number__in=numbers)
        .prefetch_related("items")  # one query for every return's items, not one each
        .order_by("number")
    )
    # An exchange for something cheaper gives its difference back under the return's number.
    given_back = differences_given_back(merchant_id=merchant.pk, references=numbers)
    credited_back = differences_credited(merchant_id=merchant.pk, references=numbers)
    counted = _lines_counted(merchant, numbers)
    for ret in returns:
        items = list(ret.items.all())
        money = money_for_paid_items(ret, items, _paid_items(items, counted.get(ret.number)))
        promised_refund = money.refund_minor + given_back.get(ret.number, 0)
        promised_credit = money.store_credit_minor + credited_back.get(ret.number, 0)
        final = ret.number in moved_refund and ret.number not in open_refund
        if final and moved_refund[ret.number] != promised_refund:
            mismatches.append(
                Mismatch(ret.number, "refund", promised_refund, moved_refund[ret.number])
            )
        if ret.number in credited and credited[ret.number] != promised_credit:
            mismatches.append(
                Mismatch(ret.number, "store_credit", promised_credit, credited[ret.number])
            )
    return mismatches


# Which kind of line refund pays an item of each resolution.
_PAID_BY: dict[str, frozenset[str]] = {
    Resolution.REFUND: frozenset({LineRefundKind.REFUND, LineRefundKind.BANK_TRANSFER}),
    Resolution.STORE_CREDIT: frozenset({LineRefundKind.STORE_CREDIT}),
}


def _lines_counted(merchant: Merchant, numbers: set[str]) -> dict[str, set[tuple[int, str]]]:
    """Per return number, the ``(order_line_id, kind)`` its money was counted on and not
    given back (``orders.LineRefund``: a refused refund releases its rows)."""
    counted: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for reference, line_id, kind in LineRefund.objects.filter(
        merchant=merchant, reference__in=numbers, released_at__isnull=True
    ).values_list("reference", "order_line_id", "kind"):
        counted[reference].add((line_id, kind))
    return counted


def _paid_items(items: list[ReturnItem], counted: set[tuple[int, str]] | None) -> list[bool]:
    """Which of the return's items its money went to: those whose line carries the return's
    line refund of the item's kind. A return with no line refund at all (money moved before
    lines were counted) is taken as paid in full, as it promised."""
    if not counted:
        return [True] * len(items)
    return [
        any((item.order_line_id, kind) in counted for kind in _PAID_BY.get(item.resolution, ()))
        for item in items
    ]
