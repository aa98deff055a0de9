"""After inspection: the warehouse's decisions drive the money of an ``inspected`` refund
timing, and money sent earlier for items that turn out missing, wrong or rejected puts the
return in review, with unused store credit clawed back."""

from __future__ import annotations

from typing import Any

import pytest

from awda.core.errors import Conflict, InvalidInput, InvalidTransition
from awda.core.models import Event
from awda.core.money import Money
from awda.orders.models import OrderLine, Payment
from awda.payments import services as payments
from awda.payments.gateways import sandbox as sandbox_gateway
from awda.payments.models import Refund, RefundStatus
from awda.policies.document import default_policy, parse_policy
from awda.portal import story
from awda.returns.models import Reception, Return, ReturnItem, ReturnStatus, TimelineEntry
from awda.returns.rules import allowed_actions
from awda.returns.selectors import TimelineFact
from awda.returns.services import (
    InspectedItem,
    ItemRequest,
    ReceivedItem,
    record_inspection,
    record_receipt,
    request_return,
)
from awda.shipping import services as shipping
from awda.wallet.models import CreditAccount, LedgerTransaction, TransactionKind
from awda.wallet.services import adjust_store_credit
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox_gateway.reset_sandbox()
    yield
    sandbox_gateway.reset_sandbox()


def _merchant(timing: str) -> factories.Merchant:
    data = default_policy(currency="SAR", country="SA").to_data()
    # The store pays return shipping: each item's money is its own refund, no fee shared.
    data["defaults"].update(refund_timing=timing, return_shipping_paid_by="merchant")
    merchant = factories.merchant(policy=parse_policy(data))
    shipping.connect_carrier(merchant=merchant, carrier="sandbox", name="Sandbox", settings={})
    payments.connect_gateway(merchant=merchant, gateway="sandbox", name="Sandbox", settings={})
    return merchant


def _return(merchant: factories.Merchant, resolution: str, **order: Any) -> Return:
    order_row = factories.order(
        merchant,
        lines=[factories.line("1", price=20000), factories.line("2", price=10000)],
        **order,
    )
    ret = request_return(
        merchant=merchant,
        order_number=order_row.number,
        items=[
            ItemRequest(line_ref=ref, quantity=1, reason="size", resolution=resolution)
            for ref in ("1", "2")
        ],
        method="label",
        payout_iban="SA0380000000608010167519" if order.get("payment_method") else "",
        payout_name="Noura",
    )
    factories.run_jobs()  # the label
    return ret


def _deliver(ret: Return) -> None:
    tracking = ret.shipments.get().tracking_number
    shipping.advance_sandbox_parcel(tracking_number=tracking, to="delivered")


def _items(ret: Return) -> dict[str, ReturnItem]:
    return {
        i.order_line.line_ref: i
        for i in ReturnItem.objects.filter(return_request=ret).select_related("order_line")
    }


def _entries(ret: Return, kind: str) -> list[TimelineEntry]:
    return list(TimelineEntry.objects.filter(return_request=ret, kind=kind).order_by("pk"))


def _inspect(ret: Return, *decisions: tuple[str, str, str]) -> Return:
    return record_inspection(
        merchant=ret.merchant,
        number=ret.number,
        actor="staff:1",
        items=[
            InspectedItem(line_ref=ref, condition="new", decision=decision, note=note)
            for ref, decision, note in decisions
        ],
    )


# -- the "inspected" timing ---------------------------------------------------------------------


def test_inspected_timing_pays_only_the_accepted_items_once_every_item_is_decided():
    merchant = _merchant("inspected")
    ret = _return(merchant, "refund")
    _deliver(ret)
    factories.run_jobs()
    record_receipt(merchant=merchant, number=ret.number, actor="staff:1")
    factories.run_jobs()
    assert not Refund.objects.exists()  # received is not inspected

    _inspect(ret, ("1", "accepted", ""))
    factories.run_jobs()
    assert not Refund.objects.exists()  # item 2 still waits for its decision
    assert not Event.objects.filter(name="ReturnInspected").exists()

    _inspect(ret, ("2", "rejected", "Worn, tags removed"))
    factories.run_jobs()

    items = _items(ret)
    assert Event.objects.filter(name="ReturnInspected").count() == 1
    refund = Refund.objects.get()
    assert refund.amount_minor == items["1"].refund_minor and refund.status == "succeeded"
    (note,) = _entries(ret, "item_not_refunded")
    assert note.note == "Worn, tags removed" and note.data["why"] == "rejected"
    assert note.data["line_ref"] == "2"
    lines = {li.line_ref: li for li in OrderLine.objects.filter(order=ret.order)}
    assert lines["1"].refunded_minor == items["1"].refund_minor
    assert lines["2"].refunded_minor == 0
    assert Return.objects.get(pk=ret.pk).status == ReturnStatus.RECEIVED  # nothing at stake


def test_an_inspection_that_rejects_everything_moves_no_money():
    merchant = _merchant("inspected")
    ret = _return(merchant, "store_credit")
    record_receipt(merchant=merchant, number=ret.number, actor="staff:1")
    _inspect(ret, ("1", "rejected", "Used"), ("2", "rejected", "Used"))
    factories.run_jobs()

    assert not CreditAccount.objects.exists()
    assert len(_entries(ret, "item_not_refunded")) == 2


