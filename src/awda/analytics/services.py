"""Keeping the analytics read models current: rollups, flags and their alert.

``refresh_rollups`` is set-based: per rollup one ``DELETE`` of the affected days (and the
months they fall in) and one ``INSERT … SELECT … GROUP BY`` over the source rows, the same
SQL on SQLite and PostgreSQL (the SELECTs are Django querysets compiled to SQL, so the time
zone arithmetic is each engine's own). It runs in one transaction under a lock on the
merchant's row, so two refreshes of one merchant queue instead of interleaving.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Count,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, TruncDate, TruncMonth

from awda.analytics.models import (
    CustomerDay,
    DurationKind,
    DurationRollup,
    Grain,
    ProductFlag,
    ProductSalesRollup,
    ReasonRollup,
    ResolutionRollup,
    ReturnFact,
    ReturnRollup,
    RollupState,
    SalesRollup,
    UnlinkedReturnLine,
)
from awda.analytics.rules import DURATION_BUCKETS, FlagThresholds
from awda.core import clock, outbox
from awda.merchants.models import Merchant
from awda.orders.models import Order, OrderKind, OrderLine
from awda.returns.models import Return, ReturnItem, ReturnStatus
from awda.shipping.models import Shipment, ShipmentDirection, ShipmentStatus

# Returns that never happened for the analytics: refused, withdrawn or never sent.
NOT_RETURNED = (ReturnStatus.REJECTED, ReturnStatus.CANCELLED, ReturnStatus.EXPIRED)
# How far back the periodic refresh recomputes: late events (a refund confirmed days later,
# a return cancelled) change recent days only.
PERIODIC_DAYS = 3
# The window flags are judged on, ending with the latest day that has sales.
FLAG_WINDOW_DAYS = 90

_BIG = BigIntegerField()


@dataclass(frozen=True)
class RefreshResult:
    since: date
    sales_rows: int
    reason_rows: int
    resolution_rows: int
    facts: int
    flagged: Sequence[int]  # products newly flagged (the alert went out for each)
    cleared: Sequence[int]


def refresh_rollups(
    *, merchant: Merchant, since: date | None = None, thresholds: FlagThresholds | None = None
) -> RefreshResult:
    """Rebuild the rollups from ``since`` (the merchant's calendar day; default: all of
    history) to today, then update the product flags (and alert on new ones)."""
    tz = ZoneInfo(merchant.timezone)
    if since is None:
        since = _first_day(merchant, tz)
    month_start = since.replace(day=1)
    start_dt = datetime.combine(since, time.min, tzinfo=tz)
    with transaction.atomic():
        Merchant.objects.select_for_update().filter(pk=merchant.pk).first()
        # Figures cached from the rollups (selectors.cached) are worked out again.
        RollupState.objects.update_or_create(
            merchant=merchant,
            defaults={"refreshed_at": clock.now(), "generation": uuid.uuid4().hex},
        )
        for model in (
            SalesRollup,
            ProductSalesRollup,
            ReasonRollup,
            ResolutionRollup,
            ReturnRollup,
            DurationRollup,
        ):
            model.objects.filter(merchant=merchant, grain=Grain.DAY, day__gte=since).delete()
            model.objects.filter(
                merchant=merchant, grain=Grain.MONTH, day__gte=month_start
            ).delete()
        ReturnFact.objects.filter(merchant=merchant, day__gte=since).delete()
        CustomerDay.objects.filter(merchant=merchant, day__gte=since).delete()

        items = _return_items(merchant, start_dt, tz)
        unlinked = _unlinked(merchant, start_dt, tz)
        sales_rows = _insert_union(
            SalesRollup,
            merchant,
            keys=["day", "currency", "product_id", "variant_id", "category_id", "supplier_id"],
            sums=["sold_units", "sold_minor", "returned_units", "returned_minor"],
            parts=[
                (_sold(merchant, start_dt, tz), ["sold_units", "sold_minor"]),
                (items, ["returned_units", "returned_minor"]),
                (unlinked, ["returned_units", "returned_minor"]),
            ],
        )
        reason_rows = _insert_union(
            ReasonRollup,
            merchant,
            keys=["day", "currency", "product_id", "category_id", "supplier_id", "reason_code"],
            sums=["items", "units", "value_minor"],
            parts=[
                (items, ["items", "units", "value_minor"]),
                (unlinked, ["items", "units", "value_minor"]),
            ],
        )
        resolution_rows = _insert_union(
            ResolutionRollup,
            merchant,
            keys=["day", "currency", "resolution"],
            sums=["items", "units", "value_minor", "refund_minor"],
            parts=[
                (items, ["items", "units", "value_minor", "refund_minor"]),
                (unlinked, ["items", "units", "value_minor", "refund_minor"]),
            ],
        )
        for model, keys, sums in (
            (
                SalesRollup,
                ["currency", "product_id", "variant_id", "category_id", "supplier_id"],
                ["sold_units", "sold_minor", "returned_units", "returned_minor"],
            ),
            (
                ReasonRollup,
                ["currency", "product_id", "category_id", "supplier_id", "reason_code"],
                ["items", "units", "value_minor"],
            ),
            (
                ResolutionRollup,
                ["currency", "resolution"],
                ["items", "units", "value_minor", "refund_minor"],
            ),
        ):
            _insert_months(model, merchant, month_start, keys, sums)
        insert_product_sales(merchant=merchant, since=since)
        facts = _insert_facts(merchant, start_dt, tz)
        insert_return_rollups(merchant=merchant, since=since)
        insert_customer_days(merchant=merchant, since=since)
        flagged, cleared = update_product_flags(merchant=merchant, thresholds=thresholds)
    return RefreshResult(
        since=since,
        sales_rows=sales_rows,
        reason_rows=reason_rows,
        resolution_rows=resolution_rows,
        facts=facts,
        flagged=flagged,
        cleared=cleared,
    )


def refresh_recent_rollups(*, days: int = PERIODIC_DAYS) -> int:
    """The periodic job: every merchant's last ``days`` days; returns merchants refreshed."""
    count = 0
    for merchant in Merchant.objects.order_by("pk"):
        today = clock.now().astimezone(ZoneInfo(merchant.timezone)).date()
        refresh_rollups(merchant=merchant, since=today - timedelta(days=days))
        count += 1
    return count


