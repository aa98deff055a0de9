"""/api/v1/customers and /api/v1/audit: what the dashboard's support pages do — find a
customer, read their whole history, add a note, grant goodwill — and the audit log.

Notes and goodwill are a person's acts: the request names the member of staff (``staff``,
their username) the key acts for. The service checks that person's role and, for an agent,
their monthly goodwill budget, exactly as on the dashboard, and the audit log names them.
"""

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo

from django.http import HttpRequest, StreamingHttpResponse
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import ConfigDict, Field

from awda.api.auth import merchant_of
from awda.api.pagination import BoundedLimitOffset, rows_of
from awda.core import clock
from awda.core.errors import InvalidInput, NotFound
from awda.core.money import Money
from awda.core.spreadsheet import guard_cell
from awda.integrations import csvio
from awda.merchants.models import Merchant, StaffMembership, StaffRole
from awda.orders.models import Customer
from awda.orders.selectors import order_by_number
from awda.support import selectors, services
from awda.support.models import CustomerNote, GoodwillGrant, GoodwillKind
from awda.webhooks.schemas import ErrorOut, InvalidInputOut

router = Router(tags=["support"])

# A search answers at most this many customers; the audit log its newest rows (narrow it by
# dates for older ones). Both are lists in memory, paginated after.
SEARCH_LIMIT = 500
AUDIT_LIMIT = 1000
# Ids beyond a signed 64-bit integer exist nowhere; bounding them keeps SQLite from overflowing.
CustomerId = Annotated[int, Field(ge=1, le=2**63 - 1)]
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]


# -- schemas -----------------------------------------------------------------------------------


class CustomerOut(Schema):
    id: int  # Awda's id: the one the /customers/{customer_id} paths take
    external_id: str | None  # the store's id for the customer
    name: str
    email: str
    phone: str
    language: str
    tags: list[str]

    @classmethod
    def of(cls, c: Customer) -> Self:
        return cls(
            id=c.pk,
            external_id=c.external_id,
            name=c.name,
            email=c.email,
            phone=c.phone,
            language=c.language,
            tags=[str(t) for t in c.tags or []],
        )


class StatsOut(Schema):
    orders: int
    returns: int
    units_bought: int
    units_returned: int
    return_rate: str  # units returned ÷ units bought, "0.2500"
    returns_value_minor: int
    currency: str


class RiskFlagOut(Schema):
    code: str  # serial_returner, high_return_rate, high_return_value
    value: str
    threshold: str


class OrderBriefOut(Schema):
    number: str
    kind: str
    placed_at: datetime
    delivered_at: datetime | None
    total_minor: int
    currency: str


class ReturnBriefOut(Schema):
    number: str
    order_number: str
    status: str
    method: str
    requested_at: datetime
    refund_total_minor: int
    store_credit_total_minor: int
    currency: str


class RefundOut(Schema):
    reference: str
    amount_minor: int
    currency: str
    status: str
    created_at: datetime
    settled_at: datetime | None


class TransferOut(Schema):
    reference: str
    amount_minor: int
    currency: str
    status: str
    created_at: datetime
    paid_at: datetime | None


class CreditAccountOut(Schema):
    currency: str
    balance_minor: int


class CreditTransactionOut(Schema):
    kind: str
    requested_minor: int  # as asked (a clawback may move less; the balance says what is left)
    currency: str
    reference: str
    actor: str
    note: str
    created_at: datetime


class ExchangeOut(Schema):
    reference: str  # the return's number
    status: str
    replacement_value_minor: int
    credit_minor: int
    difference_minor: int
    currency: str
    created_at: datetime
    issued_at: datetime | None


class GoodwillOut(Schema):
    id: int
    customer_id: int
    order_number: str | None
    agent: str  # the username of the member of staff who granted or asked
    kind: GoodwillKind
    status: str  # granted, pending (waiting for an owner), refused
    amount_minor: int
    currency: str
    reason: str
    code: str  # a free-shipping grant's discount code
    created_at: datetime

    @classmethod
    def of(cls, g: GoodwillGrant) -> Self:
        return cls(
            id=g.pk,
            customer_id=g.customer_id,
            order_number=g.order.number if g.order is not None else None,
            agent=g.agent.get_username(),
            kind=GoodwillKind(g.kind),
            status=g.status,
            amount_minor=g.amount_minor,
            currency=g.currency,
            reason=g.reason,
            code=g.code,
            created_at=g.created_at,
        )


