"""The support agent's pages (the owner opens them too): find a customer, their whole history
on one page with goodwill and notes; the returns queue with bulk decisions; a return's page.

Each action is one POST to one support service (which checks the role again and writes the
audit row), then a redirect to the page that reads back what happened (POST-redirect-GET).
Bad input and a service's refusal come back next to their field, nothing saved (4xx).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Prefetch, Sum
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from awda.core import clock
from awda.core.errors import DomainError, InvalidInput, NotFound
from awda.core.formatting import format_money, format_number
from awda.core.money import Money, exponent
from awda.dashboard.access import SUPPORT_ROLES, Staff, staff_page
from awda.dashboard.pages import context, language
from awda.exchanges.models import Exchange, ExchangeStatus
from awda.merchants.models import Merchant, StaffMembership, StaffRole
from awda.orders.models import Order, OrderLine
from awda.payments.models import BankPayout, PayoutStatus, Refund, RefundStatus
from awda.returns.models import (
    Condition,
    Decision,
    Disposition,
    Resolution,
    Return,
    ReturnMethod,
    ReturnPhoto,
    ReturnStatus,
)
from awda.returns.rules import allowed_actions
from awda.returns.selectors import get_return, money_by_resolution, reason_labels
from awda.returns.services import POLICY_OVERRIDDEN, ItemRequest
from awda.shipping.models import Shipment, TrackingEvent
from awda.support.models import CustomerNote, GoodwillGrant, GoodwillKind, GoodwillStatus
from awda.support.selectors import (
    CustomerHistory,
    QueueFilters,
    RiskFlag,
    customer_history,
    find_customers,
    goodwill_budget,
    returns_queue,
)
from awda.support.services import (
    add_customer_note,
    decide_returns,
    grant_goodwill,
    open_return_with_override,
)
from awda.wallet.models import LedgerEntry, LedgerTransaction, TransactionKind

MAX_QUERY = 200
MAX_REASON = 500
MAX_NOTE = 5000
MAX_OVERRIDE_REASON = 1000
QUEUE_PAGE_SIZE = 50
MAX_AGE_DAYS = 3650
# An amount no goodwill gesture reaches: a typo of extra zeros is refused, not granted.
MAX_GOODWILL_MAJOR = Decimal(1_000_000)

# Arabic-Indic and Persian digits and the Arabic decimal separator, as a keyboard types them.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫", "01234567890123456789.")


def acting_member(staff: Staff) -> StaffMembership:
    """The signed-in person's membership, as the support services take their actor."""
    return StaffMembership.objects.select_related("user").get(
        merchant=staff.merchant, user_id=staff.user.pk
    )


def parse_amount(raw: str, currency: str, *, allow_zero: bool = False) -> Money:
    """A major-unit amount as typed ("25", "25.50", "٢٥٫٥") in minor units, exactly: more
    decimals than the currency has are refused, never rounded away."""
    text = raw.strip().translate(_DIGITS).replace("٬", "").replace(" ", "")
    places = exponent(currency)
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        example = Decimal(2550).scaleb(-places)
        raise InvalidInput(
            _("Enter an amount such as %(example)s.") % {"example": example}, field="amount"
        )
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput(_("The amount must be more than zero."), field="amount")
    if value > MAX_GOODWILL_MAJOR:
        raise InvalidInput(_("This amount is too large."), field="amount")
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise InvalidInput(
            ngettext(
                "Use at most %(n)s decimal place.", "Use at most %(n)s decimal places.", places
            )
            % {"n": places},
            field="amount",
        )
    return Money(int(scaled), currency)


def _money(merchant: Merchant, minor: int, currency: str = "") -> str:
    lang = language()
    return format_money(
        minor,
        currency or merchant.currency,
        lang,
        arabic_digits=merchant.arabic_digits and lang == "ar",
    )


def _number(merchant: Merchant, value: int | Decimal) -> str:
    lang = language()
    return format_number(value, lang, arabic_digits=merchant.arabic_digits and lang == "ar")


def _title(line: OrderLine) -> str:
    return line.title_ar if language() == "ar" and line.title_ar else line.title_en


def _reasons(merchant: Merchant) -> dict[str, str]:
    arabic = language() == "ar"
    return {
        r.code: (r.label_ar if arabic and r.label_ar else r.label_en)
        for r in reason_labels(merchant=merchant)
    }


