"""The analytics figures on a small store, every expected value worked out by hand."""

from __future__ import annotations

import importlib
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.db.models import Count, Max, Min, Sum

from awda.analytics import selectors
from awda.analytics.models import (
    CustomerDay,
    DurationRollup,
    Grain,
    ProductFlag,
    ProductSalesRollup,
    ReturnFact,
    ReturnRollup,
    SalesRollup,
    UnlinkedReturnLine,
)
from awda.analytics.rules import FlagThresholds
from awda.analytics.services import refresh_rollups
from awda.core.outbox import Event
from awda.orders.models import Customer, Order, OrderLine
from awda.payments.models import Refund
from awda.returns.models import Return, ReturnItem
from awda.shipping.models import CarrierAccount, Shipment
from tests import factories

pytestmark = pytest.mark.django_db

RIYADH = ZoneInfo("Asia/Riyadh")
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=RIYADH)


def _order(m, number, lines, placed=T0):
    o = factories.order(m, number=number, lines=lines)
    Order.objects.filter(pk=o.pk).update(placed_at=placed)
    return o


def _return(m, o, items, *, number, status="completed", at=T0, method="label", quote=None):
    ret = Return.objects.create(
        merchant=m,
        number=number,
        order=o,
        customer=o.customer,
        status=status,
        method=method,
        currency=m.currency,
        quote=quote or {},
        policy_version=1,
        requested_at=at,
    )
    for ref, qty, reason, resolution in items:
        li = OrderLine.objects.get(order=o, line_ref=ref)
        ReturnItem.objects.create(
            merchant=m,
            return_request=ret,
            order_line=li,
            quantity=qty,
            reason_code=reason,
            resolution=resolution,
            refund_minor=li.paid_minor * qty // li.quantity,
        )
    return ret


@pytest.fixture
def store():
    m = factories.merchant()
    o1 = _order(
        m,
        "A1",
        [
            factories.line("1", sku="A", quantity=10, price=10000, category="shirts"),
            factories.line("2", sku="B", quantity=4, price=5000, category="shirts"),
        ],
    )
    o2 = _order(m, "A2", [factories.line("1", sku="C", quantity=5, price=20000, category="shoes")])
    _return(
        m,
        o1,
        [("1", 3, "defective", "refund"), ("2", 1, "too_small", "store_credit")],
        number="R1",
        quote={"store_credit_bonus": 500, "shipping_fee": 1500, "items": [{"restocking_fee": 700}]},
    )
    _return(m, o2, [("1", 1, "changed_my_mind", "exchange")], number="R2")
    _return(m, o1, [("1", 2, "defective", "refund")], number="R3", status="cancelled")
    refresh_rollups(merchant=m)
    return m


DAY = T0.date()


def test_return_rate_is_returned_over_sold_units_and_value_per_product(store):
    rows = {r.code: r for r in selectors.return_rates(merchant=store, start=DAY, end=DAY)}
    assert (rows["P-A"].sold_units, rows["P-A"].returned_units) == (10, 3)
    assert (rows["P-A"].sold_minor, rows["P-A"].returned_minor) == (100000, 30000)
    assert rows["P-A"].unit_rate == pytest.approx(0.3)
    assert rows["P-B"].unit_rate == pytest.approx(0.25)
    assert rows["P-C"].value_rate == pytest.approx(0.2)


def test_cancelled_returns_do_not_count_and_categories_sum_their_products(store):
    summary = selectors.return_summary(merchant=store, start=DAY, end=DAY)
    assert (summary.sold_units, summary.returned_units) == (19, 5)
    by_cat = {
        r.code: r for r in selectors.return_rates(merchant=store, start=DAY, end=DAY, by="category")
    }
    assert (by_cat["shirts"].sold_units, by_cat["shirts"].returned_units) == (14, 4)
    assert (by_cat["shoes"].sold_units, by_cat["shoes"].returned_units) == (5, 1)


def test_reason_shares_are_of_returned_units(store):
    shares = {r.code: r for r in selectors.reason_shares(merchant=store, start=DAY, end=DAY)}
    assert shares["defective"].units == 3
    assert shares["defective"].share == pytest.approx(3 / 5)
    assert shares["too_small"].share == pytest.approx(1 / 5)
    assert shares["defective"].label_en == "Defective"


