"""/api/v1/analytics: the dashboard's analytics figures over a period, straight from
``analytics.selectors`` (so as fresh as the last rollup refresh: hourly, and after imports).

Every operation takes ``from`` and ``to`` (the store's calendar days, both included; the last
30 days by default). Money is in minor units of the store's currency; rates are 0..1 or null
when nothing was sold.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field

from awda.analytics import selectors
from awda.api.auth import merchant_of
from awda.api.pagination import rows_of
from awda.core import clock
from awda.core.errors import InvalidInput
from awda.merchants.models import Merchant
from awda.webhooks.schemas import ErrorOut, InvalidInputOut

router = Router(tags=["analytics"])

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366  # a longer span is a typing mistake, and slow to read
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]
_ERRORS: dict[int, Any] = {401: ErrorOut, 422: InvalidInputOut}
_PERIOD = (
    " `from`/`to`: the store's calendar days, both included (default: the last 30 days; "
    "only `from`: 30 days from it, not past today; only `to`: the 30 days ending then); "
    "422 with the `field` for a bad date, `to` before `from`, or a span over 3 years."
)


class PeriodQuery(Schema):
    model_config = ConfigDict(populate_by_name=True)

    start: Day | None = Field(default=None, alias="from")
    end: Day | None = Field(default=None, alias="to")


class RatesQuery(PeriodQuery):
    by: Literal["product", "variant", "category", "supplier"] = "product"
    limit: int = Field(50, ge=1, le=500)


class ItemsQuery(PeriodQuery):
    reason: str | None = Field(default=None, max_length=60)  # a reason or sub-reason code
    limit: int = Field(100, ge=1, le=500)


class FlaggedQuery(PeriodQuery):
    limit: int = Field(50, ge=1, le=500)


def _period(merchant: Merchant, q: PeriodQuery) -> tuple[date, date]:
    today = clock.now().astimezone(ZoneInfo(merchant.timezone)).date()
    end = q.end or (min(today, q.start + timedelta(days=DEFAULT_DAYS - 1)) if q.start else today)
    start = q.start or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise InvalidInput(_("Choose an end on or after the start."), field="to")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(_("Choose a period of at most 3 years."), field="from")
    return start, end


def _span(request: HttpRequest, q: PeriodQuery) -> dict[str, Any]:
    merchant = merchant_of(request)
    start, end = _period(merchant, q)
    return {"merchant": merchant, "start": start, "end": end}


class PeriodOut(Schema):
    start: date
    end: date
    currency: str


# -- the store's figures -----------------------------------------------------------------------


class SummaryOut(PeriodOut):
    sold_units: int
    returned_units: int
    sold_minor: int
    returned_minor: int
    unit_rate: float | None
    value_rate: float | None


class CustomerShareOut(PeriodOut):
    buying: int  # customers (with the store's id) who bought in the period
    returning: int  # of them, those who returned something in it
    share: float | None


def _head(span: dict[str, Any]) -> dict[str, Any]:
    return {"start": span["start"], "end": span["end"], "currency": span["merchant"].currency}


@router.get(
    "/summary",
    response={200: SummaryOut, **_ERRORS},
    summary="The store's return rate by units and by value",
    description="Sold and returned over the period, and the rates." + _PERIOD,
)
def summary(request: HttpRequest, q: Query[PeriodQuery]) -> SummaryOut:
    span = _span(request, q)
    s = selectors.return_summary(**span)
    return SummaryOut(
        **_head(span),
        sold_units=s.sold_units,
        returned_units=s.returned_units,
        sold_minor=s.sold_minor,
        returned_minor=s.returned_minor,
        unit_rate=s.unit_rate,
        value_rate=s.value_rate,
    )


@router.get(
    "/customers",
    response={200: CustomerShareOut, **_ERRORS},
    summary="How many of the customers who bought also returned",
    description="Guests (no store customer id) are left out." + _PERIOD,
)
def customers(request: HttpRequest, q: Query[PeriodQuery]) -> CustomerShareOut:
    span = _span(request, q)
    share = selectors.cached_customers_who_return(**span)
    return CustomerShareOut(
        **_head(span), buying=share.buying, returning=share.returning, share=share.share
    )


# -- rates, reasons, items ---------------------------------------------------------------------


class RateRowOut(Schema):
    key: int  # the product's, variant's, category's or supplier's id; 0 = none
    code: str  # external id, SKU or code
    label: str
    label_ar: str
    sold_units: int
    returned_units: int
    sold_minor: int
    returned_minor: int
    unit_rate: float | None
    value_rate: float | None


class RatesOut(PeriodOut):
    by: str
    rows: list[RateRowOut]


@router.get(
    "/rates",
    response={200: RatesOut, **_ERRORS},
    summary="Return rates by product, variant, category or supplier",
    description="Most units returned first, at most `limit` rows. 422: `by` not one of "
    "product, variant, category, supplier." + _PERIOD,
)
def rates(request: HttpRequest, q: Query[RatesQuery]) -> RatesOut:
    span = _span(request, q)
    rows = selectors.return_rates(**span, by=q.by, limit=q.limit)
    return RatesOut(**_head(span), by=q.by, rows=rows_of(RateRowOut, rows))


class ReasonShareOut(Schema):
    code: str
    label_en: str
    label_ar: str
    items: int
    units: int
    value_minor: int
    share: float | None  # of the returned units


class ReasonsOut(PeriodOut):
    rows: list[ReasonShareOut]


@router.get(
    "/reasons",
    response={200: ReasonsOut, **_ERRORS},
    summary="Why things came back: each reason's share of the returned units",
    description="Largest first." + _PERIOD,
)
def reasons(request: HttpRequest, q: Query[PeriodQuery]) -> ReasonsOut:
    span = _span(request, q)
    return ReasonsOut(**_head(span), rows=rows_of(ReasonShareOut, selectors.reason_shares(**span)))


class TrendPointOut(Schema):
    bucket: date  # the week's Monday, or the month's first day
    reason_code: str
    units: int


class ReasonTrendOut(PeriodOut):
    grain: Literal["week", "month"]  # weeks for periods under 26 weeks
    points: list[TrendPointOut]


@router.get(
    "/reason-trend",
    response={200: ReasonTrendOut, **_ERRORS},
    summary="Returned units per reason per week or month",
    description="Weekly for periods under 26 weeks, monthly for longer ones." + _PERIOD,
)
def reason_trend(request: HttpRequest, q: Query[PeriodQuery]) -> ReasonTrendOut:
    span = _span(request, q)
    grain, points = selectors.reason_trend(**span)
    return ReasonTrendOut(**_head(span), grain=grain, points=rows_of(TrendPointOut, points))


class ItemOut(Schema):
    number: str  # the return's number, or the imported credit note's
    requested_at: datetime
    sku: str
    title: str
    quantity: int
    reason_code: str
    sub_reason_code: str
    comment: str
    resolution: str
    status: str


class ItemsOut(PeriodOut):
    rows: list[ItemOut]


@router.get(
    "/items",
    response={200: ItemsOut, **_ERRORS},
    summary="The returned items behind the figures",
    description="Newest first, at most `limit`; `reason` keeps the items with that reason or "
    "sub-reason code." + _PERIOD,
)
def items(request: HttpRequest, q: Query[ItemsQuery]) -> ItemsOut:
    span = _span(request, q)
    rows = selectors.returned_items(**span, reason_code=q.reason or None, limit=q.limit)
    return ItemsOut(**_head(span), rows=rows_of(ItemOut, rows))


# -- money -------------------------------------------------------------------------------------


class ResolutionRowOut(Schema):
    resolution: str
    items: int
    units: int
    value_minor: int  # the returned goods' value
    refund_minor: int  # what the quotes promised (after fees)
    share: float | None  # of the returned value


class ResolutionsOut(PeriodOut):
    rows: list[ResolutionRowOut]
    revenue_kept: float | None  # (exchange + store credit value) ÷ all returned value


@router.get(
    "/resolutions",
    response={200: ResolutionsOut, **_ERRORS},
    summary="How returns were resolved, and the share of returned value the store kept",
    description=_PERIOD.strip(),
)
def resolutions(request: HttpRequest, q: Query[PeriodQuery]) -> ResolutionsOut:
    span = _span(request, q)
    mix = selectors.resolution_mix(**span)
    return ResolutionsOut(
        **_head(span), rows=rows_of(ResolutionRowOut, mix.rows), revenue_kept=mix.revenue_kept
    )


class CostsOut(PeriodOut):
    returns: int
    bonus_minor: int  # store-credit bonus given beyond the goods' value
    restocking_fee_minor: int
    shipping_fee_minor: int
    fees_minor: int  # both fees


@router.get(
    "/costs",
    response={200: CostsOut, **_ERRORS},
    summary="Bonus cost and fees collected over the returns requested in the period",
    description=_PERIOD.strip(),
)
def costs(request: HttpRequest, q: Query[PeriodQuery]) -> CostsOut:
    span = _span(request, q)
    c = selectors.return_costs(**span)
    return CostsOut(
        **_head(span),
        returns=c.returns,
        bonus_minor=c.bonus_minor,
        restocking_fee_minor=c.restocking_fee_minor,
        shipping_fee_minor=c.shipping_fee_minor,
        fees_minor=c.fees_minor,
    )


# -- durations ---------------------------------------------------------------------------------


class DurationRowOut(Schema):
    method: str  # the return's method ("" in transit times)
    carrier: str  # "" for returns without a parcel
    count: int
    p50_hours: float | None
    p90_hours: float | None


class DurationsOut(PeriodOut):
    rows: list[DurationRowOut]


@router.get(
    "/refund-times",
    response={200: DurationsOut, **_ERRORS},
    summary="Hours from the request to the money reaching the shopper, p50 and p90",
    description="By return method and carrier." + _PERIOD,
)
def refund_times(request: HttpRequest, q: Query[PeriodQuery]) -> DurationsOut:
    span = _span(request, q)
    return DurationsOut(**_head(span), rows=rows_of(DurationRowOut, selectors.refund_times(**span)))


@router.get(
    "/transit-times",
    response={200: DurationsOut, **_ERRORS},
    summary="Hours from the carrier's first scan to delivery at the warehouse, p50 and p90",
    description="By carrier." + _PERIOD,
)
def transit_times(request: HttpRequest, q: Query[PeriodQuery]) -> DurationsOut:
    span = _span(request, q)
    return DurationsOut(
        **_head(span), rows=rows_of(DurationRowOut, selectors.transit_times(**span))
    )


# -- flags and suppliers -----------------------------------------------------------------------


class FlaggedProductOut(Schema):
    product_id: int
    external_id: str
    title: str
    category_id: int
    sold_units: int
    returned_units: int
    return_rate: float
    lower_bound: float  # Wilson, 95 %
    category_rate: float  # the category's (the store's, without a category)


class FlaggedOut(PeriodOut):
    rows: list[FlaggedProductOut]


@router.get(
    "/flagged-products",
    response={200: FlaggedOut, **_ERRORS},
    summary="Products returned significantly more often than their category",
    description="The most certain first, at most `limit`." + _PERIOD,
)
def flagged_products(request: HttpRequest, q: Query[FlaggedQuery]) -> FlaggedOut:
    span = _span(request, q)
    rows = selectors.flagged_products(**span)[: q.limit]
    return FlaggedOut(**_head(span), rows=rows_of(FlaggedProductOut, rows))


class ScorecardOut(Schema):
    supplier_id: int  # 0: products without a supplier
    code: str
    name: str
    sold_units: int
    returned_units: int
    return_rate: float | None
    # Shares of the supplier's returned units whose reason is in each group.
    defective_share: float | None
    damaged_share: float | None
    not_as_described_share: float | None


class SuppliersOut(PeriodOut):
    rows: list[ScorecardOut]


@router.get(
    "/suppliers",
    response={200: SuppliersOut, **_ERRORS},
    summary="Per supplier: return rate and the share of returns that were the goods' fault",
    description=_PERIOD.strip(),
)
def suppliers(request: HttpRequest, q: Query[PeriodQuery]) -> SuppliersOut:
    span = _span(request, q)
    cards = selectors.supplier_scorecards(**span)
    return SuppliersOut(**_head(span), rows=rows_of(ScorecardOut, cards))