def update_product_flags(
    *, merchant: Merchant, thresholds: FlagThresholds | None = None, end: date | None = None
) -> tuple[list[int], list[int]]:
    """Open a flag (and send ``ProductFlagged``, once) for each product now returned too
    often, close those no longer so. Judged over ``FLAG_WINDOW_DAYS`` ending ``end`` (default:
    the latest day with sales, so a store whose history stopped is judged on its last
    months rather than on an empty window)."""
    from awda.analytics.selectors import flagged_products  # selectors read the rollups

    if end is None:
        latest = SalesRollup.objects.filter(
            merchant=merchant, grain=Grain.DAY, sold_units__gt=0
        ).aggregate(latest=Max("day"))["latest"]
        if latest is None:
            return [], []
        end = latest
    start = end - timedelta(days=FLAG_WINDOW_DAYS - 1)
    now = clock.now()
    with transaction.atomic():
        found = {
            row.product_id: row
            for row in flagged_products(
                merchant=merchant, start=start, end=end, thresholds=thresholds
            )
        }
        open_flags = {
            flag.product_id: flag
            for flag in ProductFlag.objects.select_for_update()
            .filter(merchant=merchant, cleared_at__isnull=True)
            .order_by("pk")
        }
        cleared = sorted(set(open_flags) - set(found))
        if cleared:
            ProductFlag.objects.filter(
                merchant=merchant, cleared_at__isnull=True, product_id__in=cleared
            ).update(cleared_at=now)
        flagged = sorted(set(found) - set(open_flags))
        for product_id in flagged:
            row = found[product_id]
            flag = ProductFlag.objects.create(
                merchant=merchant,
                product_id=product_id,
                flagged_at=now,
                period_start=start,
                period_end=end,
                sold_units=row.sold_units,
                returned_units=row.returned_units,
                return_rate=row.return_rate,
                lower_bound=row.lower_bound,
                category_rate=row.category_rate,
            )
            outbox.record_event(
                "ProductFlagged",
                {
                    "flag_id": flag.pk,
                    "product_id": product_id,
                    "external_id": row.external_id,
                    "title": row.title,
                    "sold_units": row.sold_units,
                    "returned_units": row.returned_units,
                    "return_rate": round(row.return_rate, 4),
                    "lower_bound": round(row.lower_bound, 4),
                    "category_rate": round(row.category_rate, 4),
                    "period_start": start.isoformat(),
                    "period_end": end.isoformat(),
                },
                merchant_id=merchant.pk,
                aggregate_type="product",
                aggregate_id=product_id,
            )
    return flagged, cleared