def test_drill_down_lists_the_items_of_a_reason(store):
    rows = selectors.returned_items(merchant=store, start=DAY, end=DAY, reason_code="defective")
    assert [(r.number, r.sku, r.quantity) for r in rows] == [("R1", "A", 3)]


def test_revenue_kept_is_exchange_and_credit_value_over_all_returned_value(store):
    mix = selectors.resolution_mix(merchant=store, start=DAY, end=DAY)
    values = {r.resolution: r.value_minor for r in mix.rows}
    assert values == {"refund": 30000, "store_credit": 5000, "exchange": 20000}
    assert mix.revenue_kept == pytest.approx(25000 / 55000)


def test_bonus_and_fees_come_from_the_stored_quotes(store):
    costs = selectors.return_costs(merchant=store, start=DAY, end=DAY)
    assert (costs.returns, costs.bonus_minor, costs.fees_minor) == (2, 500, 2200)


def test_supplier_scorecard_shares_faults_among_returned_units(store):
    (card,) = selectors.supplier_scorecards(merchant=store, start=DAY, end=DAY)
    assert (card.code, card.sold_units, card.returned_units) == ("acme", 19, 5)
    assert card.defective_share == pytest.approx(3 / 5)
    assert card.not_as_described_share == 0


def test_customer_share_counts_buyers_with_a_return(store):
    share = selectors.customers_who_return(merchant=store, start=DAY, end=DAY)
    # factories' customers have no store id: guests are left out of the share.
    assert share.buying == 0 and share.share is None


def test_a_period_reads_whole_months_from_month_rows_and_edges_from_day_rows():
    m = factories.merchant()
    for number, placed in (
        ("J", datetime(2026, 1, 15, 12, tzinfo=RIYADH)),
        ("F", datetime(2026, 2, 10, 12, tzinfo=RIYADH)),
        ("M", datetime(2026, 3, 3, 12, tzinfo=RIYADH)),
        ("A", datetime(2026, 4, 2, 12, tzinfo=RIYADH)),
    ):
        _order(m, number, [factories.line("1", sku="S", quantity=1)], placed=placed)
    refresh_rollups(merchant=m)
    assert SalesRollup.objects.filter(merchant=m, grain=Grain.MONTH).count() == 4

    def sold(start, end):
        return selectors.return_summary(merchant=m, start=start, end=end).sold_units

    assert sold(date(2026, 1, 20), date(2026, 3, 31)) == 2  # Feb (month row) + Mar (month)
    assert sold(date(2026, 1, 15), date(2026, 4, 1)) == 3  # Jan edge, Feb, Mar
    assert sold(date(2026, 1, 1), date(2026, 4, 30)) == 4
    assert sold(date(2026, 2, 11), date(2026, 3, 2)) == 0


def test_a_refresh_from_a_day_keeps_the_days_before_it():
    m = factories.merchant()
    _order(m, "X1", [factories.line("1", sku="S", quantity=2)], placed=T0)
    _order(m, "X2", [factories.line("1", sku="S", quantity=3)], placed=T0 + timedelta(days=2))
    refresh_rollups(merchant=m)
    refresh_rollups(merchant=m, since=DAY + timedelta(days=1))
    month = date(2026, 3, 1)
    assert selectors.return_summary(merchant=m, start=month, end=date(2026, 3, 31)).sold_units == 5
    assert selectors.return_summary(merchant=m, start=DAY, end=DAY).sold_units == 2


