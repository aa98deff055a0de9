"""The owner's pages: each agent's goodwill budget and the requests over it, and the audit
log of every staff action and money movement (searchable, exported as CSV).

Owner only: a budget decides how much money an agent may give away, and the audit log shows
what every person did; an analyst reads the reports instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from awda.core import clock
from awda.core.errors import DomainError, InvalidInput
from awda.core.models import AuditEntry
from awda.dashboard.access import OWNER_ROLES, Staff, staff_page
from awda.dashboard.csv_export import csv_response
from awda.dashboard.pages import context
from awda.dashboard.support_views import (
    MAX_QUERY,
    MAX_REASON,
    acting_member,
    enum_labels,
    parse_amount,
)
from awda.merchants.models import Merchant, StaffMembership, StaffRole
from awda.support.models import GoodwillGrant
from awda.support.selectors import (
    MONEY_EVENTS,
    AuditRow,
    Budget,
    audit_log,
    goodwill_budget,
    pending_goodwill,
)
from awda.support.services import decide_goodwill, set_goodwill_allowance

AUDIT_LIMIT = 200


def _budgets_url(staff: Staff, **query: str) -> str:
    base = reverse("dashboard:budgets", kwargs={"store": staff.merchant.slug})
    return f"{base}?{urlencode(query)}" if query else base


# -- budgets and requests ----------------------------------------------------------------------


@dataclass(frozen=True)
class AgentBudget:
    member: StaffMembership
    budget: Budget


def _budgets_page(
    request: HttpRequest,
    staff: Staff,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    merchant = staff.merchant
    agents = [
        AgentBudget(m, goodwill_budget(merchant=merchant, membership=m))
        for m in StaffMembership.objects.for_merchant(merchant)
        .filter(role=StaffRole.AGENT)
        .select_related("user")
        .order_by("user__username")
    ]
    saved = request.GET.get("saved", "") if status == 200 else ""
    decided = request.GET.get("decided", "") if status == 200 else ""
    decided_grant = (
        GoodwillGrant.objects.for_merchant(merchant).filter(pk=int(decided)).first()
        if decided.isdecimal()
        else None
    )
    return render(
        request,
        "dashboard/budgets.html",
        context(
            request,
            staff,
            agents=agents,
            pending=list(pending_goodwill(merchant=merchant)),
            errors=errors or {},
            values=values or {},
            saved=saved,
            decided=decided_grant,
            labels=enum_labels(),
        ),
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@staff_page(*OWNER_ROLES)
def budgets(request: HttpRequest, staff: Staff) -> HttpResponse:
    """Each agent's monthly budget (used and left this month); a POST sets one."""
    if request.method != "POST":
        return _budgets_page(request, staff)
    agent = request.POST.get("agent", "")
    raw = request.POST.get("monthly", "").strip()[:30]
    name = f"monthly-{agent}"
    if not agent.isdecimal():
        return _budgets_page(request, staff, errors={"form": _("Choose an agent.")}, status=422)
    try:
        amount = parse_amount(raw, staff.merchant.currency, allow_zero=True)
        set_goodwill_allowance(
            merchant=staff.merchant,
            actor=acting_member(staff),
            agent_user_id=int(agent),
            monthly=amount,
        )
    except InvalidInput as error:
        return _budgets_page(
            request, staff, errors={name: str(error.message)}, values={name: raw}, status=422
        )
    except DomainError as error:
        return _budgets_page(
            request, staff, errors={"form": str(error.message)}, status=error.status
        )
    return HttpResponseRedirect(_budgets_url(staff, saved=agent))


@require_POST
@staff_page(*OWNER_ROLES)
def decide_request(request: HttpRequest, staff: Staff, grant_id: int) -> HttpResponse:
    """Approve (the money moves now) or refuse an agent's request, with a note."""
    decision = request.POST.get("decision", "")
    note = request.POST.get("note", "").strip()[:MAX_REASON]
    if decision not in ("approve", "refuse"):
        return _budgets_page(
            request, staff, errors={f"grant-{grant_id}": _("Choose approve or refuse.")},
            status=422,
        )  # fmt: skip
    try:
        decide_goodwill(
            merchant=staff.merchant,
            actor=acting_member(staff),
            grant_id=grant_id,
            approve=decision == "approve",
            note=note,
        )
    except DomainError as error:
        if error.status == 404:
            return _budgets_page(request, staff, errors={"form": str(error.message)}, status=404)
        return _budgets_page(
            request, staff, errors={f"grant-{grant_id}": str(error.message)}, status=error.status
        )
    return HttpResponseRedirect(_budgets_url(staff, decided=str(grant_id)))


# -- the audit log -------------------------------------------------------------------------------