# -- the source queries (each compiled to SQL, never fetched row by row) -----------------------


def _sold(merchant: Merchant, start: datetime, tz: ZoneInfo) -> QuerySet[Any]:
    # One row per line, not grouped here: ``_insert_union`` groups the union anyway, and a
    # second aggregate over half a million lines was a fifth of the UCI import's refresh.
    return (
        OrderLine.objects.filter(
            merchant=merchant, order__kind=OrderKind.SALE, order__placed_at__gte=start
        )
        .values(
            k_day=TruncDate("order__placed_at", tzinfo=tz),
            k_currency=F("order__currency"),
            k_product_id=Coalesce("product_id", 0, output_field=_BIG),
            k_variant_id=Coalesce("variant_id", 0, output_field=_BIG),
            k_category_id=Coalesce("product__category_id", 0, output_field=_BIG),
            k_supplier_id=Coalesce("product__supplier_id", 0, output_field=_BIG),
            s_sold_units=F("quantity"),
            s_sold_minor=F("paid_minor"),
        )
        .order_by()
    )


def _return_items(merchant: Merchant, start: datetime, tz: ZoneInfo) -> QuerySet[Any]:
    # The goods' value: the returned units' share of what the line paid (rounded down to the
    # minor unit per item; a report figure, not money moved).
    value = ExpressionWrapper(
        F("order_line__paid_minor") * F("quantity") / F("order_line__quantity"),
        output_field=_BIG,
    )
    return (
        ReturnItem.objects.filter(merchant=merchant, return_request__requested_at__gte=start)
        .exclude(return_request__status__in=NOT_RETURNED)
        .values(
            k_day=TruncDate("return_request__requested_at", tzinfo=tz),
            k_currency=F("return_request__currency"),
            k_product_id=Coalesce("order_line__product_id", 0, output_field=_BIG),
            k_variant_id=Coalesce("order_line__variant_id", 0, output_field=_BIG),
            k_category_id=Coalesce("order_line__product__category_id", 0, output_field=_BIG),
            k_supplier_id=Coalesce("order_line__product__supplier_id", 0, output_field=_BIG),
            k_reason_code=F("reason_code"),
            k_resolution=F("resolution"),
        )
        .annotate(
            s_returned_units=Sum("quantity"),
            s_returned_minor=Sum(value),
            s_items=Count("id"),
            s_units=Sum("quantity"),
            s_value_minor=Sum(value),
            s_refund_minor=Sum("refund_minor"),
        )
        .order_by()
    )


def _unlinked(merchant: Merchant, start: datetime, tz: ZoneInfo) -> QuerySet[Any]:
    return (
        UnlinkedReturnLine.objects.filter(merchant=merchant, returned_at__gte=start)
        .values(
            k_day=TruncDate("returned_at", tzinfo=tz),
            k_currency=F("currency"),
            k_product_id=Coalesce("product_id", 0, output_field=_BIG),
            k_variant_id=Coalesce("variant_id", 0, output_field=_BIG),
            k_category_id=Coalesce("product__category_id", 0, output_field=_BIG),
            k_supplier_id=Coalesce("product__supplier_id", 0, output_field=_BIG),
            k_reason_code=F("reason_code"),
            k_resolution=Value("refund"),  # a credit note gives the money back
        )
        .annotate(
            s_returned_units=Sum("quantity"),
            s_returned_minor=Sum("value_minor"),
            s_items=Count("id"),
            s_units=Sum("quantity"),
            s_value_minor=Sum("value_minor"),
            s_refund_minor=Sum("value_minor"),
        )
        .order_by()
    )