def test_time_to_refund_p50_and_p90_interpolate_like_percentile_cont():
    m = factories.merchant()
    for i, hours in enumerate((10, 30, 50)):
        o = _order(m, f"T{i}", [factories.line("1", sku="S", quantity=1)])
        ret = _return(m, o, [("1", 1, "defective", "refund")], number=f"RT{i}")
        payment = o.payments.get()
        Refund.objects.create(
            merchant=m,
            payment=payment,
            gateway="sandbox",
            amount_minor=100,
            currency=m.currency,
            idempotency_key=f"k{i}",
            request_key=f"k{i}",
            reference=ret.number,
            status="succeeded",
            created_at=T0,
            settled_at=T0 + timedelta(hours=hours),
        )
        if i == 0:
            account = CarrierAccount.objects.create(merchant=m, carrier="sandbox", name="s")
            Shipment.objects.create(
                merchant=m,
                return_request=ret,
                account=account,
                carrier="sandbox",
                method="label",
                tracking_number="T1",
                status="delivered",
                status_at=T0,
                first_scan_at=T0,
                delivered_at=T0 + timedelta(hours=36),
                created_at=T0,
            )
    refresh_rollups(merchant=m)
    rows = selectors.refund_times(merchant=m, start=DAY, end=DAY)
    assert [(r.method, r.carrier, r.count) for r in rows] == [
        ("label", "", 2),
        ("label", "sandbox", 1),
    ]
    no_parcel = rows[0]
    assert no_parcel.p50_hours == pytest.approx(40)  # between 30 and 50
    assert no_parcel.p90_hours == pytest.approx(48)  # 30 + 0.9 × 20
    (transit,) = selectors.transit_times(merchant=m, start=DAY, end=DAY)
    assert (transit.carrier, transit.p50_hours) == ("sandbox", pytest.approx(36))


def test_a_product_returned_far_more_than_its_category_is_flagged_once_with_an_event():
    m = factories.merchant()
    _order(m, "F1", [factories.line("1", sku="X", quantity=40, category="bags")])
    _order(m, "F2", [factories.line("1", sku="Y", quantity=400, category="bags")])
    x, y = Order.objects.get(merchant=m, number="F1"), Order.objects.get(merchant=m, number="F2")
    _return(m, x, [("1", 20, "defective", "refund")], number="RF1")
    _return(m, y, [("1", 20, "too_small", "refund")], number="RF2")
    thresholds = FlagThresholds(min_units_sold=30)
    result = refresh_rollups(merchant=m, thresholds=thresholds)
    (flag,) = ProductFlag.objects.filter(merchant=m)
    assert flag.product.external_id == "P-X"
    assert result.flagged == [flag.product_id]
    # category: 40 returned of 440 sold; X: Wilson lower bound of 20/40.
    assert flag.category_rate == pytest.approx(40 / 440)
    assert flag.lower_bound == pytest.approx(0.35199, abs=1e-4)
    events = Event.objects.filter(name="ProductFlagged", merchant_id=m.pk)
    assert [e.payload["external_id"] for e in events] == ["P-X"]

    again = refresh_rollups(merchant=m, thresholds=thresholds)
    assert again.flagged == [] and Event.objects.filter(name="ProductFlagged").count() == 1


def _refund(m, o, ret, *, hours, key):
    Refund.objects.create(
        merchant=m,
        payment=o.payments.get(),
        gateway="sandbox",
        amount_minor=100,
        currency=m.currency,
        idempotency_key=key,
        request_key=key,
        reference=ret.number,
        status="succeeded",
        created_at=ret.requested_at,
        settled_at=ret.requested_at + timedelta(hours=hours),
    )


@pytest.fixture
def two_months_of_returns():
    """Returns on 8 days over March and April, refunded after 1.5–300 hours, some by
    parcel; quotes with a bonus and fees."""
    m = factories.merchant()
    account = CarrierAccount.objects.create(merchant=m, carrier="smsa", name="s")
    hours = [1.5, 20, 47.9, 48, 51.9, 100, 239.9, 300]
    for i, h in enumerate(hours):
        at = datetime(2026, 3, 25, 10, tzinfo=RIYADH) + timedelta(days=3 * i)
        o = _order(m, f"H{i}", [factories.line("1", sku="S", quantity=2)], placed=at)
        ret = _return(
            m,
            o,
            [("1", 1, "defective", "refund")],
            number=f"RH{i}",
            at=at,
            method="label" if i % 2 else "qr_dropoff",
            quote={"store_credit_bonus": 100 * i, "shipping_fee": 50, "items": [
                {"restocking_fee": 10 * i}]},
        )  # fmt: skip
        _refund(m, o, ret, hours=h, key=f"h{i}")
        if i % 3 == 0:
            Shipment.objects.create(
                merchant=m, return_request=ret, account=account, carrier="smsa",
                method="label", tracking_number=f"TH{i}", status="delivered", status_at=at,
                first_scan_at=at, delivered_at=at + timedelta(hours=10 + 20 * i), created_at=at,
            )  # fmt: skip
    refresh_rollups(merchant=m)
    return m