class NoteOut(Schema):
    id: int
    author: str
    text: str
    created_at: datetime

    @classmethod
    def of(cls, n: CustomerNote) -> Self:
        return cls(id=n.pk, author=n.author, text=n.text, created_at=n.created_at)


class HistoryOut(Schema):
    """Everything the store knows about one customer, each list newest first."""

    customer: CustomerOut
    stats: StatsOut
    risk_flags: list[RiskFlagOut]
    orders: list[OrderBriefOut]
    returns: list[ReturnBriefOut]
    refunds: list[RefundOut]
    transfers: list[TransferOut]
    store_credit: list[CreditAccountOut]
    store_credit_transactions: list[CreditTransactionOut]  # the newest 200
    exchanges: list[ExchangeOut]
    goodwill: list[GoodwillOut]
    notes: list[NoteOut]

    @classmethod
    def of(cls, h: selectors.CustomerHistory) -> Self:
        currencies = {a.pk: a.currency for a in h.credit_accounts}
        return cls(
            customer=CustomerOut.of(h.customer),
            stats=StatsOut(
                orders=h.stats.orders,
                returns=h.stats.returns,
                units_bought=h.stats.units_bought,
                units_returned=h.stats.units_returned,
                return_rate=str(h.stats.return_rate),
                returns_value_minor=h.stats.returns_value.minor,
                currency=h.stats.returns_value.currency,
            ),
            risk_flags=[
                RiskFlagOut(code=f.code, value=f.value, threshold=f.threshold) for f in h.flags
            ],
            # The lists whose schemas carry exactly their rows' fields are read off the rows.
            orders=rows_of(OrderBriefOut, h.orders),
            returns=[
                ReturnBriefOut(
                    number=r.number,
                    order_number=r.order.number,
                    status=r.status,
                    method=r.method,
                    requested_at=r.requested_at,
                    refund_total_minor=r.refund_total_minor,
                    store_credit_total_minor=r.store_credit_total_minor,
                    currency=r.currency,
                )
                for r in h.returns
            ],
            refunds=rows_of(RefundOut, h.refunds),
            transfers=rows_of(TransferOut, h.transfers),
            store_credit=rows_of(CreditAccountOut, h.credit_accounts),
            store_credit_transactions=[
                CreditTransactionOut(
                    kind=t.kind,
                    requested_minor=t.requested_minor,
                    currency=currencies.get(t.account_id, ""),
                    reference=t.reference,
                    actor=t.actor,
                    note=t.note,
                    created_at=t.created_at,
                )
                for t in h.credit_transactions
            ],
            exchanges=rows_of(ExchangeOut, h.exchanges),
            goodwill=[GoodwillOut.of(g) for g in h.goodwill],
            notes=[NoteOut.of(n) for n in h.notes],
        )


class StaffIn(Schema):
    # The member of staff the key acts for: their role and budget apply, the audit names them.
    staff: str = Field(min_length=1, max_length=150)


class NoteIn(StaffIn):
    text: str = Field(max_length=20_000)


class GoodwillIn(StaffIn):
    kind: GoodwillKind
    amount_minor: int = Field(ge=1, le=10**12)
    currency: str = Field(min_length=3, max_length=3)
    reason: str = Field(max_length=2_000)
    # Required here or in the Idempotency-Key header: a retry grants nothing twice.
    idempotency_key: str | None = Field(default=None, max_length=80)
    order_number: str | None = Field(default=None, max_length=40)  # a partial refund's order
    # An agent over budget: send it to an owner for approval instead of refusing it.
    ask_owner: bool = False


class GrantOut(Schema):
    grant: GoodwillOut
    remaining_minor: int | None  # the agent's budget left this month; null for an owner
    replayed: bool


class SearchQuery(Schema):
    q: str = Field(min_length=1, max_length=200)


class AuditQuery(Schema):
    model_config = ConfigDict(populate_by_name=True)

    actor: str | None = Field(default=None, max_length=150)  # a username, "api" or "system"
    action: str | None = Field(default=None, max_length=60)
    q: str | None = Field(default=None, max_length=200)
    # The merchant's calendar days, both included.
    start: Day | None = Field(default=None, alias="from")
    end: Day | None = Field(default=None, alias="to")


