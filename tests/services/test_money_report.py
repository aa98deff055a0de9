"""The money report adds up what went back per day from the ledgers that moved it, and
names any return whose money differs from what it promised, to the minor unit."""

from __future__ import annotations

import pytest

from awda.payments.gateways import sandbox as sandbox_gateway
from awda.payments.models import Refund
from awda.returns.models import Return, ReturnStatus
from awda.returns.reports import money_report
from awda.returns.services import ReceivedItem, record_receipt
from awda.shipping import services as shipping
from awda.wallet.models import CreditAccount
from tests import factories
from tests.services import test_inspection_money as inspection
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
    today = factories.today_at(merchant)

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

    report = money_report(
        merchant=merchant, start=factories.today_at(merchant), end=factories.today_at(merchant)
    )

    (mismatch,) = report.mismatches
    assert (mismatch.number, mismatch.kind) == (ret.number, "refund")
    assert mismatch.moved_minor - mismatch.promised_minor == 1


def test_the_reports_dates_must_make_sense(api):
    response = api.get("/reports/money?start=2026-12-10&end=2026-12-01")
    assert response.status_code == 422 and response.json()["field"] == "end"


def test_dates_outside_any_plausible_range_are_refused_not_a_crash(api):
    response = api.get("/reports/money?start=2026-12-01&end=9999-12-31")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "end"


# -- returns paid only in part ------------------------------------------------------------------


def _today(merchant):
    return factories.today_at(merchant)


def test_a_return_paid_only_for_its_accepted_items_is_no_mismatch():
    merchant = inspection._merchant("inspected")
    ret = inspection._return(merchant, "refund")
    record_receipt(merchant=merchant, number=ret.number, actor="staff:1")
    inspection._inspect(ret, ("1", "accepted", ""), ("2", "rejected", "Worn"))
    factories.run_jobs()
    factories.run_jobs()
    assert Refund.objects.get().amount_minor < ret.refund_total_minor  # item 2 got nothing

    report = money_report(merchant=merchant, start=_today(merchant), end=_today(merchant))

    assert report.mismatches == []


def test_items_found_missing_at_receipt_leave_no_mismatch_for_the_rest():
    merchant = inspection._merchant("delivered")
    ret = inspection._return(merchant, "refund")
    inspection._deliver(ret)  # the money job hasn't run yet when the warehouse counts
    record_receipt(
        merchant=merchant,
        number=ret.number,
        actor="staff:1",
        items=[ReceivedItem(line_ref="1", quantity=1)],
    )
    factories.run_jobs()
    factories.run_jobs()

    report = money_report(merchant=merchant, start=_today(merchant), end=_today(merchant))

    assert Refund.objects.get().status == "succeeded" and report.mismatches == []


def test_store_credit_for_the_accepted_items_matches_with_their_share_of_the_bonus():
    merchant = inspection._merchant("inspected")
    ret = inspection._return(merchant, "store_credit")
    record_receipt(merchant=merchant, number=ret.number, actor="staff:1")
    inspection._inspect(ret, ("1", "rejected", "Used"), ("2", "accepted", ""))
    factories.run_jobs()
    account = CreditAccount.objects.get()
    item = inspection._items(ret)["2"]
    assert item.refund_minor < account.balance_minor < ret.store_credit_total_minor  # bonus

    report = money_report(merchant=merchant, start=_today(merchant), end=_today(merchant))

    assert report.mismatches == []


def test_a_partly_paid_return_whose_refund_differs_from_its_paid_items_is_still_named():
    merchant = inspection._merchant("inspected")
    ret = inspection._return(merchant, "refund")
    record_receipt(merchant=merchant, number=ret.number, actor="staff:1")
    inspection._inspect(ret, ("1", "accepted", ""), ("2", "rejected", "Worn"))
    factories.run_jobs()
    factories.run_jobs()
    due = inspection._items(ret)["1"].refund_minor
    Refund.objects.update(amount_minor=due - 100)  # the gateway gave back less

    report = money_report(merchant=merchant, start=_today(merchant), end=_today(merchant))

    (mismatch,) = report.mismatches
    assert (mismatch.number, mismatch.kind) == (ret.number, "refund")
    assert (mismatch.promised_minor, mismatch.moved_minor) == (due, due - 100)


def test_money_sent_before_an_item_was_found_missing_is_for_review_not_a_mismatch():
    merchant = inspection._merchant("delivered")
    ret = inspection._return(merchant, "refund")
    inspection._deliver(ret)
    factories.run_jobs()
    factories.run_jobs()
    record_receipt(
        merchant=merchant,
        number=ret.number,
        actor="staff:1",
        items=[ReceivedItem(line_ref="1", quantity=1)],
    )

    report = money_report(merchant=merchant, start=_today(merchant), end=_today(merchant))

    # Both items were paid (the money went out before the warehouse looked): the return is
    # in review with the amount at stake, and the report shows no difference of its own.
    assert Return.objects.get(pk=ret.pk).status == ReturnStatus.IN_REVIEW
    assert report.mismatches == []