def test_return_rollup_totals_equal_the_return_facts_in_day_and_in_month_rows(
    two_months_of_returns,
):
    m = two_months_of_returns
    facts = ReturnFact.objects.filter(merchant=m).aggregate(
        n=Count("id"), bonus=Sum("bonus_minor"), restocking=Sum("restocking_fee_minor"),
        shipping=Sum("shipping_fee_minor"),
    )  # fmt: skip
    assert facts == {"n": 8, "bonus": 2800, "restocking": 280, "shipping": 400}
    for grain in (Grain.DAY, Grain.MONTH):
        rows = ReturnRollup.objects.filter(merchant=m, grain=grain).aggregate(
            n=Sum("returns"), bonus=Sum("bonus_minor"), restocking=Sum("restocking_fee_minor"),
            shipping=Sum("shipping_fee_minor"),
        )  # fmt: skip
        assert rows == facts
    april = selectors.return_costs(merchant=m, start=date(2026, 4, 1), end=date(2026, 4, 30))
    # Returns 3–7 are in April (25 March + 3 × i days): bonus 100 × (3+4+5+6+7).
    assert (april.returns, april.bonus_minor, april.fees_minor) == (5, 2500, 250 + 250)


def test_duration_histograms_count_every_fact_once_with_its_smallest_and_largest_hours(
    two_months_of_returns,
):
    m = two_months_of_returns
    for grain in (Grain.DAY, Grain.MONTH):
        refund = DurationRollup.objects.filter(merchant=m, grain=grain, kind="refund")
        assert refund.aggregate(n=Sum("count"))["n"] == 8
        assert refund.aggregate(v=Min("min_hours"))["v"] == pytest.approx(1.5)
        assert refund.aggregate(v=Max("max_hours"))["v"] == pytest.approx(300)
        transit = DurationRollup.objects.filter(merchant=m, grain=grain, kind="transit")
        assert transit.aggregate(n=Sum("count"))["n"] == 3  # returns 0, 3 and 6
    buckets = sorted(
        DurationRollup.objects.filter(merchant=m, grain=Grain.DAY, kind="refund").values_list(
            "bucket", flat=True
        )
    )
    assert buckets == [1, 20, 47, 48, 48, 100, 236, 288]


def test_time_to_refund_over_two_months_reads_the_histograms_exactly_when_buckets_are_small(
    two_months_of_returns,
):
    m = two_months_of_returns
    rows = selectors.refund_times(merchant=m, start=date(2026, 3, 1), end=date(2026, 4, 30))
    by_key = {(r.method, r.carrier): r for r in rows}
    # qr_dropoff without parcel: returns 2 and 4 (47.9 h and 51.9 h: the last 1-hour bucket
    # and the first 4-hour one); with a parcel: returns 0 and 6.
    no_parcel = by_key[("qr_dropoff", "")]
    assert no_parcel.count == 2
    assert no_parcel.p50_hours == pytest.approx((47.9 + 51.9) / 2)
    assert no_parcel.p90_hours == pytest.approx(47.9 + 0.9 * 4)
    # label without parcel: returns 1, 5, 7 (20, 100, 300 h); with: return 3 (48 h).
    label = by_key[("label", "")]
    assert (label.count, label.p50_hours) == (3, pytest.approx(100))
    assert by_key[("label", "smsa")].p50_hours == pytest.approx(48)
    (transit,) = selectors.transit_times(merchant=m, start=date(2026, 3, 1), end=date(2026, 4, 30))
    assert (transit.count, transit.p50_hours) == (3, pytest.approx(70))  # 10, 70, 130 h