def test_a_repeated_decision_changes_nothing_and_a_different_one_is_refused():
    merchant = _merchant("inspected")
    ret = _return(merchant, "refund")
    record_receipt(merchant=merchant, number=ret.number, actor="staff:1")
    _inspect(ret, ("1", "accepted", ""), ("2", "accepted", ""))
    _inspect(ret, ("1", "accepted", ""))  # a double click

    with pytest.raises(Conflict) as refused:
        _inspect(ret, ("2", "rejected", "changed my mind"))

    assert refused.value.field == "items.0.decision"
    assert Event.objects.filter(name="ReturnInspected").count() == 1
    assert len(_entries(ret, "item_inspected")) == 2
    assert _items(ret)["2"].decision == "accepted"


def test_items_are_inspected_only_once_the_parcel_is_received():
    merchant = _merchant("inspected")
    ret = _return(merchant, "refund")

    with pytest.raises(InvalidTransition) as refused:
        _inspect(ret, ("1", "accepted", ""))

    assert refused.value.details["current_status"] == ReturnStatus.APPROVED


def test_an_item_that_did_not_arrive_in_full_cannot_be_accepted():
    merchant = _merchant("inspected")
    ret = _return(merchant, "refund")
    record_receipt(
        merchant=merchant,
        number=ret.number,
        actor="staff:1",
        items=[ReceivedItem(line_ref="1", quantity=1, reception=Reception.WRONG_ITEM)],
    )

    with pytest.raises(InvalidInput) as wrong:
        _inspect(ret, ("1", "accepted", ""))
    with pytest.raises(InvalidInput) as missing:
        _inspect(ret, ("1", "rejected", ""), ("2", "accepted", ""))

    assert wrong.value.field == "items.0.decision" and missing.value.field == "items.1.decision"
    assert {i.decision for i in _items(ret).values()} == {"pending"}  # nothing half-saved
    # A missing item needs no condition grade to be rejected.
    record_inspection(
        merchant=merchant,
        number=ret.number,
        actor="staff:1",
        items=[InspectedItem(line_ref="2", condition="", decision="rejected", note="Not in box")],
    )


@pytest.mark.parametrize(
    ("field", "item"),
    [
        ("items.0.decision", InspectedItem(line_ref="1", condition="new", decision="pending")),
        ("items.0.condition", InspectedItem(line_ref="1", condition="shiny", decision="accepted")),
        ("items.0.condition", InspectedItem(line_ref="1", condition="", decision="accepted")),
    ],
)
def test_an_inspection_says_which_field_is_wrong(field, item):
    merchant = _merchant("inspected")
    ret = _return(merchant, "refund")
    record_receipt(merchant=merchant, number=ret.number, actor="staff:1")

    with pytest.raises(InvalidInput) as refused:
        record_inspection(merchant=merchant, number=ret.number, actor="staff:1", items=[item])

    assert refused.value.field == field


# -- money sent before the warehouse looked -----------------------------------------------------


def test_credit_for_an_item_found_missing_is_clawed_back_and_the_return_held_for_review():
    merchant = _merchant("delivered")
    ret = _return(merchant, "store_credit")
    _deliver(ret)
    factories.run_jobs()
    account = CreditAccount.objects.get()
    assert account.balance_minor == ret.store_credit_total_minor

    record_receipt(
        merchant=merchant,
        number=ret.number,
        actor="staff:1",
        items=[ReceivedItem(line_ref="1", quantity=1)],
    )

    ret.refresh_from_db()
    assert ret.status == ReturnStatus.IN_REVIEW
    assert Event.objects.filter(name="ReturnHeldForReview").count() == 1
    item = _items(ret)["2"]
    # Item 2's credit is its refund plus its share of the 10% bonus.
    share = item.refund_minor + item.refund_minor // 10
    (stake,) = _entries(ret, "money_at_stake")
    assert stake.data["why"] == "missing" and stake.data["line_ref"] == "2"
    assert stake.data["amount_minor"] == stake.data["store_credit_minor"] == share
    assert stake.data["clawed_back_minor"] == share and stake.data["not_recovered_minor"] == 0
    assert item.at_stake_minor == share
    account.refresh_from_db()
    assert account.balance_minor == ret.store_credit_total_minor - share
    assert "complete" in allowed_actions(ret.status)  # a person settles it and closes


def test_credit_already_spent_is_recorded_as_not_recovered():
    merchant = _merchant("delivered")
    ret = _return(merchant, "store_credit")
    _deliver(ret)
    factories.run_jobs()
    left = 1000
    adjust_store_credit(
        merchant=merchant,
        customer=ret.customer,
        amount=Money(left - ret.store_credit_total_minor, "SAR"),
        reason="spent at the checkout",
        actor="test",
    )

    record_receipt(
        merchant=merchant,
        number=ret.number,
        actor="staff:1",
        items=[ReceivedItem(line_ref="1", quantity=1)],
    )

    (stake,) = _entries(ret, "money_at_stake")
    assert stake.data["clawed_back_minor"] == left
    assert stake.data["not_recovered_minor"] == stake.data["amount_minor"] - left
    assert CreditAccount.objects.get().balance_minor == 0