def _insert_union(
    model: type[Any],
    merchant: Merchant,
    *,
    keys: list[str],
    sums: list[str],
    parts: list[tuple[QuerySet[Any], list[str]]],
) -> int:
    """``INSERT INTO model SELECT keys, SUM(…) FROM (part UNION ALL part …) GROUP BY keys``;
    each part gives some of the sums (the others are 0). Returns the rows inserted."""
    selects: list[str] = []
    params: list[Any] = []
    for queryset, gives in parts:
        sql, part_params = queryset.query.sql_with_params()
        # Every part names its columns: a compound SELECT takes its names from the first.
        columns = [f"p.k_{key} AS {key}" for key in keys] + [
            f"{'p.s_' + name if name in gives else '0'} AS {name}" for name in sums
        ]
        selects.append(f"SELECT {', '.join(columns)} FROM ({sql}) p")  # noqa: S608 (table and column names only)
        params.extend(part_params)
    table = model._meta.db_table
    key_list = ", ".join(f"u.{k}" for k in keys)
    sql = (
        f"INSERT INTO {table} (merchant_id, grain, {', '.join(keys + sums)}) "  # noqa: S608 (table and column names only)
        f"SELECT %s, %s, {key_list}, {', '.join(f'SUM(u.{s})' for s in sums)} "
        f"FROM ({' UNION ALL '.join(selects)}) u GROUP BY {key_list}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [merchant.pk, Grain.DAY, *params])
        return int(cursor.rowcount)


def _insert_months(
    model: type[Any],
    merchant: Merchant,
    month_start: date,
    keys: list[str],
    sums: list[str],
    aggregates: dict[str, type[Sum] | type[Min] | type[Max]] | None = None,
) -> int:
    """The month rows again from the day rows of the months touched (``sums`` summed, or
    aggregated as ``aggregates`` says: a histogram's smallest and largest values)."""
    aggregates = aggregates or {}
    queryset = (
        model.objects.filter(merchant=merchant, grain=Grain.DAY, day__gte=month_start)
        .values(m_day=TruncMonth("day"), **{f"m_{k}": F(k) for k in keys})
        .annotate(**{f"m_s_{s}": aggregates.get(s, Sum)(s) for s in sums})
        .order_by()
    )
    sql, params = queryset.query.sql_with_params()
    columns = ["p.m_day", *(f"p.m_{k}" for k in keys), *(f"p.m_s_{s}" for s in sums)]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (merchant_id, grain, day, {', '.join(keys + sums)}) "  # noqa: S608 (table and column names only)
            f"SELECT %s, %s, {', '.join(columns)} FROM ({sql}) p",
            [merchant.pk, Grain.MONTH, *params],
        )
        return int(cursor.rowcount)


PRODUCT_SALES_KEYS = ("grain", "day", "currency", "product_id", "category_id", "supplier_id")
PRODUCT_SALES_SUMS = ("sold_units", "sold_minor", "returned_units", "returned_minor")


def insert_product_sales(*, merchant: Merchant, since: date) -> int:
    """``ProductSalesRollup`` rows (days from ``since``, months from its month) from the
    sales rollup's rows just rebuilt: the same sums without the variant."""
    month_start = since.replace(day=1)
    queryset = (
        SalesRollup.objects.filter(
            Q(grain=Grain.DAY, day__gte=since) | Q(grain=Grain.MONTH, day__gte=month_start),
            merchant=merchant,
        )
        .values(*PRODUCT_SALES_KEYS)
        .annotate(**{f"s_{s}": Sum(s) for s in PRODUCT_SALES_SUMS})
        .order_by()
    )
    sql, params = queryset.query.sql_with_params()
    columns = [*(f"p.{k}" for k in PRODUCT_SALES_KEYS), *(f"p.s_{s}" for s in PRODUCT_SALES_SUMS)]
    names = ", ".join([*PRODUCT_SALES_KEYS, *PRODUCT_SALES_SUMS])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ProductSalesRollup._meta.db_table} (merchant_id, {names}) "  # noqa: S608 (table and column names only)
            f"SELECT %s, {', '.join(columns)} FROM ({sql}) p",
            [merchant.pk, *params],
        )
        return int(cursor.rowcount)