class AuditRowOut(Schema):
    at: datetime
    actor: str  # a username, "api" or "system" (money the system moved)
    role: str
    action: str
    subject: str  # "<type>:<id>", e.g. "customer:12" or "return:R-1001"
    summary: str


# -- helpers -----------------------------------------------------------------------------------


def _member(merchant: Merchant, username: str) -> StaffMembership:
    member = (
        StaffMembership.objects.for_merchant(merchant)
        .filter(user__username=username, user__is_active=True)
        .select_related("user")
        .first()
    )
    if member is None:
        raise InvalidInput(
            _("No active member of this store's staff has this username."), field="staff"
        )
    return member


def _history(merchant: Merchant, customer_id: int) -> selectors.CustomerHistory:
    history = selectors.customer_history(merchant=merchant, customer_id=customer_id)
    if history is None:
        raise NotFound(_("No such customer."), field="customer")
    return history


def _audit_rows(merchant: Merchant, q: AuditQuery) -> list[selectors.AuditRow]:
    if q.start and q.end and q.end < q.start:
        raise InvalidInput(_("Choose an end on or after the start."), field="to")
    zone = ZoneInfo(merchant.timezone)

    def start_of(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=zone)

    actor = (q.actor or "").strip()
    rows = selectors.audit_log(
        merchant=merchant,
        # The log's search covers the actor: with no text asked, it narrows the read to them.
        query=(q.q or "").strip() or actor,
        actions=[q.action] if q.action else (),
        since=start_of(q.start) if q.start else None,
        until=start_of(q.end + timedelta(days=1)) if q.end else None,
        limit=AUDIT_LIMIT,
    )
    if actor:
        rows = [r for r in rows if r.actor.lower() == actor.lower()]
    return rows


def _row(r: selectors.AuditRow) -> AuditRowOut:
    return AuditRowOut(
        at=r.at, actor=r.actor, role=r.role, action=r.action, subject=r.subject, summary=r.summary
    )


# -- customers ---------------------------------------------------------------------------------


@router.get(
    "/customers",
    response={200: list[CustomerOut], 401: ErrorOut, 422: InvalidInputOut},
    summary="Find customers",
    description="By a phone number (any format, local or with the country code), an e-mail, "
    "an order or return number, a tracking number, or part of a name (3 characters or "
    f"more); by name, at most {SEARCH_LIMIT} matches. 422: `q` missing or empty.",
)
@paginate(BoundedLimitOffset)
def search_customers(request: HttpRequest, filters: Query[SearchQuery]) -> list[CustomerOut]:
    found = selectors.find_customers(
        merchant=merchant_of(request), query=filters.q, limit=SEARCH_LIMIT
    )
    return [CustomerOut.of(c) for c in found]


@router.get(
    "/customers/{customer_id}",
    response={200: HistoryOut, 401: ErrorOut, 404: ErrorOut, 422: InvalidInputOut},
    summary="A customer's whole history",
    description="Orders, returns, refunds, bank transfers, store credit, exchanges, goodwill, "
    "notes, tags, return statistics and the risk flags the policy's thresholds raise. "
    "`customer_id` is Awda's id (from the search). 404 `not_found`: no such customer in "
    "this store.",
)
def read_customer(request: HttpRequest, customer_id: Path[CustomerId]) -> HistoryOut:
    return HistoryOut.of(_history(merchant_of(request), customer_id))


@router.post(
    "/customers/{customer_id}/notes",
    response={201: NoteOut, 401: ErrorOut, 404: ErrorOut, 422: InvalidInputOut},
    summary="Add an internal note on a customer",
    description="Staff only, never shown to the shopper; in the audit log as "
    "`customer_note_added` by `staff`. 403 `forbidden`: that member's role may not write "
    "notes (owners, agents and warehouse staff may). 404: no such customer. 422: no such "
    "active member of staff (`field` `staff`), an empty note or one over 5000 characters.",
)
def add_note(request: HttpRequest, customer_id: Path[CustomerId], payload: NoteIn) -> Status:
    merchant = merchant_of(request)
    note = services.add_customer_note(
        merchant=merchant,
        actor=_member(merchant, payload.staff),
        customer_id=customer_id,
        text=payload.text,
    )
    return Status(201, NoteOut.of(note))