def test_an_item_found_missing_then_rejected_is_held_and_clawed_back_once():
    merchant = _merchant("delivered")
    ret = _return(merchant, "store_credit")
    _deliver(ret)
    factories.run_jobs()
    record_receipt(
        merchant=merchant,
        number=ret.number,
        actor="staff:1",
        items=[ReceivedItem(line_ref="1", quantity=1)],
    )

    _inspect(ret, ("1", "accepted", ""), ("2", "rejected", "Never arrived"))
    factories.run_jobs()

    assert len(_entries(ret, "money_at_stake")) == 1
    assert LedgerTransaction.objects.filter(kind=TransactionKind.CLAWBACK).count() == 1
    assert Return.objects.get(pk=ret.pk).status == ReturnStatus.IN_REVIEW
    assert Event.objects.filter(name="ReturnInspected").count() == 1


def test_a_card_refund_sent_before_a_rejection_is_flagged_for_staff_not_reversed():
    merchant = _merchant("delivered")
    ret = _return(merchant, "refund")
    _deliver(ret)
    factories.run_jobs()
    factories.run_jobs()
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED
    record_receipt(merchant=merchant, number=ret.number, actor="staff:1")

    _inspect(ret, ("1", "accepted", ""), ("2", "rejected", "Stained"))
    factories.run_jobs()

    ret.refresh_from_db()
    assert ret.status == ReturnStatus.IN_REVIEW
    item = _items(ret)["2"]
    (stake,) = _entries(ret, "money_at_stake")
    assert stake.note == "Stained" and stake.data["why"] == "rejected"
    assert stake.data["card_refund_minor"] == stake.data["amount_minor"] == item.refund_minor
    assert stake.data["clawed_back_minor"] == 0
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED  # not reversed
    assert Payment.objects.get(order=ret.order).refunded_minor == ret.refund_total_minor
    assert Refund.objects.count() == 1  # the ReturnInspected job paid nothing more


def test_a_bank_transfer_queued_before_an_item_was_found_wrong_is_flagged():
    merchant = _merchant("delivered")
    ret = _return(merchant, "refund", payment_method="cash_on_delivery")
    _deliver(ret)
    factories.run_jobs()
    record_receipt(
        merchant=merchant,
        number=ret.number,
        actor="staff:1",
        items=[
            ReceivedItem(line_ref="1", quantity=1),
            ReceivedItem(line_ref="2", quantity=1, reception=Reception.WRONG_ITEM),
        ],
    )

    (stake,) = _entries(ret, "money_at_stake")
    assert stake.data["why"] == "wrong_item"
    assert stake.data["bank_transfer_minor"] == _items(ret)["2"].refund_minor > 0


def test_items_found_missing_before_a_late_money_job_get_no_money_and_no_review():
    merchant = _merchant("delivered")
    ret = _return(merchant, "refund")
    _deliver(ret)  # ParcelDelivered is written; the worker hasn't got to it yet
    record_receipt(
        merchant=merchant,
        number=ret.number,
        actor="staff:1",
        items=[ReceivedItem(line_ref="1", quantity=1)],
    )
    factories.run_jobs()

    items = _items(ret)
    assert Refund.objects.get().amount_minor == items["1"].refund_minor
    (note,) = _entries(ret, "item_not_refunded")
    assert note.data["why"] == "missing"
    assert not _entries(ret, "money_at_stake")
    assert Return.objects.get(pk=ret.pk).status == ReturnStatus.RECEIVED


def test_a_refund_the_gateway_refused_is_not_at_stake():
    merchant = _merchant("delivered")
    payments.connect_gateway(
        merchant=merchant, gateway="sandbox", name="Sandbox", settings={"refund_outcome": "fail"}
    )
    ret = _return(merchant, "refund")
    _deliver(ret)
    factories.run_jobs()
    factories.run_jobs()
    assert Refund.objects.get().status == RefundStatus.REVIEW
    assert not OrderLine.objects.filter(order=ret.order, refunded_minor__gt=0).exists()

    record_receipt(
        merchant=merchant,
        number=ret.number,
        actor="staff:1",
        items=[ReceivedItem(line_ref="1", quantity=1)],
    )

    assert not _entries(ret, "money_at_stake")
    # Nothing went out, so nothing is at stake; the refusal itself is for a person, though
    # (RefundNeedsReview flagged the return, and a flagged return is received into review).
    received = Return.objects.get(pk=ret.pk)
    assert (received.status, received.money_review_reason) == (
        ReturnStatus.IN_REVIEW, "refund_refused",
    )  # fmt: skip


def test_the_status_page_says_the_money_is_in_review() -> None:
    from awda.core import clock

    (line,) = story.for_return(
        [TimelineFact(clock.now(), "status_changed", ReturnStatus.IN_REVIEW)]
    )
    assert "checking what arrived" in line.text
