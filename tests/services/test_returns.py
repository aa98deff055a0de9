"""Return use cases on a real database: rows, timeline and outbox events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from awda.catalog.services import set_stock_levels
from awda.core import clock
from awda.core.errors import InvalidInput, InvalidTransition, NotFound
from awda.core.models import Event
from awda.orders.models import OrderLine
from awda.returns import errors
from awda.returns.models import Return, ReturnStatus, TimelineEntry
from awda.returns.services import (
    ItemRequest,
    ReceivedItem,
    approve_return,
    cancel_return,
    expire_unshipped_returns,
    record_receipt,
    reject_return,
    request_return,
)
from tests import factories

pytestmark = pytest.mark.django_db


def _request(merchant, order, *items, method="label", **kw):
    return request_return(
        merchant=merchant,
        order_number=order.number,
        items=list(items) or [ItemRequest(line_ref="1", quantity=1, reason="too_small")],
        method=method,
        **kw,
    )


def _events(ret):
    return list(
        Event.objects.filter(aggregate_type="return", aggregate_id=str(ret.pk))
        .order_by("created_at", "name")
        .values_list("name", flat=True)
    )


def test_a_valid_return_is_approved_at_once_with_a_number_quote_timeline_and_events(merchant):
    order = factories.order(merchant, lines=[factories.line("1", quantity=2, price=20000)])
    ret = _request(
        merchant,
        order,
        ItemRequest(line_ref="1", quantity=1, reason="size", sub_reason="too_small"),
    )

    assert ret.status == ReturnStatus.APPROVED
    assert ret.number.startswith("R-") and len(ret.number) == 9
    assert ret.refund_total_minor == 20000 - 1500  # SAR 15 return shipping paid by the shopper
    assert ret.store_credit_total_minor == ret.refund_total_minor + ret.refund_total_minor // 10
    assert ret.quote["currency"] == "SAR"
    statuses = list(
        TimelineEntry.objects.filter(return_request=ret).values_list("to_status", flat=True)
    )
    assert statuses == ["requested", "approved"]
    assert set(_events(ret)) == {"ReturnRequested", "ReturnApproved"}
    assert OrderLine.objects.get(order=order, line_ref="1").returned_quantity == 1


def test_a_wrong_item_comes_back_free_of_shipping_and_restocking_fees(merchant):
    order = factories.order(merchant, lines=[factories.line("1", price=20000)])
    ret = _request(merchant, order, ItemRequest(line_ref="1", quantity=1, reason="wrong_item"))
    assert ret.refund_total_minor == 20000


def test_a_defective_item_without_photos_waits_for_review(merchant):
    order = factories.order(merchant, lines=[factories.line("1", price=20000)])
    ret = _request(merchant, order, ItemRequest(line_ref="1", quantity=1, reason="defective"))
    assert ret.status == ReturnStatus.PENDING_REVIEW
    assert ret.timeline.last().note == "photos_required"


def test_asking_for_more_units_than_delivered_is_refused_with_the_returnable_quantity(merchant):
    order = factories.order(merchant, lines=[factories.line("1", quantity=2)])
    with pytest.raises(errors.QuantityExceedsReturnable) as caught:
        _request(merchant, order, ItemRequest(line_ref="1", quantity=3, reason="too_small"))
    assert caught.value.field == "items.0.quantity"
    assert caught.value.details["returnable"] == 2
    assert not Return.objects.exists()


def test_units_already_in_a_live_return_cannot_be_returned_again(merchant):
    order = factories.order(merchant, lines=[factories.line("1", quantity=2)])
    _request(merchant, order, ItemRequest(line_ref="1", quantity=2, reason="too_small"))
    with pytest.raises(errors.QuantityExceedsReturnable):
        _request(merchant, order, ItemRequest(line_ref="1", quantity=1, reason="too_small"))


def test_cancelling_a_return_gives_its_units_back(merchant):
    order = factories.order(merchant, lines=[factories.line("1", quantity=1)])
    ret = _request(merchant, order)
    cancel_return(merchant=merchant, number=ret.number, actor="shopper")
    assert OrderLine.objects.get(order=order).returned_quantity == 0
    again = _request(merchant, order)
    assert again.status == ReturnStatus.APPROVED


def test_an_item_delivered_31_days_ago_is_outside_a_30_day_window(merchant):
    order = factories.order(merchant, delivered_days_ago=31)
    with pytest.raises(errors.WindowExpired):
        _request(merchant, order)


def test_a_final_sale_item_cannot_be_returned(merchant):
    order = factories.order(merchant, lines=[factories.line("1", tags=["final-sale"])])
    with pytest.raises(errors.NotReturnable):
        _request(merchant, order)


def test_an_unknown_reason_is_refused_naming_the_field(merchant):
    order = factories.order(merchant)
    with pytest.raises(errors.UnknownReason) as caught:
        _request(merchant, order, ItemRequest(line_ref="1", quantity=1, reason="bored"))
    assert caught.value.field == "items.0.reason"


def test_a_sub_reason_must_belong_to_its_reason(merchant):
    order = factories.order(merchant)
    with pytest.raises(errors.UnknownReason) as caught:
        _request(
            merchant,
            order,
            ItemRequest(line_ref="1", quantity=1, reason="defective", sub_reason="too_small"),
        )
    assert caught.value.field == "items.0.sub_reason"


def test_a_line_the_order_does_not_have_is_not_found(merchant):
    order = factories.order(merchant)
    with pytest.raises(NotFound):
        _request(merchant, order, ItemRequest(line_ref="99", quantity=1, reason="too_small"))


def test_another_merchants_order_is_not_found(merchant):
    other = factories.merchant()
    order = factories.order(other)
    with pytest.raises(NotFound):
        _request(merchant, order)


def test_the_same_idempotency_key_returns_the_same_return(merchant):
    order = factories.order(merchant, lines=[factories.line("1", quantity=3)])
    first = _request(merchant, order, idempotency_key="key-123456")
    second = _request(merchant, order, idempotency_key="key-123456")
    assert first.pk == second.pk
    assert OrderLine.objects.get(order=order).returned_quantity == 1


def test_an_exchange_for_another_variant_records_the_target(merchant):
    order = factories.order(
        merchant,
        lines=[
            factories.line("1", sku="TEE-M", product="TEE"),
            factories.line("2", sku="TEE-L", product="TEE"),
        ],
    )
    set_stock_levels(merchant=merchant, levels={"TEE-L": 1})  # an exchange reserves a unit
    ret = _request(
        merchant,
        order,
        ItemRequest(
            line_ref="1",
            quantity=1,
            reason="too_small",
            resolution="exchange",
            exchange_sku="TEE-L",
        ),
    )
    item = ret.items.get()
    assert item.exchange_variant.sku == "TEE-L"
    assert ret.quote["items"][0]["exchange_difference"] is not None


def test_an_exchange_needs_a_known_sku(merchant):
    order = factories.order(merchant)
    with pytest.raises(errors.ExchangeNotAllowed):
        _request(
            merchant,
            order,
            ItemRequest(
                line_ref="1",
                quantity=1,
                reason="too_small",
                resolution="exchange",
                exchange_sku="NOPE",
            ),
        )


def test_an_empty_return_is_invalid_input(merchant):
    order = factories.order(merchant)
    with pytest.raises(InvalidInput):
        request_return(merchant=merchant, order_number=order.number, items=[], method="label")


def test_rejecting_needs_a_reason_and_releases_the_units(merchant):
    order = factories.order(merchant)
    ret = _request(merchant, order, ItemRequest(line_ref="1", quantity=1, reason="too_small"))
    # approved returns can't be rejected: the table only allows it before approval
    with pytest.raises(InvalidTransition) as caught:
        reject_return(merchant=merchant, number=ret.number, actor="staff:1", reason="worn")
    assert caught.value.details["current_status"] == "approved"
    with pytest.raises(InvalidInput):
        reject_return(merchant=merchant, number=ret.number, actor="staff:1", reason=" ")


def test_a_policy_with_manual_review_puts_returns_in_review_until_approved(db):
    from awda.policies.document import default_policy, parse_policy

    data = default_policy().to_data()
    data["defaults"]["manual_review"] = True
    m = factories.merchant(policy=parse_policy(data))
    order = factories.order(m)
    ret = _request(m, order)
    assert ret.status == ReturnStatus.PENDING_REVIEW
    approved = approve_return(merchant=m, number=ret.number, actor="staff:1")
    assert approved.status == ReturnStatus.APPROVED
    assert approved.expires_at is not None
    assert "ReturnFlaggedForReview" in _events(ret)


def test_a_rejected_return_in_review_frees_its_units(db):
    from awda.policies.document import default_policy, parse_policy

    data = default_policy().to_data()
    data["defaults"]["manual_review"] = True
    m = factories.merchant(policy=parse_policy(data))
    order = factories.order(m)
    ret = _request(m, order)
    rejected = reject_return(merchant=m, number=ret.number, actor="staff:1", reason="Used item")
    assert rejected.status == ReturnStatus.REJECTED
    assert rejected.rejection_reason == "Used item"
    assert OrderLine.objects.get(order=order).returned_quantity == 0


def test_an_approved_return_not_shipped_in_time_expires(merchant):
    order = factories.order(merchant)
    ret = _request(merchant, order)
    with clock.frozen_at(ret.expires_at + timedelta(minutes=1)):
        assert expire_unshipped_returns() == 1
        assert expire_unshipped_returns() == 0
    ret.refresh_from_db()
    assert ret.status == ReturnStatus.EXPIRED
    assert OrderLine.objects.get(order=order).returned_quantity == 0
    assert "ReturnExpired" in _events(ret)


def test_recording_receipt_marks_missing_items(merchant):
    order = factories.order(merchant, lines=[factories.line("1"), factories.line("2")])
    ret = _request(
        merchant,
        order,
        ItemRequest(line_ref="1", quantity=1, reason="too_small"),
        ItemRequest(line_ref="2", quantity=1, reason="too_small"),
    )
    record_receipt(
        merchant=merchant, number=ret.number, actor="staff:2", items=[ReceivedItem("1", 1)]
    )
    ret.refresh_from_db()
    assert ret.status == ReturnStatus.RECEIVED
    receptions = dict(ret.items.values_list("order_line__line_ref", "reception"))
    assert receptions == {"1": "received", "2": "missing"}
    with pytest.raises(InvalidTransition):
        cancel_return(merchant=merchant, number=ret.number, actor="shopper")


def test_a_return_of_another_merchant_cannot_be_cancelled(merchant):
    other = factories.merchant()
    order = factories.order(other)
    ret = _request(other, order)
    with pytest.raises(NotFound):
        cancel_return(merchant=merchant, number=ret.number, actor="api")


def test_a_taken_return_number_is_drawn_again_and_nothing_is_written_twice(merchant, monkeypatch):
    first = _request(merchant, factories.order(merchant))
    drawn = iter([first.number, "R-NEW1-23"])
    monkeypatch.setattr("awda.returns.services.new_return_number", lambda: next(drawn))
    order = factories.order(merchant)

    second = _request(merchant, order)

    assert second.number == "R-NEW1-23"
    assert Return.objects.filter(order=order).count() == 1
    assert OrderLine.objects.get(order=order).returned_quantity == 1
    assert _events(second).count("ReturnRequested") == 1
