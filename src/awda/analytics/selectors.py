"""Reads for the staff analytics: merchant-scoped, period-bounded, plain rows.

Periods are the merchant's calendar days, ``start`` and ``end`` both included. Figures come
from the rollups (``models``), so they are as fresh as the last ``refresh_rollups`` (after
each import, and every hour for the last days); the drill-down list reads the source rows.
Values are in one currency (default the merchant's): rows in other
currencies are left out of every figure, units included, so a rate never mixes them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max, Min, Q, Sum

from awda.analytics.models import (
    CustomerDay,
    DurationKind,
    DurationRollup,
    Grain,
    ProductSalesRollup,
    ReasonRollup,
    ResolutionRollup,
    ReturnRollup,
    RollupState,
    SalesRollup,
    UnlinkedReturnLine,
)
from awda.analytics.rules import (
    Bucket,
    FlagThresholds,
    histogram_percentile,
    rate,
    wilson_lower_bound,
)
from awda.catalog.models import Category, Product, Supplier, Variant
from awda.merchants.models import Merchant
from awda.returns.models import Resolution, ReturnItem, ReturnReason, ReturnStatus

Dimension = Literal["product", "variant", "category", "supplier"]
# A figure kept until the rollups change is dropped after a day anyway (a refresh runs hourly).
CACHE_SECONDS = 24 * 3600

# The supplier scorecard's groups: the default reason codes (returns.services.DEFAULT_REASONS)
# and their sub-reasons, so a merchant's item recorded under either counts.
SUPPLIER_FAULTS: dict[str, frozenset[str]] = {
    "defective": frozenset({"defective"}),
    "damaged": frozenset({"damaged_in_transit", "damaged"}),
    "not_as_described": frozenset({"not_as_described", "colour_differs", "material_differs"}),
}
NOT_RETURNED = (ReturnStatus.REJECTED, ReturnStatus.CANCELLED, ReturnStatus.EXPIRED)


# -- periods -----------------------------------------------------------------------------------


def period_filter(start: date, end: date) -> Q:
    """Rollup rows covering [start, end] exactly once: month rows for the whole months
    inside, day rows for the days at the edges."""
    if end < start:
        return Q(pk__in=[])
    first_full = start if start.day == 1 else _next_month(start)
    last_full = _next_month(end) - timedelta(days=1)  # the end of end's month
    if last_full != end:
        last_full = end.replace(day=1) - timedelta(days=1)
    if first_full > last_full:
        return Q(grain=Grain.DAY, day__gte=start, day__lte=end)
    return (
        Q(grain=Grain.MONTH, day__gte=first_full, day__lte=last_full)
        | Q(grain=Grain.DAY, day__gte=start, day__lt=first_full)
        | Q(grain=Grain.DAY, day__gt=last_full, day__lte=end)
    )


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _bounds(merchant: Merchant, start: date, end: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(merchant.timezone)
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def _rows(
    model: type[Any], merchant: Merchant, start: date, end: date, currency: str | None
) -> Any:
    return model.objects.filter(
        period_filter(start, end), merchant=merchant, currency=currency or merchant.currency
    )


# -- sales per product ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductTotal:
    """Sold and returned over a period, per product as categorised and supplied then."""

    product_id: int
    category_id: int
    supplier_id: int
    sold_units: int
    returned_units: int
    sold_minor: int
    returned_minor: int


def product_totals(
    *, merchant: Merchant, start: date, end: date, currency: str | None = None
) -> list[ProductTotal]:
    """One read of ``ProductSalesRollup`` that the store's summary, the rates by product, category
    and supplier, the flags and the scorecards can all be worked out from: a page showing
    several of them passes it to each (``totals=``) instead of each reading the rollup."""
    return [
        ProductTotal(*row)
        for row in _rows(ProductSalesRollup, merchant, start, end, currency)
        .values_list("product_id", "category_id", "supplier_id")
        .annotate(
            Sum("sold_units"), Sum("returned_units"), Sum("sold_minor"), Sum("returned_minor")
        )
        .order_by()
    ]


def _totals(
    totals: Sequence[ProductTotal] | None,
    merchant: Merchant,
    start: date,
    end: date,
    currency: str | None,
) -> Sequence[ProductTotal]:
    if totals is not None:
        return totals
    return product_totals(merchant=merchant, start=start, end=end, currency=currency)


# -- return rates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateRow:
    """Returned ÷ sold over the same period, by units and by value."""

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


def return_rates(
    *,
    merchant: Merchant,
    start: date,
    end: date,
    by: Dimension = "product",
    currency: str | None = None,
    order_by: Literal["returned_units", "unit_rate", "sold_units", "returned_minor"] = (
        "returned_units"
    ),
    limit: int | None = None,
    totals: Sequence[ProductTotal] | None = None,
) -> list[RateRow]:
    """Return rate per product, variant, category or supplier, highest first (all but the
    variants from ``product_totals``)."""
    rows: list[tuple[int, int, int, int, int]]
    if by == "variant":
        rows = list(
            _rows(SalesRollup, merchant, start, end, currency)
            .values_list("variant_id")
            .annotate(
                Sum("sold_units"), Sum("returned_units"), Sum("sold_minor"), Sum("returned_minor")
            )
            .order_by()
        )
    else:
        sums: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for t in _totals(totals, merchant, start, end, currency):
            acc = sums[getattr(t, f"{by}_id")]
            acc[0] += t.sold_units
            acc[1] += t.returned_units
            acc[2] += t.sold_minor
            acc[3] += t.returned_minor
        rows = [(key, *acc) for key, acc in sums.items()]  # type: ignore[misc]

    def sort_key(r: tuple[int, int, int, int, int]) -> tuple[float, int]:
        value: dict[str, float] = {
            "returned_units": r[2],
            "sold_units": r[1],
            "returned_minor": r[4],
            "unit_rate": rate(r[2], r[1]) or 0.0,
        }
        return (-value[order_by], r[0])

    rows.sort(key=sort_key)
    if limit is not None:
        rows = rows[:limit]
    labels = _labels(by, merchant, [r[0] for r in rows])
    return [
        RateRow(
            key=key,
            code=labels.get(key, ("", "", ""))[0],
            label=labels.get(key, ("", "", ""))[1],
            label_ar=labels.get(key, ("", "", ""))[2],
            sold_units=sold,
            returned_units=returned,
            sold_minor=sold_minor,
            returned_minor=returned_minor,
            unit_rate=rate(returned, sold),
            value_rate=rate(returned_minor, sold_minor),
        )
        for key, sold, returned, sold_minor, returned_minor in rows
    ]


def _labels(
    by: Dimension, merchant: Merchant, ids: Iterable[int]
) -> dict[int, tuple[str, str, str]]:
    wanted = [i for i in ids if i]
    if by == "product":
        return {
            p["id"]: (p["external_id"], p["title_en"], p["title_ar"])
            for p in Product.objects.filter(merchant=merchant, pk__in=wanted).values(
                "id", "external_id", "title_en", "title_ar"
            )
        }
    if by == "variant":
        return {
            v["id"]: (v["sku"], v["product__title_en"], v["product__title_ar"])
            for v in Variant.objects.filter(merchant=merchant, pk__in=wanted).values(
                "id", "sku", "product__title_en", "product__title_ar"
            )
        }
    if by == "category":
        return {
            c["id"]: (c["code"], c["name_en"], c["name_ar"])
            for c in Category.objects.filter(merchant=merchant, pk__in=wanted).values(
                "id", "code", "name_en", "name_ar"
            )
        }
    return {
        s["id"]: (s["code"], s["name"], s["name"])
        for s in Supplier.objects.filter(merchant=merchant, pk__in=wanted).values(
            "id", "code", "name"
        )
    }


@dataclass(frozen=True)
class ReturnSummary:
    currency: str
    sold_units: int
    returned_units: int
    sold_minor: int
    returned_minor: int
    unit_rate: float | None
    value_rate: float | None


def return_summary(
    *,
    merchant: Merchant,
    start: date,
    end: date,
    currency: str | None = None,
    totals: Sequence[ProductTotal] | None = None,
) -> ReturnSummary:
    """The whole store's return rate by units and by value."""
    rows = _totals(totals, merchant, start, end, currency)
    sold, returned = sum(t.sold_units for t in rows), sum(t.returned_units for t in rows)
    sold_minor = sum(t.sold_minor for t in rows)
    returned_minor = sum(t.returned_minor for t in rows)
    return ReturnSummary(
        currency=currency or merchant.currency,
        sold_units=sold,
        returned_units=returned,
        sold_minor=sold_minor,
        returned_minor=returned_minor,
        unit_rate=rate(returned, sold),
        value_rate=rate(returned_minor, sold_minor),
    )


