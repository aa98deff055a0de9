"""The money report adds up what went back per day from the ledgers that moved it, and
names any return whose money differs from what it promised, to the minor unit."""

from __future__ import annotations

import pytest

from awda.core import clock
from awda.payments.gateways import sandbox as sandbox_gateway
from awda.payments.models import Refund
from awda.returns.reports import money_report
from awda.shipping import services as shipping
from tests import factories
from tests.services.test_money_flow import _return

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox_gateway.reset_sandbox()
    yield
    sandbox_gateway.reset_sandbox()


def _deliver(ret) -> None:
    shipping.advance_sandbox_parcel(
        tracking_number=ret.shipments.get().tracking_number, to="delivered"
    )
    factories.run_jobs()
    factories.run_jobs()


def test_a_days_refunds_and_credit_add_up_and_match_their_returns(merchant, api):
    _order, refunded = _return(merchant, "refund")
    _deliver(refunded)
    _order2, credited = _return(merchant, "store_credit")
    _deliver(credited)
    today = clock.now().date()

    report = money_report(merchant=merchant, start=today, end=today)

    (day,) = report.days
    assert day.refunded_minor == refunded.refund_total_minor and day.refunds == 1
    assert day.credited_minor + day.bonus_minor == credited.store_credit_total_minor
    assert report.mismatches == [] and report.refunds_in_doubt == 0
    answer = api.get(f"/reports/money?start={today}&end={today}").json()
    assert answer["days"][0]["refunded_minor"] == refunded.refund_total_minor


def test_a_refund_that_moved_more_than_promised_is_named(merchant):
    _order, ret = _return(merchant, "refund")
    _deliver(ret)
    Refund.objects.update(amount_minor=ret.refund_total_minor + 1)  # a ledger gone wrong

    report = money_report(merchant=merchant, start=clock.now().date(), end=clock.now().date())

    (mismatch,) = report.mismatches
    assert (mismatch.number, mismatch.kind) == (ret.number, "refund")
    assert mismatch.moved_minor - mismatch.promised_minor == 1


def test_the_reports_dates_must_make_sense(api):
    response = api.get("/reports/money?start=2026-12-10&end=2026-12-01")
    assert response.status_code == 422 and response.json()["field"] == "end"


def test_dates_outside_any_plausible_range_are_refused_not_a_crash(api):
    response = api.get("/reports/money?start=2026-12-01&end=9999-12-31")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "end"
