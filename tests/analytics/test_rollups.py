"""The analytics figures on a small store, every expected value worked out by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from awda.analytics import selectors
from awda.analytics.models import Grain, ProductFlag, SalesRollup
from awda.analytics.rules import FlagThresholds
from awda.analytics.services import refresh_rollups
from awda.core.outbox import Event
from awda.orders.models import Order, OrderLine
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