def enum_labels() -> dict[str, dict[str, str]]:
    """Each enum value's translated label, for the templates."""
    enums: dict[str, Any] = {
        "status": ReturnStatus,
        "method": ReturnMethod,
        "resolution": Resolution,
        "decision": Decision,
        "condition": Condition,
        "disposition": Disposition,
        "refund": RefundStatus,
        "payout": PayoutStatus,
        "exchange": ExchangeStatus,
        "credit": TransactionKind,
        "kind": GoodwillKind,
        "goodwill": GoodwillStatus,
        "role": StaffRole,
    }
    return {name: {v: str(label) for v, label in e.choices} for name, e in enums.items()}


def _customer_url(staff: Staff, customer_id: int, **query: str) -> str:
    base = reverse(
        "dashboard:customer", kwargs={"store": staff.merchant.slug, "customer_id": customer_id}
    )
    return f"{base}?{urlencode(query)}" if query else base


def _return_url(staff: Staff, number: str, **query: str) -> str:
    base = reverse("dashboard:return", kwargs={"store": staff.merchant.slug, "number": number})
    return f"{base}?{urlencode(query)}" if query else base


# -- finding a customer ------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET"])
@staff_page(*SUPPORT_ROLES)
def customers(request: HttpRequest, staff: Staff) -> HttpResponse:
    """One field: a phone number in any format, an e-mail, an order, return or tracking
    number, or part of a name."""
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    found = find_customers(merchant=staff.merchant, query=query) if query else []
    return render(
        request,
        "dashboard/customers.html",
        context(request, staff, query=query, found=found, searched=bool(query)),
    )


# -- the customer's page -----------------------------------------------------------------------


def flag_text(flag: RiskFlag, merchant: Merchant) -> str:
    """A risk flag as a sentence, with the number that raised it and the threshold."""
    if flag.code == "serial_returner":
        return _("Many returns: %(value)s (flagged from %(threshold)s).") % {
            "value": _number(merchant, int(flag.value)),
            "threshold": _number(merchant, int(flag.threshold)),
        }
    if flag.code == "high_return_rate":
        return _("High return rate: %(value)s (flagged from %(threshold)s).") % {
            "value": percent(merchant, Decimal(flag.value)),
            "threshold": percent(merchant, Decimal(flag.threshold)),
        }
    if flag.code == "high_return_value":
        return _("High value returned: %(value)s (flagged from %(threshold)s).") % {
            "value": _money(merchant, int(flag.value)),
            "threshold": _money(merchant, int(flag.threshold)),
        }
    return flag.code


def percent(merchant: Merchant, rate: Decimal) -> str:
    return _("%(rate)s%%") % {"rate": _number(merchant, (rate * 100).quantize(Decimal("0.1")))}


@dataclass
class GoodwillForm:
    """The goodwill form's fields as typed, and what they mean once checked."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    amount: Money | None = None
    order_id: int | None = None

    @classmethod
    def parse(cls, data: QueryDict, currency: str) -> GoodwillForm:
        values = {
            name: data.get(name, "").strip()
            for name in ("kind", "amount", "reason", "order", "ask_owner", "key")
        }
        form = cls(values=values)
        if values["kind"] not in GoodwillKind.values:
            form.errors["kind"] = _("Choose a kind of compensation.")
        try:
            form.amount = parse_amount(values["amount"], currency)
        except InvalidInput as error:
            form.errors["amount"] = str(error.message)
        if not values["reason"]:
            form.errors["reason"] = _("Say why the customer gets this.")
        elif len(values["reason"]) > MAX_REASON:
            form.errors["reason"] = _("Keep the reason under %(n)s characters.") % {"n": MAX_REASON}
        if values["kind"] == GoodwillKind.PARTIAL_REFUND:
            if values["order"].isdecimal():
                form.order_id = int(values["order"])
            else:
                form.errors["order"] = _("Choose the order to refund.")
        if not values["key"] or len(values["key"]) > 80:
            form.errors["form"] = _("The form expired: check the values and send it again.")
        return form


# A service's field → the form's field the message goes next to.
_GOODWILL_FIELDS = {
    "amount": "amount",
    "currency": "amount",
    "kind": "kind",
    "reason": "reason",
    "order": "order",
}


@dataclass(frozen=True)
class CreditLine:
    transaction: LedgerTransaction
    amount_minor: int


def _credit_lines(merchant: Merchant, history: CustomerHistory) -> list[CreditLine]:
    """Each store-credit movement with what it moved on the customer's balance."""
    ids = [t.pk for t in history.credit_transactions]
    moved = dict(
        LedgerEntry.objects.for_merchant(merchant)
        .filter(transaction_id__in=ids)
        .values_list("transaction_id")
        .annotate(total=Sum("amount_minor"))
        .values_list("transaction_id", "total")
    )
    return [CreditLine(t, int(moved.get(t.pk) or 0)) for t in history.credit_transactions]


