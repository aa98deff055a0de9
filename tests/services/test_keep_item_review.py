"""A keep-item return completes at approval, before its money moves. When that money fails —
a refund the gateway refuses, or one the payments can't take — the return comes back into
review with the reason, and a person settles it like any other return in review."""

from __future__ import annotations

import pytest
from django.db.models import F

from awda.core.models import Event
from awda.orders.models import Payment
from awda.payments import services as payments
from awda.payments.gateways import sandbox as sandbox_gateway
from awda.payments.models import Refund, RefundStatus
from awda.policies.document import default_policy, parse_policy
from awda.returns.models import Return, ReturnStatus, TimelineEntry
from awda.returns.services import ItemRequest, hold_refused_refund, request_return, settle_review
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox_gateway.reset_sandbox()
    yield
    sandbox_gateway.reset_sandbox()


def _keep_item_shop(**gateway_settings: str) -> factories.Merchant:
    data = default_policy(currency="SAR", country="SA").to_data()
    data["defaults"].update(methods=["label", "keep_item"], keep_item_threshold_minor=50000)
    merchant = factories.merchant(policy=parse_policy(data))
    payments.connect_gateway(
        merchant=merchant, gateway="sandbox", name="Sandbox", settings=gateway_settings
    )
    return merchant


def _kept(merchant, *, already_refunded: bool = False) -> Return:
    order = factories.order(merchant, lines=[factories.line("1", price=20000)])
    if already_refunded:
        Payment.objects.filter(order=order).update(refunded_minor=F("captured_minor"))
    ret = request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref="1", quantity=1, reason="size", resolution="refund")],
        method="keep_item",
    )
    assert ret.status == ReturnStatus.COMPLETED  # at once: nothing to send back
    factories.run_jobs()
    ret.refresh_from_db()
    return ret


def _moves(ret: Return) -> list[tuple[str, str]]:
    return list(
        TimelineEntry.objects.filter(return_request=ret, kind="status_changed")
        .order_by("pk")
        .values_list("from_status", "to_status")
    )


def test_a_keep_item_refund_the_gateway_refuses_puts_the_return_back_in_review():
    merchant = _keep_item_shop(refund_outcome="fail")

    ret = _kept(merchant)

    refund = Refund.objects.get()
    assert refund.status == RefundStatus.REVIEW  # the gateway said no; its amount given back
    assert ret.status == ReturnStatus.IN_REVIEW
    assert ret.money_review_reason == "refund_refused" and ret.closed_at is None
    assert _moves(ret)[-1] == ("completed", "in_review")
    (failed,) = TimelineEntry.objects.filter(return_request=ret, kind="money_failed")
    assert failed.note == "The card issuer declined the refund (sandbox)"
    assert failed.data["trigger"] == "RefundNeedsReview"
    assert failed.data["details"] == {"refund_id": refund.pk}
    assert Event.objects.filter(name="ReturnMoneyFailed").count() == 1


def test_a_keep_item_return_whose_money_job_is_refused_goes_to_review_too():
    merchant = _keep_item_shop()

    ret = _kept(merchant, already_refunded=True)

    assert ret.status == ReturnStatus.IN_REVIEW
    assert ret.money_review_reason == "not_refundable"
    assert not Refund.objects.exists()


@pytest.mark.parametrize("how", ["gateway", "job"])
def test_staff_settle_a_keep_item_return_in_review_and_it_completes_again(how):
    merchant = _keep_item_shop(**({"refund_outcome": "fail"} if how == "gateway" else {}))
    ret = _kept(merchant, already_refunded=how == "job")
    api = factories.ApiClient(factories.api_key(merchant))

    response = api.post(
        f"/returns/{ret.number}/settle", {"note": "Refunded by hand", "outcome": "completed"}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "completed" and body["money_review_reason"] == ""
    ret.refresh_from_db()
    assert ret.closed_at is not None
    assert _moves(ret)[-2:] == [("completed", "in_review"), ("in_review", "completed")]
    assert api.post(f"/returns/{ret.number}/settle", {"note": "again"}).status_code == 409


def test_a_refused_refund_of_a_return_still_on_its_way_flags_it_without_moving_it():
    merchant = _keep_item_shop()
    # Above the keep-item threshold: sent back by label.
    order = factories.order(merchant, lines=[factories.line("1", price=60000)])
    ret = request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref="1", quantity=1, reason="size", resolution="refund")],
        method="label",
    )

    hold_refused_refund(merchant_id=merchant.pk, number=ret.number, message="Declined", refund_id=1)

    ret.refresh_from_db()
    assert (ret.status, ret.money_review_reason) == (ReturnStatus.APPROVED, "refund_refused")
    with pytest.raises(Exception, match="not allowed"):
        settle_review(merchant=merchant, number=ret.number, actor="staff:1", note="n")


def test_a_refused_refund_no_return_asked_for_changes_nothing():
    merchant = _keep_item_shop()

    assert (
        hold_refused_refund(merchant_id=merchant.pk, number="GOODWILL-1", message="", refund_id=1)
        is None
    )