@router.post(
    "/customers/{customer_id}/goodwill",
    response={
        201: GrantOut,
        200: GrantOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: InvalidInputOut,
    },
    summary="Grant goodwill: store credit, a free-shipping code or a partial refund",
    description="The key acts for `staff` (a username): an owner grants any amount; an agent "
    "within their monthly budget set by an owner (none set: zero). Over it, 422 "
    "`goodwill_budget_exceeded` with `details.remaining_minor` and `details.monthly_minor` "
    "and nothing granted — or, with `ask_owner`, 201 with `status` `pending`: it waits for "
    "an owner's approval on the dashboard, holding its share of the budget. 201 the grant; "
    "200 the first answer when the idempotency key (body or `Idempotency-Key` header) was "
    "used already; 409 `conflict` when it was used for another grant. 403 `forbidden`: that "
    "member's role may not grant goodwill (only owners and agents). 404: no such customer, "
    "or (`field` `order_number`) the customer has no such order. 422: no such active member "
    "(`field` `staff`), a blank reason, another currency, no idempotency key, a partial "
    "refund without `order_number`.",
)
def grant(request: HttpRequest, customer_id: Path[CustomerId], payload: GoodwillIn) -> Status:
    merchant = merchant_of(request)
    member = _member(merchant, payload.staff)
    order_id = None
    if payload.order_number:
        order = order_by_number(merchant=merchant, number=payload.order_number)
        if order is None:
            raise NotFound(_("The customer has no such order."), field="order_number")
        order_id = order.pk
    try:
        amount = Money(payload.amount_minor, payload.currency.upper())
    except ValueError:
        raise InvalidInput(_("Unknown currency."), field="currency") from None
    key = payload.idempotency_key or request.headers.get("Idempotency-Key", "")
    result = services.grant_goodwill(
        merchant=merchant,
        actor=member,
        customer_id=customer_id,
        kind=payload.kind,
        amount=amount,
        reason=payload.reason,
        idempotency_key=key[:81],  # longer than 80 is refused by the service, with its field
        order_id=order_id,
        ask_owner=payload.ask_owner,
    )
    body = GrantOut(
        grant=GoodwillOut.of(result.grant),
        remaining_minor=None if result.remaining is None else result.remaining.minor,
        replayed=result.replayed,
    )
    return Status(200 if result.replayed else 201, body)


# -- the audit log -----------------------------------------------------------------------------

_AUDIT = (
    "Every staff action (the API's too: `actor` is the member of staff it acted for, or "
    "`api`) and the money the system moved (`actor` `system`), newest first. `actor` keeps "
    "one person's rows (exact, any case); `action` one action (e.g. `goodwill_granted`, "
    "`customer_note_added`, `RefundIssued`); `q` searches the actor, the subject's id and the "
    "summary; `from`/`to` are the store's calendar days, both included. "
    f"The newest {AUDIT_LIMIT} matching rows: narrow the days for older ones. 422 with the "
    "`field`: a bad date, or `to` before `from`."
)


class DecideIn(StaffIn):
    approve: bool
    note: str = Field(default="", max_length=20_000)


@router.post(
    "/customers/goodwill/{grant_id}/decide",
    response={
        200: GoodwillOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: InvalidInputOut,
    },
    summary="Approve or refuse an agent's goodwill request",
    description="The key acts for `staff` (a username), who must be an owner, as on the "
    "dashboard's budgets page: approving moves the money now; refusing frees the agent's "
    "budget. 200 the grant, decided. 403 `forbidden`: that member is not an owner. 404: no "
    "such request. 409 `conflict`: it was decided already. 422: no such active member "
    "(`field` `staff`), a note over 500 characters.",
)
def decide(request: HttpRequest, grant_id: Path[CustomerId], payload: DecideIn) -> GoodwillOut:
    merchant = merchant_of(request)
    decided = services.decide_goodwill(
        merchant=merchant,
        actor=_member(merchant, payload.staff),
        grant_id=grant_id,
        approve=payload.approve,
        note=payload.note,
    )
    found = GoodwillGrant.objects.for_merchant(merchant).select_related("agent", "order")
    return GoodwillOut.of(found.get(pk=decided.pk))