def _notice(staff: Staff, customer_id: int, query: QueryDict) -> str:
    """The sentence the page opens with after an action (read back from the database)."""
    merchant = staff.merchant
    granted = query.get("granted", "")
    if granted.isdecimal():
        grant = (
            GoodwillGrant.objects.for_merchant(merchant)
            .filter(pk=int(granted), customer_id=customer_id)
            .first()
        )
        if grant is not None:
            amount = _money(merchant, grant.amount_minor, grant.currency)
            if grant.status == GoodwillStatus.PENDING:
                return _("Sent to an owner for approval: %(amount)s.") % {"amount": amount}
            if grant.status == GoodwillStatus.REFUSED:
                return _("An owner refused this request.")
            if grant.kind == GoodwillKind.STORE_CREDIT:
                return _("Store credit of %(amount)s granted.") % {"amount": amount}
            if grant.kind == GoodwillKind.PARTIAL_REFUND:
                return _("A refund of %(amount)s is on its way to the customer.") % {
                    "amount": amount
                }
            return _("Free-shipping code %(code)s granted.") % {"code": grant.code}
    if query.get("noted", "").isdecimal():
        return _("Note added.")
    return ""


def _customer_page(
    request: HttpRequest,
    staff: Staff,
    history: CustomerHistory,
    member: StaffMembership,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    note: str = "",
    override: OverrideForm | None = None,
    status: int = 200,
) -> HttpResponse:
    merchant = staff.merchant
    budget = goodwill_budget(merchant=merchant, membership=member)
    lines_of = {o.pk: [(line, _title(line)) for line in o.lines.all()] for o in history.orders}
    # A fresh key each time the form is drawn: a double submit of one drawn form grants once.
    form = {"kind": GoodwillKind.STORE_CREDIT, "amount": "", "reason": "", "order": ""}
    form.update(values or {})
    form["key"] = secrets.token_urlsafe(16)
    return render(
        request,
        "dashboard/customer.html",
        context(
            request,
            staff,
            history=history,
            customer=history.customer,
            flags=[flag_text(f, merchant) for f in history.flags],
            rate=percent(merchant, history.stats.return_rate),
            lines_of=lines_of,
            reasons=_reasons(merchant),
            credit_lines=_credit_lines(merchant, history),
            balance=sum(a.balance_minor for a in history.credit_accounts),
            budget=budget,
            is_agent=member.role == StaffRole.AGENT,
            form=form,
            note_text=note,
            errors=errors or {},
            notice=_notice(staff, history.customer.pk, request.GET) if status == 200 else "",
            opened=_opened(staff, history, request.GET) if status == 200 else None,
            kinds=GoodwillKind.choices,
            labels=enum_labels(),
            currency=merchant.currency,
            override=override,
            override_reasons=_reason_options(merchant),
            resolutions=Resolution.choices,
            methods=ReturnMethod.choices,
        ),
        status=status,
    )


def _history_or_404(staff: Staff, customer_id: int) -> CustomerHistory:
    history = customer_history(merchant=staff.merchant, customer_id=customer_id)
    if history is None:
        raise Http404("no such customer")
    return history


@never_cache
@require_http_methods(["GET"])
@staff_page(*SUPPORT_ROLES)
def customer(request: HttpRequest, staff: Staff, customer_id: int) -> HttpResponse:
    """Everything about one customer on one page, and the forms to help them."""
    history = _history_or_404(staff, customer_id)
    return _customer_page(request, staff, history, acting_member(staff))


