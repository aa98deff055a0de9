"""A money job refused for a business reason (a line's cap, payments that can't take the
refund) puts the return in front of a person instead of retrying until it gives up; a
person settles a return in review, through the API, once."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.db.models import F

from awda import tasks
from awda.core import outbox
from awda.core.models import Event, HandledEvent
from awda.orders.models import OrderLine, Payment
from awda.payments.models import Refund
from awda.returns import services as returns_services
from awda.returns.models import Return, ReturnStatus
from awda.returns.services import record_receipt
from tests import factories
from tests.services import test_inspection_money as inspection

pytestmark = pytest.mark.django_db

_fresh_sandbox = inspection._fresh_sandbox  # the sandbox gateway starts empty in each test


def _lines_already_refunded(ret: Return) -> None:
    """Money for the lines went back another way (e.g. the store refunded them itself)."""
    OrderLine.objects.filter(order=ret.order).update(refunded_minor=F("paid_minor"))


def _received_and_inspected(merchant, ret: Return) -> None:
    record_receipt(merchant=merchant, number=ret.number, actor="staff:1")
    inspection._inspect(ret, ("1", "accepted", ""), ("2", "accepted", ""))


def _money_failed(ret: Return) -> list:
    return inspection._entries(ret, "money_failed")


# -- a refused money job goes to review -----------------------------------------------------------


def test_a_refund_over_a_lines_cap_puts_a_received_return_in_review_and_completes_the_job():
    merchant = inspection._merchant("inspected")
    ret = inspection._return(merchant, "refund")
    _received_and_inspected(merchant, ret)
    _lines_already_refunded(ret)

    factories.run_jobs()

    ret.refresh_from_db()
    assert ret.status == ReturnStatus.IN_REVIEW
    assert ret.money_review_reason == "line_refund_exceeds_paid"
    (entry,) = _money_failed(ret)
    assert entry.data["code"] == "line_refund_exceeds_paid"
    assert entry.data["trigger"] == "ReturnInspected" and entry.note
    assert not Refund.objects.exists()  # nothing half-written
    (failed,) = Event.objects.filter(name="ReturnMoneyFailed")
    assert failed.payload["code"] == "line_refund_exceeds_paid"
    assert Event.objects.filter(name="ReturnHeldForReview").count() == 1
    inspected = Event.objects.get(name="ReturnInspected")
    assert inspected.dispatched_at is not None and inspected.attempts == 1  # no retry loop
    assert HandledEvent.objects.filter(event=inspected, handler__endswith="start_money").exists()


def test_payments_that_cant_take_the_refund_flag_a_return_whose_parcel_is_still_due():
    merchant = inspection._merchant("delivered")
    ret = inspection._return(merchant, "refund")
    Payment.objects.filter(order=ret.order).update(refunded_minor=F("captured_minor"))
    inspection._deliver(ret)

    factories.run_jobs()

    ret.refresh_from_db()
    # Not received yet: the status stays, so the warehouse can still receive the parcel.
    assert ret.status == ReturnStatus.DELIVERED
    assert ret.money_review_reason == "not_refundable"
    assert _money_failed(ret)[0].data["details"]["amount_minor"] == ret.refund_total_minor
    delivered = Event.objects.get(name="ParcelDelivered")
    assert delivered.dispatched_at is not None

    record_receipt(merchant=merchant, number=ret.number, actor="staff:1")

    assert Return.objects.get(pk=ret.pk).status == ReturnStatus.IN_REVIEW


def test_the_staff_queue_finds_returns_whose_money_failed(api, merchant):
    ret = inspection._return(merchant, "refund")
    other = inspection._return(merchant, "refund")
    returns_services.hold_money_for_review(
        return_id=ret.pk,
        trigger="ParcelDelivered",
        error=returns_services.errors.MethodNotAllowed("refused"),
    )

    flagged = api.get("/returns?money_review=true").json()
    others = api.get("/returns?money_review=false").json()

    assert [r["number"] for r in flagged["items"]] == [ret.number]
    assert flagged["items"][0]["money_review_reason"] == "method_not_allowed"
    assert other.number in [r["number"] for r in others["items"]]


def test_a_database_error_in_the_money_job_is_retried_not_sent_to_review(monkeypatch):
    merchant = inspection._merchant("inspected")
    ret = inspection._return(merchant, "refund")
    _received_and_inspected(merchant, ret)

    def unreachable(**_kw):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(returns_services, "issue_resolutions", unreachable)
    inspected = Event.objects.get(name="ReturnInspected")

    result = outbox.dispatch(str(inspected.pk), tasks.HANDLERS)

    assert not result.complete  # huey retries the job
    ret.refresh_from_db()
    assert ret.status == ReturnStatus.RECEIVED and ret.money_review_reason == ""
    assert not _money_failed(ret)
    assert not Event.objects.filter(name="ReturnMoneyFailed").exists()

    monkeypatch.undo()
    assert outbox.dispatch(str(inspected.pk), tasks.HANDLERS).complete
    assert Refund.objects.get().amount_minor == ret.refund_total_minor


# -- settling a review ----------------------------------------------------------------------------


def _in_review(merchant) -> Return:
    ret = inspection._return(merchant, "refund")
    _received_and_inspected(merchant, ret)
    _lines_already_refunded(ret)
    factories.run_jobs()
    ret.refresh_from_db()
    assert ret.status == ReturnStatus.IN_REVIEW
    return ret


@pytest.fixture
def reviewed_merchant():
    return inspection._merchant("inspected")


def test_staff_settle_a_return_in_review_and_it_completes_with_their_note(reviewed_merchant):
    ret = _in_review(reviewed_merchant)
    api = factories.ApiClient(factories.api_key(reviewed_merchant))

    response = api.post(
        f"/returns/{ret.number}/settle",
        {"note": "Refunded by the store directly", "outcome": "completed"},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "completed" and body["money_review_reason"] == ""
    ret.refresh_from_db()
    assert ret.closed_at is not None
    (settled,) = inspection._entries(ret, "review_settled")
    assert settled.note == "Refunded by the store directly" and settled.actor == "api"
    assert settled.data == {
        "outcome": "completed",
        "money_review_reason": "line_refund_exceeds_paid",
    }
    change = inspection._entries(ret, "status_changed")[-1]
    assert (change.from_status, change.to_status) == ("in_review", "completed")
    assert Event.objects.filter(name="ReturnCompleted").count() == 1


def test_settling_a_return_not_in_review_is_a_conflict(api, merchant):
    ret = inspection._return(merchant, "refund")

    response = api.post(f"/returns/{ret.number}/settle", {"note": "Looked at it"})

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["details"]["current_status"] == ReturnStatus.APPROVED


def test_a_second_settle_is_a_conflict(reviewed_merchant):
    ret = _in_review(reviewed_merchant)
    api = factories.ApiClient(factories.api_key(reviewed_merchant))
    assert api.post(f"/returns/{ret.number}/settle", {"note": "ok"}).status_code == 200

    again = api.post(f"/returns/{ret.number}/settle", {"note": "ok"})

    assert again.status_code == 409 and again.json()["details"]["current_status"] == "completed"


def test_another_merchants_return_in_review_is_not_found(reviewed_merchant, api):
    ret = _in_review(reviewed_merchant)

    response = api.post(f"/returns/{ret.number}/settle", {"note": "Not mine"})

    assert response.status_code == 404
    assert Return.objects.get(pk=ret.pk).status == ReturnStatus.IN_REVIEW


@pytest.mark.parametrize(
    ("body", "field"),
    [({"note": ""}, "note"), ({"note": "ok", "outcome": "refunded"}, "outcome"), ({}, "note")],
)
def test_a_settle_needs_a_note_and_a_known_outcome(reviewed_merchant, body, field):
    ret = _in_review(reviewed_merchant)
    api = factories.ApiClient(factories.api_key(reviewed_merchant))

    response = api.post(f"/returns/{ret.number}/settle", body)

    assert response.status_code == 422
    assert field in str(response.json())
    assert Return.objects.get(pk=ret.pk).status == ReturnStatus.IN_REVIEW


def test_the_service_refuses_a_blank_note():
    from awda.core.errors import InvalidInput

    merchant = inspection._merchant("inspected")
    ret = _in_review(merchant)
    with pytest.raises(InvalidInput) as refused:
        returns_services.settle_review(merchant=merchant, number=ret.number, actor="a", note=" ")
    assert refused.value.field == "note"