def _insert_facts(merchant: Merchant, start: datetime, tz: ZoneInfo) -> int:
    # The first moment money reached the shopper: a confirmed card refund, a paid transfer or
    # a store-credit grant under the return's number. Grouped once and hash-joined (the
    # money tables have no index on the reference, and need none for this).
    money = (
        "SELECT reference, MIN(t) AS t FROM ("
        " SELECT reference, settled_at AS t FROM payments_refund"
        " WHERE merchant_id = %s AND status = 'succeeded' AND settled_at >= %s"
        " UNION ALL SELECT reference, paid_at FROM payments_bankpayout"
        " WHERE merchant_id = %s AND paid_at >= %s"
        " UNION ALL SELECT reference, created_at FROM wallet_ledgertransaction"
        " WHERE merchant_id = %s AND kind = 'grant' AND created_at >= %s"
        ") x GROUP BY reference"
    )
    parcels = Shipment.objects.filter(
        return_request=OuterRef("pk"), direction=ShipmentDirection.INBOUND
    ).exclude(status=ShipmentStatus.CANCELLED)
    quote_int = {
        key: Coalesce(Cast(F(f"quote__{key}"), _BIG), 0, output_field=_BIG)
        for key in ("store_credit_bonus", "shipping_fee")
    }
    queryset = (
        Return.objects.filter(merchant=merchant, requested_at__gte=start)
        .exclude(status__in=NOT_RETURNED)
        .values(
            f_return_id=F("id"),
            f_day=TruncDate("requested_at", tzinfo=tz),
            f_currency=F("currency"),
            f_customer_id=F("customer_id"),
            f_method=F("method"),
            f_carrier=Coalesce(Subquery(parcels.values("carrier")[:1]), Value("")),
            f_requested_at=F("requested_at"),
            f_number=F("number"),
            f_first_scan_at=Subquery(parcels.values("first_scan_at")[:1]),
            f_delivered_at=Subquery(parcels.values("delivered_at")[:1]),
            f_bonus_minor=quote_int["store_credit_bonus"],
            f_shipping_fee_minor=quote_int["shipping_fee"],
        )
        .order_by()
    )
    sql, params = queryset.query.sql_with_params()
    columns = [
        "return_id",
        "day",
        "currency",
        "customer_id",
        "method",
        "carrier",
        "requested_at",
        "first_scan_at",
        "delivered_at",
        "bonus_minor",
        "shipping_fee_minor",
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ReturnFact._meta.db_table} (merchant_id, {', '.join(columns)}, "  # noqa: S608 (table and column names only)
            f"refunded_at, restocking_fee_minor) "
            f"SELECT %s, {', '.join('p.f_' + c for c in columns)}, m.t, 0 "
            f"FROM ({sql}) p LEFT JOIN ({money}) m ON m.reference = p.f_number",
            [merchant.pk, *params, merchant.pk, start, merchant.pk, start, merchant.pk, start],
        )
        inserted = int(cursor.rowcount)
    _fill_restocking_fees(merchant, start)
    return inserted