@require_POST
@staff_page(*SUPPORT_ROLES)
def grant(request: HttpRequest, staff: Staff, customer_id: int) -> HttpResponse:
    """Goodwill: within the agent's budget, or (ticked) sent to an owner when over it."""
    history = _history_or_404(staff, customer_id)
    member = acting_member(staff)
    form = GoodwillForm.parse(request.POST, staff.merchant.currency)
    status = 422
    if not form.errors and form.amount is not None:
        try:
            result = grant_goodwill(
                merchant=staff.merchant,
                actor=member,
                customer_id=customer_id,
                kind=form.values["kind"],
                amount=form.amount,
                reason=form.values["reason"],
                idempotency_key=form.values["key"],
                order_id=form.order_id,
                ask_owner=member.role == StaffRole.AGENT and form.values["ask_owner"] == "1",
            )
        except DomainError as error:
            form.errors[_GOODWILL_FIELDS.get(error.field or "", "form")] = str(error.message)
            status = error.status
        else:
            return HttpResponseRedirect(
                _customer_url(staff, customer_id, granted=str(result.grant.pk))
            )
    return _customer_page(
        request, staff, history, member, errors=form.errors, values=form.values, status=status
    )


# -- a return despite the policy ------------------------------------------------------------


@dataclass
class OverrideForm:
    """One order's "open a return despite the policy" form: as typed, and what it means."""

    order_id: int
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    items: list[ItemRequest] = field(default_factory=list)
    line_ids: list[int] = field(default_factory=list)  # the ticked lines, as ``items``

    @classmethod
    def parse(cls, data: QueryDict, order: Order, reasons: dict[str, str]) -> OverrideForm:
        lines = list(order.lines.all())
        ticked = set(data.getlist("line"))
        form = cls(order_id=order.pk, values={"line": ticked})
        for name in ("method", "why"):
            form.values[name] = data.get(name, "").strip()
        for line in [line for line in lines if str(line.pk) in ticked]:
            names = {n: f"{n}-{line.pk}" for n in ("qty", "reason", "resolution", "sku")}
            for name in names.values():
                form.values[name] = data.get(name, "").strip()[:80]
            qty = form.values[names["qty"]].translate(_DIGITS)
            # Beyond the units left to return the service answers, with how many are left.
            if not qty.isdecimal() or int(qty) < 1:
                form.errors[names["qty"]] = _("Quantity must be at least 1.")
            if form.values[names["reason"]] not in reasons:
                form.errors[names["reason"]] = _("Choose a reason.")
            if form.values[names["resolution"]] not in Resolution.values:
                form.errors[names["resolution"]] = _("Unknown resolution.")
            if not form.errors.keys() & set(names.values()):
                form.line_ids.append(line.pk)
                form.items.append(
                    ItemRequest(
                        line_ref=line.line_ref,
                        quantity=int(qty),
                        reason=form.values[names["reason"]],
                        resolution=form.values[names["resolution"]],
                        exchange_sku=form.values[names["sku"]] or None,
                    )
                )
        if not ticked & {str(line.pk) for line in lines}:
            form.errors["lines"] = _("Choose at least one item to return.")
        if form.values["method"] not in ReturnMethod.values:
            form.errors["method"] = _("Unknown return method.")
        if not form.values["why"]:
            form.errors["why"] = _("Say why the policy is set aside.")
        elif len(form.values["why"]) > MAX_OVERRIDE_REASON:
            form.errors["why"] = _("Keep the reason under %(n)s characters.") % {
                "n": MAX_OVERRIDE_REASON
            }
        return form

    def place(self, error: DomainError) -> None:
        """Put a service's refusal next to the field it is about (``items.<i>.<name>``)."""
        parts = (error.field or "").split(".")
        names = {"quantity": "qty", "reason": "reason", "sub_reason": "reason"}
        names |= {"resolution": "resolution", "exchange_sku": "sku", "line_ref": "line"}
        name = "lines"
        if len(parts) == 3 and parts[1].isdecimal() and int(parts[1]) < len(self.line_ids):
            name = f"{names.get(parts[2], 'line')}-{self.line_ids[int(parts[1])]}"
        elif error.field in ("method", "override_reason"):
            name = "method" if error.field == "method" else "why"
        self.errors[name] = str(error.message)


@dataclass(frozen=True)
class ReasonOption:
    code: str
    label: str
    sub: bool  # a sub-reason, shown under its parent


def _reason_options(merchant: Merchant) -> list[ReasonOption]:
    arabic = language() == "ar"
    return [
        ReasonOption(
            r.code, r.label_ar if arabic and r.label_ar else r.label_en, r.parent_code is not None
        )
        for r in reason_labels(merchant=merchant)
    ]