def action_labels() -> dict[str, str]:
    """The audit log's action codes in the page's language (unknown ones stay codes)."""
    labels = {
        "goodwill_budget_set": _("Goodwill budget set"),
        "goodwill_granted": _("Goodwill granted"),
        "goodwill_requested": _("Goodwill sent for approval"),
        "goodwill_approved": _("Goodwill request approved"),
        "goodwill_refused": _("Goodwill request refused"),
        "customer_note_added": _("Note added"),
        "return_approved": _("Return approved"),
        "return_rejected": _("Return rejected"),
        "policy_override": _("Return opened despite the policy"),
        "RefundIssued": _("Refund issued"),
        "RefundFailed": _("Refund failed"),
        "BankPayoutRequested": _("Bank transfer requested"),
        "BankTransferPaid": _("Bank transfer paid"),
        "StoreCreditGranted": _("Store credit granted"),
        "StoreCreditRedeemed": _("Store credit spent"),
        "StoreCreditExpired": _("Store credit expired"),
        "StoreCreditClawedBack": _("Store credit taken back"),
        "ExchangeIssued": _("Exchange issued"),
        "ExchangeCharged": _("Exchange difference charged"),
        "ExchangeDifferencePaid": _("Exchange difference paid"),
        "GoodwillGranted": _("Goodwill money moved"),
    }
    return labels


@dataclass(frozen=True)
class AuditQuery:
    query: str
    action: str
    since: date | None
    until: date | None
    errors: dict[str, str]

    def as_params(self) -> str:
        pairs = [
            ("q", self.query),
            ("action", self.action),
            ("since", self.since.isoformat() if self.since else ""),
            ("until", self.until.isoformat() if self.until else ""),
        ]
        return urlencode([(k, v) for k, v in pairs if v])


def _day(data: QueryDict, name: str, errors: dict[str, str]) -> date | None:
    raw = data.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = _("Enter a date such as 2026-01-31.")
        return None


def _audit_query(data: QueryDict, actions: list[str]) -> AuditQuery:
    errors: dict[str, str] = {}
    action = data.get("action", "")
    since, until = _day(data, "since", errors), _day(data, "until", errors)
    if since and until and until < since:
        errors["until"] = _("The end comes before the start.")
        until = None
    return AuditQuery(
        query=data.get("q", "").strip()[:MAX_QUERY],
        action=action if action in actions else "",
        since=since,
        until=until,
        errors=errors,
    )


def _known_actions(merchant: Merchant) -> list[str]:
    recorded = AuditEntry.objects.filter(merchant_id=merchant.pk).values_list("action", flat=True)
    return sorted(set(recorded.distinct()) | set(MONEY_EVENTS))


def _rows(merchant: Merchant, query: AuditQuery) -> list[AuditRow]:
    """The rows the page shows and the CSV holds: the same call for both."""
    zone = ZoneInfo(merchant.timezone)

    def start(day: date | None) -> datetime | None:
        return datetime.combine(day, time.min, tzinfo=zone) if day else None

    return audit_log(
        merchant=merchant,
        query=query.query,
        actions=[query.action] if query.action else (),
        since=start(query.since),
        until=start(query.until + timedelta(days=1)) if query.until else None,
        limit=AUDIT_LIMIT,
    )


def _local_iso(moment: datetime, merchant: Merchant) -> str:
    return moment.astimezone(ZoneInfo(merchant.timezone)).isoformat(timespec="seconds")


@never_cache
@require_http_methods(["GET"])
@staff_page(*OWNER_ROLES)
def audit(request: HttpRequest, staff: Staff) -> HttpResponse:
    """Every staff action and money movement, newest first, searchable by person, subject
    or text, by action and by dates (the merchant's days)."""
    merchant = staff.merchant
    actions = _known_actions(merchant)
    query = _audit_query(request.GET, actions)
    rows = _rows(merchant, query)
    labels = action_labels()
    return render(
        request,
        "dashboard/audit.html",
        context(
            request,
            staff,
            rows=[(r, _local_iso(r.at, merchant)) for r in rows],
            query=query,
            actions=[(a, labels.get(a, a)) for a in actions],
            action_labels=labels,
            role_labels={v: str(label) for v, label in StaffRole.choices},
            csv_url=reverse("dashboard:audit-csv", kwargs={"store": merchant.slug})
            + (f"?{query.as_params()}" if query.as_params() else ""),
            limit=AUDIT_LIMIT,
            errors=query.errors,
        ),
        status=422 if query.errors else 200,
    )


@never_cache
@require_http_methods(["GET"])
@staff_page(*OWNER_ROLES)
def audit_csv(request: HttpRequest, staff: Staff) -> HttpResponse:
    """The audit page's rows, exactly, as CSV (UTF-8 with a BOM, so spreadsheets read
    Arabic right)."""
    merchant = staff.merchant
    query = _audit_query(request.GET, _known_actions(merchant))
    rows = _rows(merchant, query)
    today = clock.now().astimezone(ZoneInfo(merchant.timezone)).date().isoformat()
    return csv_response(
        ["at", "actor", "role", "action", "subject", "summary"],
        (
            [_local_iso(r.at, merchant), r.actor, r.role, r.action, r.subject, r.summary]
            for r in rows
        ),
        filename=f"audit-{merchant.slug}-{today}.csv",
    )