def test_a_refresh_from_a_mid_month_day_rebuilds_the_month_histogram_whole(
    two_months_of_returns,
):
    m = two_months_of_returns
    refresh_rollups(merchant=m, since=date(2026, 4, 10))
    april = DurationRollup.objects.filter(
        merchant=m, grain=Grain.MONTH, day=date(2026, 4, 1), kind="refund"
    )
    assert april.aggregate(n=Sum("count"))["n"] == 5
    assert (
        ReturnRollup.objects.filter(merchant=m, grain=Grain.DAY).aggregate(n=Sum("returns"))["n"]
        == 8
    )


def test_customer_share_counts_store_customers_who_bought_and_returned_in_the_period():
    m = factories.merchant()
    buyers = []
    for number, external_id in (("S0", "ext-0"), ("S1", "ext-1"), ("S2", "ext-2"), ("G", None)):
        o = factories.order(m, number=number)
        customer = Customer.objects.create(merchant=m, external_id=external_id)
        Order.objects.filter(pk=o.pk).update(placed_at=T0, customer=customer)
        buyers.append(Order.objects.get(pk=o.pk))
    guest = buyers.pop()
    lines = [OrderLine.objects.filter(order=o).first() for o in (*buyers, guest)]
    _return(m, buyers[0], [(lines[0].line_ref, 1, "defective", "refund")], number="CR0")
    _return(
        m, buyers[1], [(lines[1].line_ref, 1, "defective", "refund")], number="CR1",
        status="cancelled",
    )  # fmt: skip
    _return(m, guest, [(lines[3].line_ref, 1, "defective", "refund")], number="CRG")
    UnlinkedReturnLine.objects.create(
        merchant=m, source_key="k", document="CN1", returned_at=T0, customer=buyers[2].customer,
        sku="X", quantity=1, value_minor=100, currency=m.currency,
    )  # fmt: skip
    refresh_rollups(merchant=m)
    # One row per store customer and day: the guest is left out, the cancelled return too.
    days = CustomerDay.objects.filter(merchant=m).order_by("customer_id")
    assert [(d.bought, d.returned) for d in days] == [(1, 1), (1, 0), (1, 1)]
    share = selectors.customers_who_return(merchant=m, start=DAY, end=DAY)
    # 3 store customers bought; #0 returned, #1's return was cancelled, #2 has a credit note.
    assert (share.buying, share.returning) == (3, 2)
    assert share.share == pytest.approx(2 / 3)


def test_the_drill_down_lists_the_newest_items_first_up_to_the_limit():
    m = factories.merchant()
    o = _order(m, "D1", [factories.line(str(i), sku=f"S{i}", quantity=1) for i in range(1, 5)])
    for i, hours in enumerate((1, 5, 3)):
        _return(
            m, o, [(str(i + 1), 1, "defective", "refund")], number=f"RD{i}",
            at=T0 + timedelta(hours=hours),
        )  # fmt: skip
    _return(m, o, [("4", 1, "too_small", "refund")], number="RD9", at=T0 + timedelta(hours=9))
    rows = selectors.returned_items(
        merchant=m, start=DAY, end=DAY, reason_code="defective", limit=2
    )
    assert [r.number for r in rows] == ["RD1", "RD2"]  # 5 h, then 3 h after T0