def _opened(staff: Staff, history: CustomerHistory, query: QueryDict) -> Return | None:
    """The return just opened despite the policy, read back for the notice (this customer's)."""
    number = query.get("opened", "")[:40]
    if not number:
        return None
    return (
        Return.objects.for_merchant(staff.merchant)
        .filter(number=number, customer_id=history.customer.pk)
        .first()
    )


@require_POST
@staff_page(*SUPPORT_ROLES)
def override_policy(request: HttpRequest, staff: Staff, customer_id: int) -> HttpResponse:
    """Open a return for one of the customer's orders although the policy refuses it, with
    the agent's reason (approved at once, on its timeline and in the audit log)."""
    history = _history_or_404(staff, customer_id)
    order_id = request.POST.get("order", "")
    order = next((o for o in history.orders if str(o.pk) == order_id), None)
    if order is None:
        raise Http404("no such order of this customer")
    member = acting_member(staff)
    form = OverrideForm.parse(request.POST, order, _reasons(staff.merchant))
    status = 422
    if not form.errors:
        try:
            ret = open_return_with_override(
                merchant=staff.merchant,
                actor=member,
                order_number=order.number,
                items=form.items,
                method=form.values["method"],
                reason=form.values["why"],
            )
        except DomainError as error:
            form.place(error)
            status = error.status
        else:
            return HttpResponseRedirect(_customer_url(staff, customer_id, opened=ret.number))
    return _customer_page(request, staff, history, member, override=form, status=status)


@require_POST
@staff_page(*SUPPORT_ROLES)
def add_note(request: HttpRequest, staff: Staff, customer_id: int) -> HttpResponse:
    """An internal note on the customer, for the next person who helps them."""
    history = _history_or_404(staff, customer_id)
    member = acting_member(staff)
    text = request.POST.get("text", "")[: MAX_NOTE + 1]
    try:
        note: CustomerNote = add_customer_note(
            merchant=staff.merchant, actor=member, customer_id=customer_id, text=text
        )
    except DomainError as error:
        return _customer_page(
            request,
            staff,
            history,
            member,
            errors={"text": str(error.message)},
            note=text,
            status=error.status,
        )
    return HttpResponseRedirect(_customer_url(staff, customer_id, noted=str(note.pk)))


# -- the returns queue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueForm:
    filters: QueueFilters
    values: dict[str, Any]
    query: str  # the filters as a query string (no page), for links and the bulk form


def _carriers(merchant: Merchant) -> list[str]:
    return list(
        Shipment.objects.for_merchant(merchant)
        .order_by("carrier")
        .values_list("carrier", flat=True)
        .distinct()
    )


def _queue_form(data: QueryDict, merchant: Merchant, reasons: dict[str, str]) -> QueueForm:
    statuses = [s for s in data.getlist("status") if s in ReturnStatus.values]
    reason = data.get("reason", "")
    reason = reason if reason in reasons else ""
    method = data.get("method", "")
    method = method if method in ReturnMethod.values else ""
    carrier = data.get("carrier", "")[:40]
    older = data.get("older", "").strip().translate(_DIGITS)
    older_days = min(int(older), MAX_AGE_DAYS) if older.isdecimal() else None
    risky = data.get("risky") == "1"
    search = data.get("q", "").strip()[:MAX_QUERY]
    values = {
        "status": statuses,
        "reason": reason,
        "method": method,
        "carrier": carrier,
        "older": "" if older_days is None else str(older_days),
        "risky": risky,
        "q": search,
    }
    pairs = [("status", s) for s in statuses]
    named = ("reason", "method", "carrier", "older", "q")
    pairs += [(k, str(values[k])) for k in named if values[k]]
    if risky:
        pairs.append(("risky", "1"))
    return QueueForm(
        filters=QueueFilters(
            statuses=statuses,
            reason=reason,
            method=method,
            carrier=carrier,
            risky=risky,
            older_than_days=older_days,
            search=search,
        ),
        values=values,
        query=urlencode(pairs),
    )


@dataclass(frozen=True)
class QueueRow:
    ret: Return
    age: str


def _age(merchant: Merchant, ret: Return) -> str:
    days = max(0, (clock.now() - ret.requested_at).days)
    return ngettext("%(n)s day", "%(n)s days", days) % {"n": _number(merchant, days)}