@dataclass(frozen=True)
class CustomerShare:
    """Of the customers (with the store's customer id) who bought in the period, how many
    returned something in it. Guests (no id) are left out: nothing ties their orders."""

    buying: int
    returning: int
    share: float | None


def cached_customers_who_return(*, merchant: Merchant, start: date, end: date) -> CustomerShare:
    """``customers_who_return``, kept until the rollups are next rebuilt: the figure can't
    change before then, and it is the dearest on the overview (a scan of the period's
    customer days, ~0.2 s over a year of the 10M-line benchmark)."""
    stamp = (
        RollupState.objects.filter(merchant=merchant).values_list("refreshed_at", flat=True).first()
    )
    if stamp is None:
        return customers_who_return(merchant=merchant, start=start, end=end)
    key = f"awda:analytics:customers:{merchant.pk}:{start}:{end}:{stamp.timestamp()}"
    found = cache.get(key)
    if isinstance(found, CustomerShare):
        return found
    share = customers_who_return(merchant=merchant, start=start, end=end)
    cache.set(key, share, timeout=CACHE_SECONDS)
    return share


def customers_who_return(*, merchant: Merchant, start: date, end: date) -> CustomerShare:
    """Read from ``CustomerDay``: each customer is counted at one row of the period (see the
    model), so this is a filtered count of the period's rows, not a ``DISTINCT``."""
    first_buy = Q(bought=1) & (Q(prev_bought__isnull=True) | Q(prev_bought__lt=start))
    first_both = Q(both_since__gte=start) & (Q(prev_both__isnull=True) | Q(prev_both__lt=start))
    query = (
        CustomerDay.objects.filter(merchant=merchant, day__gte=start, day__lte=end)
        .values("merchant")
        .annotate(buying=Count("id", filter=first_buy), returning=Count("id", filter=first_both))
        .values_list("buying", "returning")
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Never a prepared statement's generic plan: with the period's dates unknown,
            # PostgreSQL reads a year of rows through the index (4 s) instead of scanning.
            cursor.cursor.execute(sql, params, prepare=False)
        else:
            cursor.execute(sql, params)
        row = cursor.fetchone()
    buying, returning = (int(row[0]), int(row[1])) if row else (0, 0)
    return CustomerShare(buying=buying, returning=returning, share=rate(returning, buying))


# -- reasons -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReasonShare:
    code: str
    label_en: str
    label_ar: str
    items: int
    units: int
    value_minor: int
    share: float | None  # of the returned units in the period (and filter)


def reason_shares(
    *,
    merchant: Merchant,
    start: date,
    end: date,
    product_id: int | None = None,
    category_id: int | None = None,
    supplier_id: int | None = None,
    currency: str | None = None,
) -> list[ReasonShare]:
    """Why things came back: each reason's share of the returned units, largest first."""
    rows = _rows(ReasonRollup, merchant, start, end, currency)
    for name, value in (
        ("product_id", product_id),
        ("category_id", category_id),
        ("supplier_id", supplier_id),
    ):
        if value is not None:
            rows = rows.filter(**{name: value})
    totals = list(
        rows.values("reason_code")
        .annotate(items=Sum("items"), units=Sum("units"), value_minor=Sum("value_minor"))
        .order_by()
    )
    all_units = sum(t["units"] for t in totals)
    labels = _reason_labels(merchant)
    totals.sort(key=lambda t: (-t["units"], t["reason_code"]))
    return [
        ReasonShare(
            code=t["reason_code"],
            label_en=labels.get(t["reason_code"], (t["reason_code"], ""))[0],
            label_ar=labels.get(t["reason_code"], ("", t["reason_code"]))[1],
            items=t["items"],
            units=t["units"],
            value_minor=t["value_minor"],
            share=rate(t["units"], all_units),
        )
        for t in totals
    ]


def _reason_labels(merchant: Merchant) -> dict[str, tuple[str, str]]:
    return {
        r["code"]: (r["label_en"], r["label_ar"])
        for r in ReturnReason.objects.filter(merchant=merchant).values(
            "code", "label_en", "label_ar"
        )
    }


@dataclass(frozen=True)
class ReasonTrendPoint:
    bucket: date  # the week's Monday, or the month's first day
    reason_code: str
    units: int


def reason_trend(
    *,
    merchant: Merchant,
    start: date,
    end: date,
    product_id: int | None = None,
    currency: str | None = None,
) -> tuple[Literal["week", "month"], list[ReasonTrendPoint]]:
    """Returned units per reason per week (periods up to 26 weeks) or per month (longer:
    read from the month rows, whole months only at the edges' days)."""
    weekly = (end - start).days < 26 * 7
    rows = ReasonRollup.objects.filter(merchant=merchant, currency=currency or merchant.currency)
    if weekly:
        rows = rows.filter(grain=Grain.DAY, day__gte=start, day__lte=end)
    else:
        rows = rows.filter(period_filter(start, end))
    if product_id is not None:
        rows = rows.filter(product_id=product_id)
    buckets: dict[tuple[date, str], int] = defaultdict(int)
    for row in rows.values("day", "reason_code").annotate(units=Sum("units")).order_by():
        day: date = row["day"]
        bucket = day - timedelta(days=day.weekday()) if weekly else day.replace(day=1)
        buckets[(bucket, row["reason_code"])] += row["units"]
    points = [ReasonTrendPoint(b, code, units) for (b, code), units in buckets.items()]
    points.sort(key=lambda p: (p.bucket, p.reason_code))
    return ("week" if weekly else "month"), points


@dataclass(frozen=True)
class ReturnedItemRow:
    """One returned item for the drill-down list (a page and a CSV export)."""

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


def returned_items(
    *,
    merchant: Merchant,
    start: date,
    end: date,
    reason_code: str | None = None,
    product_id: int | None = None,
    limit: int = 100,
) -> list[ReturnedItemRow]:
    """The items behind a figure (a reason, a product, or both), newest first."""
    lo, hi = _bounds(merchant, start, end)
    items = ReturnItem.objects.filter(
        merchant=merchant,
        return_request__merchant=merchant,
        return_request__requested_at__gte=lo,
        return_request__requested_at__lt=hi,
    ).exclude(return_request__status__in=NOT_RETURNED)
    unlinked = UnlinkedReturnLine.objects.filter(
        merchant=merchant, returned_at__gte=lo, returned_at__lt=hi
    ).select_related("product")
    if reason_code is not None:
        items = items.filter(Q(reason_code=reason_code) | Q(sub_reason_code=reason_code))
        unlinked = unlinked.filter(reason_code=reason_code)
    if product_id is not None:
        items = items.filter(order_line__product_id=product_id)
        unlinked = unlinked.filter(product_id=product_id)
    # The newest ids first, on a narrow query: PostgreSQL walks the returns' (merchant,
    # requested_at) index backwards and stops at ``limit`` matches instead of sorting every
    # item of the period with its return and line; then only those rows are loaded.
    order = ("-return_request__requested_at", "-pk")
    newest = list(items.order_by(*order).values_list("pk", flat=True)[:limit])
    rows = [
        ReturnedItemRow(
            number=i.return_request.number,
            requested_at=i.return_request.requested_at,
            sku=i.order_line.sku,
            title=i.order_line.title_en,
            quantity=i.quantity,
            reason_code=i.reason_code,
            sub_reason_code=i.sub_reason_code,
            comment=i.comment,
            resolution=i.resolution,
            status=i.return_request.status,
        )
        for i in ReturnItem.objects.filter(pk__in=newest)
        .select_related("return_request", "order_line")
        .order_by(*order)
    ] + [
        ReturnedItemRow(
            number=u.document,
            requested_at=u.returned_at,
            sku=u.sku,
            title=u.product.title_en if u.product else "",
            quantity=u.quantity,
            reason_code=u.reason_code,
            sub_reason_code="",
            comment="",
            resolution=Resolution.REFUND,
            status=ReturnStatus.COMPLETED,
        )
        for u in unlinked.order_by("-returned_at", "-pk")[:limit]
    ]
    rows.sort(key=lambda r: r.requested_at, reverse=True)
    return rows[:limit]


# -- money -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolutionRow:
    resolution: str
    items: int
    units: int
    value_minor: int  # the returned goods' value
    refund_minor: int  # what the quotes promised (after fees)
    share: float | None  # of the returned value


@dataclass(frozen=True)
class ResolutionMix:
    currency: str
    rows: Sequence[ResolutionRow]
    revenue_kept: float | None  # (exchange + store credit value) ÷ all returned value


def resolution_mix(
    *, merchant: Merchant, start: date, end: date, currency: str | None = None
) -> ResolutionMix:
    """How returns were resolved, and the share of returned value the store kept."""
    totals = list(
        _rows(ResolutionRollup, merchant, start, end, currency)
        .values("resolution")
        .annotate(
            items=Sum("items"),
            units=Sum("units"),
            value_minor=Sum("value_minor"),
            refund_minor=Sum("refund_minor"),
        )
        .order_by("resolution")
    )
    value = sum(t["value_minor"] for t in totals)
    kept = sum(
        t["value_minor"]
        for t in totals
        if t["resolution"] in (Resolution.EXCHANGE, Resolution.STORE_CREDIT)
    )
    return ResolutionMix(
        currency=currency or merchant.currency,
        rows=[
            ResolutionRow(
                resolution=t["resolution"],
                items=t["items"],
                units=t["units"],
                value_minor=t["value_minor"],
                refund_minor=t["refund_minor"],
                share=rate(t["value_minor"], value),
            )
            for t in totals
        ],
        revenue_kept=rate(kept, value),
    )


@dataclass(frozen=True)
class ReturnCosts:
    """The quotes' store-credit bonus (what the store gave beyond the goods' value) and the
    fees it charged (restocking, return shipping), in minor units."""

    currency: str
    returns: int
    bonus_minor: int
    restocking_fee_minor: int
    shipping_fee_minor: int

    @property
    def fees_minor(self) -> int:
        return self.restocking_fee_minor + self.shipping_fee_minor


def return_costs(
    *, merchant: Merchant, start: date, end: date, currency: str | None = None
) -> ReturnCosts:
    """Bonus cost and fees collected over the returns requested in the period."""
    t = _rows(ReturnRollup, merchant, start, end, currency).aggregate(
        returns=Sum("returns"),
        bonus=Sum("bonus_minor"),
        restocking=Sum("restocking_fee_minor"),
        shipping=Sum("shipping_fee_minor"),
    )
    return ReturnCosts(
        currency=currency or merchant.currency,
        returns=t["returns"] or 0,
        bonus_minor=t["bonus"] or 0,
        restocking_fee_minor=t["restocking"] or 0,
        shipping_fee_minor=t["shipping"] or 0,
    )


# -- durations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DurationRow:
    method: str  # the return's method ("" in transit times)
    carrier: str  # "" for returns without a parcel
    count: int
    p50_hours: float | None
    p90_hours: float | None


def refund_times(*, merchant: Merchant, start: date, end: date) -> list[DurationRow]:
    """Hours from the request to the money reaching the shopper (first confirmed refund,
    paid transfer or store-credit grant), p50 and p90, by return method and carrier."""
    return _durations(merchant, start, end, DurationKind.REFUND)


def transit_times(*, merchant: Merchant, start: date, end: date) -> list[DurationRow]:
    """Hours from the carrier's first scan to delivery at the warehouse, by carrier."""
    return _durations(merchant, start, end, DurationKind.TRANSIT)


def _durations(merchant: Merchant, start: date, end: date, kind: DurationKind) -> list[DurationRow]:
    # Read from the duration histograms: p50/p90 to within a bucket's width (rules).
    histograms: dict[tuple[str, str], list[tuple[int, Bucket]]] = defaultdict(list)
    for r in (
        DurationRollup.objects.filter(period_filter(start, end), merchant=merchant, kind=kind)
        .values("method", "carrier", "bucket")
        .annotate(count=Sum("count"), low=Min("min_hours"), high=Max("max_hours"))
        .order_by()
    ):
        histograms[(r["method"], r["carrier"])].append(
            (r["bucket"], Bucket(int(r["count"]), float(r["low"]), float(r["high"])))
        )
    rows = []
    for (method, carrier), found in sorted(histograms.items()):
        buckets = [b for _bucket, b in sorted(found, key=lambda f: f[0])]
        p50 = histogram_percentile(buckets, 0.5)
        p90 = histogram_percentile(buckets, 0.9)
        rows.append(
            DurationRow(
                method=method,
                carrier=carrier,
                count=sum(b.count for b in buckets),
                p50_hours=None if p50 is None else round(p50, 3),
                p90_hours=None if p90 is None else round(p90, 3),
            )
        )
    return rows


# -- flags and suppliers -----------------------------------------------------------------------


@dataclass(frozen=True)
class FlaggedProduct:
    product_id: int
    external_id: str
    title: str
    category_id: int
    sold_units: int
    returned_units: int
    return_rate: float
    lower_bound: float  # Wilson, at the thresholds' z
    category_rate: float  # the category's (the store's, without a category)


def flagged_products(
    *,
    merchant: Merchant,
    start: date,
    end: date,
    thresholds: FlagThresholds | None = None,
    currency: str | None = None,
    totals: Sequence[ProductTotal] | None = None,
) -> list[FlaggedProduct]:
    """Products returned significantly more often than their category (``rules.is_flagged``),
    the most certain first."""
    thresholds = thresholds or FlagThresholds()
    sums: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for t in _totals(totals, merchant, start, end, currency):
        acc = sums[(t.product_id, t.category_id)]
        acc[0] += t.sold_units
        acc[1] += t.returned_units
    per_product = [
        {"product_id": p, "category_id": c, "sold": sold, "returned": returned}
        for (p, c), (sold, returned) in sums.items()
    ]
    by_category: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    store = [0, 0]
    for row in per_product:
        by_category[row["category_id"]][0] += row["sold"]
        by_category[row["category_id"]][1] += row["returned"]
        store[0] += row["sold"]
        store[1] += row["returned"]
    found: list[tuple[dict[str, Any], float, float]] = []
    for row in per_product:
        if not row["product_id"] or row["sold"] < thresholds.min_units_sold:
            continue
        # A product sold under two categories (recategorised) has one row per category.
        group = by_category[row["category_id"]] if row["category_id"] else store
        category_rate = rate(group[1], group[0])
        if category_rate is None:
            continue
        bound = wilson_lower_bound(row["returned"], row["sold"], thresholds.z)
        if bound > thresholds.factor * category_rate:
            found.append((row, bound, category_rate))
    labels = _labels("product", merchant, [r["product_id"] for r, _b, _c in found])
    found.sort(key=lambda f: (-f[1], f[0]["product_id"]))
    return [
        FlaggedProduct(
            product_id=row["product_id"],
            external_id=labels.get(row["product_id"], ("", "", ""))[0],
            title=labels.get(row["product_id"], ("", "", ""))[1],
            category_id=row["category_id"],
            sold_units=row["sold"],
            returned_units=row["returned"],
            return_rate=row["returned"] / row["sold"],
            lower_bound=bound,
            category_rate=category_rate,
        )
        for row, bound, category_rate in found
    ]


@dataclass(frozen=True)
class SupplierScorecard:
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


def supplier_scorecards(
    *,
    merchant: Merchant,
    start: date,
    end: date,
    currency: str | None = None,
    totals: Sequence[ProductTotal] | None = None,
) -> list[SupplierScorecard]:
    """Per supplier: return rate and the share of returns that were the goods' fault."""
    sales_sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for t in _totals(totals, merchant, start, end, currency):
        sales_sums[t.supplier_id][0] += t.sold_units
        sales_sums[t.supplier_id][1] += t.returned_units
    sales = {key: (sold, returned) for key, (sold, returned) in sales_sums.items()}
    reasons: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in (
        _rows(ReasonRollup, merchant, start, end, currency)
        .values("supplier_id", "reason_code")
        .annotate(units=Sum("units"))
        .order_by()
    ):
        reasons[r["supplier_id"]][r["reason_code"]] += r["units"]
    labels = _labels("supplier", merchant, sales)
    cards = []
    for supplier_id in sorted(sales, key=lambda s: (s == 0, labels.get(s, ("", "", ""))[1], s)):
        sold, returned = sales[supplier_id]
        by_reason = reasons.get(supplier_id, {})
        reason_units = sum(by_reason.values())

        def share(
            group: str, by_reason: dict[str, int] = by_reason, total: int = reason_units
        ) -> float | None:
            return rate(sum(by_reason.get(c, 0) for c in SUPPLIER_FAULTS[group]), total)

        cards.append(
            SupplierScorecard(
                supplier_id=supplier_id,
                code=labels.get(supplier_id, ("", "", ""))[0],
                name=labels.get(supplier_id, ("", "", ""))[1],
                sold_units=sold,
                returned_units=returned,
                return_rate=rate(returned, sold),
                defective_share=share("defective"),
                damaged_share=share("damaged"),
                not_as_described_share=share("not_as_described"),
            )
        )
    return cards