def insert_return_rollups(*, merchant: Merchant, since: date) -> None:
    """``ReturnRollup`` and ``DurationRollup`` from the return facts of ``since`` on (day
    rows) and of its month on (month rows); the caller has deleted the rows it replaces."""
    month_start = since.replace(day=1)
    facts = ReturnFact._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ReturnRollup._meta.db_table} (merchant_id, grain, day, currency, "  # noqa: S608 (table names only)
            "returns, bonus_minor, restocking_fee_minor, shipping_fee_minor) "
            "SELECT %s, %s, day, currency, COUNT(*), SUM(bonus_minor), "
            f"SUM(restocking_fee_minor), SUM(shipping_fee_minor) FROM {facts} "
            "WHERE merchant_id = %s AND day >= %s GROUP BY day, currency",
            [merchant.pk, Grain.DAY, merchant.pk, since],
        )
        for kind, begin, finish, method in (
            (DurationKind.REFUND, "requested_at", "refunded_at", "method"),
            (DurationKind.TRANSIT, "first_scan_at", "delivered_at", "''"),
        ):
            cursor.execute(
                f"INSERT INTO {DurationRollup._meta.db_table} (merchant_id, grain, day, kind, "  # noqa: S608 (table and column names only)
                "method, carrier, bucket, count, min_hours, max_hours) "
                "SELECT %s, %s, day, %s, method, carrier, bucket, COUNT(*), MIN(h), MAX(h) "
                f"FROM (SELECT day, method, carrier, h, {_bucket_sql('h')} AS bucket FROM ("
                f"SELECT day, {method} AS method, carrier, {_hours_sql(begin, finish)} AS h "
                f"FROM {facts} WHERE merchant_id = %s AND day >= %s AND {begin} IS NOT NULL "
                f"AND {finish} IS NOT NULL AND {finish} >= {begin}) x) y "
                "GROUP BY day, method, carrier, bucket",
                [merchant.pk, Grain.DAY, kind, merchant.pk, since],
            )
    _insert_months(
        ReturnRollup,
        merchant,
        month_start,
        ["currency"],
        ["returns", "bonus_minor", "restocking_fee_minor", "shipping_fee_minor"],
    )
    _insert_months(
        DurationRollup,
        merchant,
        month_start,
        ["kind", "method", "carrier", "bucket"],
        ["count", "min_hours", "max_hours"],
        aggregates={"min_hours": Min, "max_hours": Max},
    )


def insert_customer_days(*, merchant: Merchant, since: date) -> int:
    """``CustomerDay`` rows from ``since`` on (the caller has deleted the rows it replaces)."""
    tz = ZoneInfo(merchant.timezone)
    start = datetime.combine(since, time.min, tzinfo=tz)
    store_customer = {"customer__external_id__isnull": False}

    def active(at: str, bought: int) -> dict[str, Any]:
        return {
            "c_day": TruncDate(at, tzinfo=tz),
            "c_id": F("customer_id"),
            "b": Value(bought),
            "r": Value(1 - bought),
        }

    parts = [
        Order.objects.filter(
            merchant=merchant, kind=OrderKind.SALE, placed_at__gte=start, **store_customer
        ).values(**active("placed_at", 1)),
        Return.objects.filter(merchant=merchant, requested_at__gte=start, **store_customer)
        .exclude(status__in=NOT_RETURNED)
        .values(**active("requested_at", 0)),
        UnlinkedReturnLine.objects.filter(
            merchant=merchant, returned_at__gte=start, **store_customer
        ).values(**active("returned_at", 0)),
    ]
    compiled = [q.order_by().query.sql_with_params() for q in parts]
    union = " UNION ALL ".join(
        f"SELECT p{i}.c_day, p{i}.c_id, p{i}.b, p{i}.r FROM ({sql}) p{i}"  # noqa: S608 (compiled querysets)
        for i, (sql, _params) in enumerate(compiled)
    )
    table = CustomerDay._meta.db_table
    # The new days (one row per customer and day), each customer's last bought and returned
    # days before ``since`` (from the rows kept), then the running state along the new rows.
    earlier = "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
    sql = f"""
        WITH new_days AS (
            SELECT u.c_day AS day, u.c_id AS customer_id, MAX(u.b) AS bought, MAX(u.r) AS returned
            FROM ({union}) u GROUP BY u.c_day, u.c_id
        ), kept AS (
            SELECT k.customer_id,
                   MAX(CASE WHEN k.bought = 1 THEN k.day END) AS last_bought,
                   MAX(CASE WHEN k.returned = 1 THEN k.day END) AS last_returned
            FROM {table} k
            WHERE k.merchant_id = %s AND k.day < %s
              AND k.customer_id IN (SELECT customer_id FROM new_days)
            GROUP BY k.customer_id
        ), running AS (
            SELECT n.day, n.customer_id, n.bought, n.returned,
                   COALESCE(MAX(CASE WHEN n.bought = 1 THEN n.day END)
                            OVER (PARTITION BY n.customer_id ORDER BY n.day {earlier}),
                            k.last_bought) AS pb,
                   COALESCE(MAX(CASE WHEN n.returned = 1 THEN n.day END)
                            OVER (PARTITION BY n.customer_id ORDER BY n.day {earlier}),
                            k.last_returned) AS pr
            FROM new_days n LEFT JOIN kept k ON k.customer_id = n.customer_id
        ), state AS (
            SELECT r.*,
                   CASE WHEN r.bought = 1 THEN r.day ELSE r.pb END AS lb,
                   CASE WHEN r.returned = 1 THEN r.day ELSE r.pr END AS lr
            FROM running r
        )
        INSERT INTO {table}
            (merchant_id, day, customer_id, bought, returned, prev_bought, both_since, prev_both)
        SELECT %s, s.day, s.customer_id, s.bought, s.returned, s.pb,
               {_earliest("s.lb", "s.lr")}, {_earliest("s.pb", "s.pr")}
        FROM state s
    """  # noqa: S608 (table name, compiled querysets)
    params = [p for _sql, ps in compiled for p in ps]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, merchant.pk, since, merchant.pk])
        return int(cursor.rowcount)