def _queue_page(
    request: HttpRequest,
    staff: Staff,
    *,
    outcomes: list[Any] | None = None,
    errors: dict[str, str] | None = None,
    reason: str = "",
    status: int = 200,
) -> HttpResponse:
    merchant = staff.merchant
    reasons = _reasons(merchant)
    form = _queue_form(request.GET, merchant, reasons)
    pages = Paginator(returns_queue(merchant=merchant, filters=form.filters), QUEUE_PAGE_SIZE)
    page = pages.get_page(request.GET.get("page"))
    rows = [QueueRow(ret, _age(merchant, ret)) for ret in page.object_list]
    return render(
        request,
        "dashboard/queue.html",
        context(
            request,
            staff,
            form=form,
            page=page,
            rows=rows,
            total=ngettext("%(n)s return", "%(n)s returns", pages.count)
            % {"n": _number(merchant, pages.count)},
            reasons=reasons,
            carriers=_carriers(merchant),
            statuses=ReturnStatus.choices,
            methods=ReturnMethod.choices,
            outcomes=outcomes,
            errors=errors or {},
            reason=reason,
            labels=enum_labels(),
        ),
        status=status,
    )


@never_cache
@require_http_methods(["GET"])
@staff_page(*SUPPORT_ROLES)
def queue(request: HttpRequest, staff: Staff) -> HttpResponse:
    """The returns waiting longest first, filtered and searched."""
    return _queue_page(request, staff)


@require_POST
@staff_page(*SUPPORT_ROLES)
def decide_many(request: HttpRequest, staff: Staff) -> HttpResponse:
    """Approve or reject the ticked returns; each one's outcome is shown above the queue."""
    decision = request.POST.get("decision", "")
    reason = request.POST.get("reason", "").strip()[:MAX_REASON]
    numbers = [n.strip()[:40] for n in request.POST.getlist("numbers") if n.strip()]
    if decision not in ("approve", "reject"):
        return _queue_page(
            request, staff, errors={"form": _("Choose approve or reject.")}, status=422
        )
    try:
        outcomes = decide_returns(
            merchant=staff.merchant,
            actor=acting_member(staff),
            numbers=numbers,
            approve=decision == "approve",
            reason=reason,
        )
    except DomainError as error:
        name = error.field if error.field in ("reason", "numbers") else "form"
        return _queue_page(
            request,
            staff,
            errors={name: str(error.message)},
            reason=reason,
            status=error.status,
        )
    return _queue_page(request, staff, outcomes=outcomes)


# -- a return's page ---------------------------------------------------------------------------


def timeline_labels() -> dict[str, str]:
    """What each kind of timeline entry says (a status change says its new status)."""
    return {
        "label_issued": _("Label issued"),
        "label_failed": _("The label could not be made"),
        "pickup_scheduled": _("Pickup booked"),
        "pickup_cancelled": _("Pickup cancelled"),
        "item_received": _("Item received"),
        "item_inspected": _("Item inspected"),
        "item_disposed": _("Item's disposition recorded"),
        "item_not_refunded": _("Item not refunded"),
        "money_at_stake": _("Money sent before inspection is at stake"),
        "money_failed": _("Money could not be sent"),
        "review_settled": _("Review settled"),
        "refund_issued": _("Refund issued"),
        "store_credit_issued": _("Store credit issued"),
        "exchange_issued": _("Exchange issued"),
        "instant_exchange_declined": _("Instant exchange declined"),
        "unknown_parcel_matched": _("Unknown parcel matched to this return"),
        POLICY_OVERRIDDEN: _("Opened despite the policy"),
    }


def overridden_labels() -> dict[str, str]:
    """What an override set aside (the policy's refusal codes), in the page's language."""
    return {
        "window_expired": _("the return window had closed"),
        "final_sale": _("final sale"),
        "not_returnable": _("not returnable"),
        "not_delivered": _("not delivered"),
        "resolution_not_allowed": _("a resolution the policy doesn't offer"),
        "method_not_allowed": _("a return method the policy doesn't offer"),
        "exchange_not_allowed": _("an exchange the policy doesn't offer"),
    }


@dataclass(frozen=True)
class ItemView:
    item: Any
    title: str
    reason: str
    photos: list[ReturnPhoto]


def _find_return(staff: Staff, number: str) -> Return:
    try:
        return get_return(merchant=staff.merchant, number=number)
    except NotFound:
        raise Http404("no such return") from None