def test_the_customer_share_counts_each_customer_once_for_any_period_and_refresh():
    """The share is a filtered count over ``CustomerDay``'s running state: checked against
    the plain distinct count for every period over 12 days, after a full refresh and after
    refreshing only the last days (the kept rows seed the running state)."""
    m = factories.merchant()
    start = T0.date()
    # customer → days bought, days returned (a return needs an order; it points at the first)
    activity = {
        "c0": ([0, 5], [2]),
        "c1": ([1], [1, 9]),
        "c2": ([3, 4, 10], []),
        "c3": ([6], [11]),
        "c4": ([0, 8], [4, 8]),
        "c5": ([], []),
    }
    n = 0
    for ext, (bought, returned) in activity.items():
        customer = Customer.objects.create(merchant=m, external_id=ext)
        orders = []
        for d in bought:
            o = _order(m, f"O{n}", [factories.line("1", sku="S")], T0 + timedelta(days=d))
            Order.objects.filter(pk=o.pk).update(customer=customer)
            orders.append(Order.objects.get(pk=o.pk))
            n += 1
        for d in returned:
            _return(m, orders[0], [("1", 1, "defective", "refund")], number=f"R{n}",
                    at=T0 + timedelta(days=d))  # fmt: skip
            n += 1

    def expected(a, b):
        buyers = {c for c, (bs, _rs) in activity.items() if any(a <= d <= b for d in bs)}
        both = {c for c in buyers if any(a <= d <= b for d in activity[c][1])}
        return len(buyers), len(both)

    def check():
        for a in range(12):
            for b in range(a, 12):
                share = selectors.customers_who_return(
                    merchant=m, start=start + timedelta(days=a), end=start + timedelta(days=b)
                )
                assert (share.buying, share.returning) == expected(a, b), (a, b)

    refresh_rollups(merchant=m)
    check()
    before = {
        (d.customer_id, d.day): (d.prev_bought, d.both_since, d.prev_both)
        for d in CustomerDay.objects.filter(merchant=m)
    }
    refresh_rollups(merchant=m, since=start + timedelta(days=5))
    check()
    after = {
        (d.customer_id, d.day): (d.prev_bought, d.both_since, d.prev_both)
        for d in CustomerDay.objects.filter(merchant=m)
    }
    assert after == before
    # The migration that added the state fills it the same way for rows stored before it.
    CustomerDay.objects.filter(merchant=m).update(prev_bought=None, both_since=None, prev_both=None)
    migration = importlib.import_module("awda.analytics.migrations.0005_customer_day_running_state")
    with connection.cursor() as cursor:  # the migration only executes SQL through it
        migration.fill_running_state(django_apps, SimpleNamespace(execute=cursor.execute))
    filled = {
        (d.customer_id, d.day): (d.prev_bought, d.both_since, d.prev_both)
        for d in CustomerDay.objects.filter(merchant=m)
    }
    assert filled == before


def _product_rows(m) -> dict[tuple, tuple]:
    return {
        (r.grain, r.day, r.currency, r.product_id, r.category_id, r.supplier_id): (
            r.sold_units, r.sold_minor, r.returned_units, r.returned_minor,
        )
        for r in ProductSalesRollup.objects.filter(merchant=m)
    }  # fmt: skip


def _sales_by_product(m) -> dict[tuple, tuple]:
    keys = ("grain", "day", "currency", "product_id", "category_id", "supplier_id")
    sums = ("sold_units", "sold_minor", "returned_units", "returned_minor")
    return {
        tuple(r[k] for k in keys): tuple(r[f"s_{s}"] for s in sums)
        for r in SalesRollup.objects.filter(merchant=m)
        .values(*keys)
        .annotate(**{f"s_{s}": Sum(s) for s in sums})
    }


def test_the_product_rollup_is_the_sales_rollup_without_the_variant(store):
    m = store
    assert _product_rows(m) == _sales_by_product(m) and _product_rows(m)
    refresh_rollups(merchant=m, since=T0.date())  # a partial refresh keeps them equal
    assert _product_rows(m) == _sales_by_product(m)
    # The migration that added the table fills it the same way for an existing install.
    ProductSalesRollup.objects.all().delete()
    migration = importlib.import_module("awda.analytics.migrations.0006_product_sales_rollup")
    with connection.cursor() as cursor:
        migration.fill_from_sales(django_apps, SimpleNamespace(execute=cursor.execute))
    assert _product_rows(m) == _sales_by_product(m)


def test_the_cached_customer_share_is_worked_out_again_after_each_refresh(store, monkeypatch):
    m = store
    calls = []
    real = selectors.customers_who_return

    def counted(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(selectors, "customers_who_return", counted)
    first = selectors.cached_customers_who_return(merchant=m, start=DAY, end=DAY)
    again = selectors.cached_customers_who_return(merchant=m, start=DAY, end=DAY)
    assert (first, len(calls)) == (again, 1)
    refresh_rollups(merchant=m, since=DAY)
    assert selectors.cached_customers_who_return(merchant=m, start=DAY, end=DAY) == first
    assert len(calls) == 2