class AllowanceOut(Schema):
    username: str
    monthly_minor: int
    used_minor: int  # granted or waiting for an owner this month
    remaining_minor: int
    currency: str


class AllowanceIn(StaffIn):
    monthly_minor: int = Field(ge=0, le=2**63 - 1)
    currency: str = Field(min_length=3, max_length=3)


def _allowance(merchant: Merchant, member: StaffMembership) -> AllowanceOut:
    budget = selectors.goodwill_budget(merchant=merchant, membership=member)
    return AllowanceOut(
        username=member.user.get_username(),
        monthly_minor=budget.monthly.minor if budget.monthly is not None else 0,
        used_minor=budget.used.minor,
        remaining_minor=budget.remaining.minor if budget.remaining is not None else 0,
        currency=budget.used.currency,
    )


def _agents(merchant: Merchant) -> Any:
    return (
        StaffMembership.objects.for_merchant(merchant)
        .filter(role=StaffRole.AGENT)
        .select_related("user")
        .order_by("user__username")
    )


@router.get(
    "/goodwill/allowances",
    response={200: list[AllowanceOut], 401: ErrorOut},
    summary="Each agent's monthly goodwill budget, used and left this month",
)
def list_allowances(request: HttpRequest) -> list[AllowanceOut]:
    merchant = merchant_of(request)
    return [_allowance(merchant, m) for m in _agents(merchant)]


@router.put(
    "/goodwill/allowances/{username}",
    response={
        200: AllowanceOut,
        401: ErrorOut,
        404: ErrorOut,
        422: InvalidInputOut,
    },
    summary="Set an agent's monthly goodwill budget",
    description="The key acts for `staff` (a username), who must be an owner, as on the "
    "dashboard's budgets page; the change is in the audit log. 200 the agent's budget. 403 "
    "`forbidden`: that member is not an owner. 404 (`field` `agent`): no agent with this "
    "username. 422: no such active member (`field` `staff`), another currency than the "
    "store's.",
)
def set_allowance(request: HttpRequest, username: Path[str], payload: AllowanceIn) -> AllowanceOut:
    merchant = merchant_of(request)
    actor = _member(merchant, payload.staff)
    agent = _agents(merchant).filter(user__username=username).first()
    if agent is None:
        raise NotFound(_("No such member of staff."), field="agent")
    try:
        monthly = Money(payload.monthly_minor, payload.currency.upper())
    except ValueError:
        raise InvalidInput(_("Unknown currency."), field="currency") from None
    services.set_goodwill_allowance(
        merchant=merchant, actor=actor, agent_user_id=agent.user_id, monthly=monthly
    )
    return _allowance(merchant, agent)


@router.get(
    "/audit",
    response={200: list[AuditRowOut], 401: ErrorOut, 422: InvalidInputOut},
    summary="The audit log",
    description=_AUDIT,
)
@paginate(BoundedLimitOffset)
def audit(request: HttpRequest, filters: Query[AuditQuery]) -> list[AuditRowOut]:
    return [_row(r) for r in _audit_rows(merchant_of(request), filters)]


_CSV_200: dict[str, Any] = {
    "responses": {
        200: {
            "description": "a CSV file (UTF-8 with a BOM, comma-separated): at, actor, role, "
            "action, subject, summary; times in the store's time zone",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


@router.get(
    "/audit.csv",
    response={401: ErrorOut, 422: InvalidInputOut},
    summary="The audit log as CSV",
    description=_AUDIT + " The same rows as `GET /audit`, unpaginated.",
    openapi_extra=_CSV_200,
)
def audit_csv(request: HttpRequest, filters: Query[AuditQuery]) -> StreamingHttpResponse:
    merchant = merchant_of(request)
    rows = _audit_rows(merchant, filters)
    zone = ZoneInfo(merchant.timezone)

    def lines() -> Iterator[list[str]]:
        yield ["at", "actor", "role", "action", "subject", "summary"]
        for r in rows:
            at = r.at.astimezone(zone).isoformat(timespec="seconds")
            # A summary is typed by people: a spreadsheet must not run it as a formula.
            yield [guard_cell(v) for v in (at, r.actor, r.role, r.action, r.subject, r.summary)]

    today = clock.now().astimezone(zone).date().isoformat()
    response = StreamingHttpResponse(
        csvio.csv_lines(lines()), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="audit-{merchant.slug}-{today}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