def _return_page(
    request: HttpRequest,
    staff: Staff,
    ret: Return,
    *,
    errors: dict[str, str] | None = None,
    reason: str = "",
    status: int = 200,
) -> HttpResponse:
    merchant = staff.merchant
    reasons = _reasons(merchant)
    items = list(ret.items.all())
    photos: dict[int, list[ReturnPhoto]] = {}
    for photo in (
        ReturnPhoto.objects.for_merchant(merchant)
        .filter(return_item__in=items)
        .order_by("attached_at", "pk")
    ):
        photos.setdefault(photo.return_item_id or 0, []).append(photo)
    rows = [
        ItemView(
            item=i,
            title=_title(i.order_line),
            reason=" · ".join(
                reasons.get(code, code) for code in (i.reason_code, i.sub_reason_code) if code
            ),
            photos=photos.get(i.pk, []),
        )
        for i in items
    ]
    shipments = list(
        Shipment.objects.for_merchant(merchant)
        .filter(return_request=ret)
        .prefetch_related(
            Prefetch("events", queryset=TrackingEvent.objects.order_by("-occurred_at", "-pk"))
        )
        .order_by("-created_at", "-pk")
    )
    credits = list(
        LedgerTransaction.objects.for_merchant(merchant)
        .filter(reference=ret.number)
        .annotate(moved=Sum("entries__amount_minor"))
        .order_by("created_at", "pk")
    )
    actions = [a for a in allowed_actions(ret.status) if a in ("approve", "reject")]
    done = request.GET.get("done", "") if status == 200 else ""
    return render(
        request,
        "dashboard/return_detail.html",
        context(
            request,
            staff,
            ret=ret,
            rows=rows,
            reasons=reasons,
            shipments=shipments,
            owed=money_by_resolution(ret, items),
            refunds=list(
                Refund.objects.for_merchant(merchant)
                .filter(reference=ret.number)
                .order_by("created_at", "pk")
            ),
            transfers=list(
                BankPayout.objects.for_merchant(merchant)
                .filter(reference=ret.number)
                .order_by("created_at", "pk")
            ),
            credits=credits,
            exchanges=list(
                Exchange.objects.for_merchant(merchant).filter(return_id=ret.pk).order_by("pk")
            ),
            notes=list(
                CustomerNote.objects.for_merchant(merchant)
                .filter(customer_id=ret.customer_id)
                .order_by("-created_at", "-pk")[:5]
            ),
            actions=actions,
            timeline_labels=timeline_labels(),
            overridden_labels=overridden_labels(),
            line_titles={row.item.order_line.line_ref: row.title for row in rows},
            done=done if done in ("approved", "rejected") else "",
            errors=errors or {},
            reason=reason,
            labels=enum_labels(),
        ),
        status=status,
    )


@never_cache
@require_http_methods(["GET"])
@staff_page(*SUPPORT_ROLES)
def return_detail(request: HttpRequest, staff: Staff, number: str) -> HttpResponse:
    """One return: its timeline, items with photos, money, parcels, exchange and notes."""
    ret = _find_return(staff, number)
    if ret.number != number:
        # Typed in lower case or with spaces: one address per return.
        return HttpResponseRedirect(_return_url(staff, ret.number))
    return _return_page(request, staff, ret)


@require_POST
@staff_page(*SUPPORT_ROLES)
def decide_one(request: HttpRequest, staff: Staff, number: str) -> HttpResponse:
    """Approve or reject this return (the bulk service with one number: audited the same)."""
    ret = _find_return(staff, number)
    decision = request.POST.get("decision", "")
    reason = request.POST.get("reason", "").strip()[:MAX_REASON]
    if decision not in ("approve", "reject"):
        return _return_page(
            request, staff, ret, errors={"form": _("Choose approve or reject.")}, status=422
        )
    try:
        (outcome,) = decide_returns(
            merchant=staff.merchant,
            actor=acting_member(staff),
            numbers=[ret.number],
            approve=decision == "approve",
            reason=reason,
        )
    except DomainError as error:
        name = "reason" if error.field == "reason" else "form"
        return _return_page(
            request, staff, ret, errors={name: str(error.message)}, reason=reason, status=422
        )
    if not outcome.ok:
        ret = _find_return(staff, number)
        return _return_page(
            request, staff, ret, errors={"form": outcome.message}, reason=reason, status=409
        )
    done = "approved" if decision == "approve" else "rejected"
    return HttpResponseRedirect(_return_url(staff, ret.number, done=done))
