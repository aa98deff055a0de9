"""The analytics pages' figures through the API: the same numbers as the selectors, over the
last 30 days of the store unless a period is asked; the key's store only, with the
`analytics` scope."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from awda.analytics import selectors
from awda.analytics.services import refresh_rollups
from awda.core import clock
from awda.orders.models import OrderLine
from awda.returns.models import Return, ReturnItem
from tests import factories

pytestmark = pytest.mark.django_db


def _return(m, order, items, *, number):
    ret = Return.objects.create(
        merchant=m,
        number=number,
        order=order,
        customer=order.customer,
        status="completed",
        method="label",
        currency=m.currency,
        quote={"store_credit_bonus": 500, "shipping_fee": 1500},
        policy_version=1,
        requested_at=factories.days_ago(2),
    )
    for ref, qty, reason, resolution in items:
        li = OrderLine.objects.get(order=order, line_ref=ref)
        ReturnItem.objects.create(
            merchant=m,
            return_request=ret,
            order_line=li,
            quantity=qty,
            reason_code=reason,
            resolution=resolution,
            refund_minor=li.paid_minor * qty // li.quantity,
        )


@pytest.fixture
def store():
    m = factories.merchant()
    o1 = factories.order(
        m,
        number="A1",
        lines=[
            factories.line("1", sku="A", quantity=10, price=10000, category="shirts"),
            factories.line("2", sku="B", quantity=4, price=5000, category="shirts"),
        ],
    )
    o2 = factories.order(
        m,
        number="A2",
        email="other@example.com",
        lines=[factories.line("1", sku="C", quantity=5, price=20000, category="shoes")],
    )
    _return(
        m, o1, [("1", 3, "defective", "refund"), ("2", 1, "too_small", "store_credit")], number="R1"
    )
    _return(m, o2, [("1", 1, "changed_my_mind", "exchange")], number="R2")
    refresh_rollups(merchant=m)
    return m


@pytest.fixture
def api(store):
    return factories.ApiClient(factories.api_key(store, scopes=["analytics:read"]))


def _span(m):
    today = clock.now().astimezone(ZoneInfo(m.timezone)).date()
    return {"merchant": m, "start": today - timedelta(days=29), "end": today}


def test_the_summary_is_the_selectors_over_the_last_30_days(store, api):
    body = api.get("/analytics/summary").json()
    expected = selectors.return_summary(**_span(store))

    assert body["start"] == _span(store)["start"].isoformat()
    assert body["end"] == _span(store)["end"].isoformat()
    assert body["currency"] == "SAR"
    assert body["sold_units"] == expected.sold_units == 19
    assert body["returned_units"] == expected.returned_units == 5
    assert body["sold_minor"] == expected.sold_minor
    assert body["returned_minor"] == expected.returned_minor
    assert body["unit_rate"] == pytest.approx(expected.unit_rate)


@pytest.mark.parametrize("by", ["product", "variant", "category", "supplier"])
def test_rates_by_each_dimension_equal_the_selectors(store, api, by):
    body = api.get(f"/analytics/rates?by={by}&limit=10").json()
    expected = selectors.return_rates(**_span(store), by=by, limit=10)

    assert body["by"] == by
    assert [(r["key"], r["sold_units"], r["returned_units"]) for r in body["rows"]] == [
        (r.key, r.sold_units, r.returned_units) for r in expected
    ]
    assert body["rows"]


def test_reasons_resolutions_costs_and_suppliers_equal_the_selectors(store, api):
    span = _span(store)
    reasons = api.get("/analytics/reasons").json()["rows"]
    mix = api.get("/analytics/resolutions").json()
    costs = api.get("/analytics/costs").json()
    suppliers = api.get("/analytics/suppliers").json()["rows"]

    assert [(r["code"], r["units"]) for r in reasons] == [
        (r.code, r.units) for r in selectors.reason_shares(**span)
    ]
    assert reasons[0]["code"] == "defective"
    expected_mix = selectors.resolution_mix(**span)
    assert [(r["resolution"], r["value_minor"]) for r in mix["rows"]] == [
        (r.resolution, r.value_minor) for r in expected_mix.rows
    ]
    assert mix["revenue_kept"] == pytest.approx(expected_mix.revenue_kept)
    expected_costs = selectors.return_costs(**span)
    assert costs["returns"] == expected_costs.returns == 2
    assert costs["bonus_minor"] == expected_costs.bonus_minor
    assert costs["fees_minor"] == expected_costs.fees_minor
    assert [(s["supplier_id"], s["returned_units"]) for s in suppliers] == [
        (s.supplier_id, s.returned_units) for s in selectors.supplier_scorecards(**span)
    ]


def test_trend_items_durations_flags_and_customers_answer_from_the_selectors(store, api):
    span = _span(store)
    trend = api.get("/analytics/reason-trend").json()
    items = api.get("/analytics/items?reason=defective").json()["rows"]
    customers = api.get("/analytics/customers").json()

    grain, points = selectors.reason_trend(**span)
    assert trend["grain"] == grain == "week"
    assert [(p["reason_code"], p["units"]) for p in trend["points"]] == [
        (p.reason_code, p.units) for p in points
    ]
    assert [(i["number"], i["sku"], i["quantity"]) for i in items] == [("R1", "A", 3)]
    share = selectors.customers_who_return(**span)
    assert (customers["buying"], customers["returning"]) == (share.buying, share.returning)
    for path in ("refund-times", "transit-times", "flagged-products"):
        response = api.get(f"/analytics/{path}")
        assert response.status_code == 200, path
        assert isinstance(response.json()["rows"], list)


def test_a_period_is_asked_with_from_and_to(store, api):
    today = _span(store)["end"]
    long_ago = (today - timedelta(days=400)).isoformat()
    old = api.get(f"/analytics/summary?from={long_ago}&to={long_ago}").json()

    assert old["sold_units"] == 0 and old["unit_rate"] is None
    assert old["start"] == old["end"] == long_ago


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-02-01&to=2026-01-01", "to"),
        ("from=2020-01-01&to=2026-01-01", "from"),
        ("from=31-01-2026", "from"),
        ("by=colour", "by"),
    ],
)
def test_a_bad_period_or_dimension_is_a_422_naming_the_field(api, query, field):
    response = api.get(f"/analytics/rates?{query}")

    assert response.status_code == 422
    body = response.json()
    fields = [body.get("field")] + [e["field"] for e in body.get("errors") or []]
    assert field in fields


def test_another_store_sees_only_its_own_figures(store):
    other = factories.merchant()
    api = factories.ApiClient(factories.api_key(other, scopes=["analytics:read"]))

    body = api.get("/analytics/summary").json()

    assert body["sold_units"] == 0 and body["returned_units"] == 0
    assert api.get("/analytics/rates").json()["rows"] == []


def test_a_key_without_the_analytics_scope_is_refused(store):
    api = factories.ApiClient(factories.api_key(store, scopes=["support:write", "returns:write"]))

    response = api.get("/analytics/summary")

    assert response.status_code == 403
    assert response.json()["needed"] == "analytics:read"