def _earliest(a: str, b: str) -> str:
    """The earlier of two dates, NULL if either is (unlike PostgreSQL's LEAST)."""
    return f"CASE WHEN {a} IS NULL OR {b} IS NULL THEN NULL WHEN {a} < {b} THEN {a} ELSE {b} END"


def _hours_sql(begin: str, finish: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({finish} - {begin})) / 3600.0"
    return f"(julianday({finish}) - julianday({begin})) * 24.0"


def _bucket_sql(hours: str) -> str:
    """``rules.duration_bucket`` in SQL (durations are never negative here)."""

    def floor(expr: str) -> str:
        # PostgreSQL's cast to integer rounds, SQLite's truncates: floor for either.
        if connection.vendor == "postgresql":
            return f"CAST(FLOOR({expr}) AS INTEGER)"
        return f"CAST({expr} AS INTEGER)"

    cases = []
    bounds = [start for start, _w in DURATION_BUCKETS[1:]]
    for (_start, width), upper in zip(DURATION_BUCKETS, [*bounds, None], strict=True):
        value = f"{floor(f'{hours} / {width}')} * {width}"
        cases.append(f"WHEN {hours} < {upper} THEN {value}" if upper is not None else value)
    return "CASE " + " ".join(cases[:-1]) + f" ELSE {cases[-1]} END"


def _fill_restocking_fees(merchant: Merchant, start: datetime) -> None:
    # Restocking fees sit per item inside the stored quote (a JSON list): summed in Python,
    # only for the returns that charged one.
    facts = ReturnFact.objects.filter(merchant=merchant, requested_at__gte=start)
    fees: dict[int, int] = {}
    for return_id, quote in (
        Return.objects.filter(pk__in=facts.values("return_id"))
        .values_list("id", "quote")
        .iterator()
    ):
        total = sum(int(item.get("restocking_fee") or 0) for item in (quote or {}).get("items", []))
        if total:
            fees[return_id] = total
    for return_id, total in fees.items():
        facts.filter(return_id=return_id).update(restocking_fee_minor=total)


def _first_day(merchant: Merchant, tz: ZoneInfo) -> date:
    from django.db.models import Min

    from awda.orders.models import Order

    first = [
        Order.objects.filter(merchant=merchant).aggregate(v=Min("placed_at"))["v"],
        Return.objects.filter(merchant=merchant).aggregate(v=Min("requested_at"))["v"],
        UnlinkedReturnLine.objects.filter(merchant=merchant).aggregate(v=Min("returned_at"))["v"],
    ]
    known = [v for v in first if v is not None]
    if not known:
        return clock.now().astimezone(tz).date()
    return min(known).astimezone(tz).date()
