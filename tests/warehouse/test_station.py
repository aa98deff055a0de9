"""The receiving station's services: a scan opens the return, one call receives, accepts
and restocks a single item, and a unit is restocked once whatever is repeated."""

from __future__ import annotations

import pytest

from awda.catalog.models import Location, StockMove
from awda.core.errors import Conflict, InvalidInput, NotFound
from awda.core.models import Event
from awda.payments.gateways import sandbox as sandbox_gateway
from awda.payments.models import Refund
from awda.returns.models import Return, ReturnStatus, TimelineEntry
from awda.shipping import services as shipping
from awda.shipping.models import Shipment
from awda.warehouse import selectors
from awda.warehouse.models import UnknownParcel, VendorBatch, VendorBatchItem
from awda.warehouse.services import (
    ItemCheck,
    close_vendor_batch,
    dispose,
    log_unknown_parcel,
    match_unknown_parcel,
    receive_and_inspect,
)
from tests import factories
from tests.warehouse import helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox_gateway.reset_sandbox()
    yield
    sandbox_gateway.reset_sandbox()


# -- scan ---------------------------------------------------------------------------------------


def test_a_scan_finds_the_return_by_tracking_number_number_or_qr_payload():
    m = h.merchant()
    ret = h.a_return(m)
    number = ret.number
    Shipment.objects.filter(return_request=ret).update(qr_payload="QR:ABC-123")

    for code in (
        h.tracking(ret),
        h.tracking(ret).lower(),
        number,
        number.lower(),
        number.replace("-", ""),
        f" {number[2:].lower()} ",  # typed without the R
        "QR:ABC-123",
        f"https://returns.example/r/{number}/",  # a return number inside a URL
    ):
        found = selectors.find_by_scan(merchant=m, code=code)
        assert found is not None and found.pk == ret.pk, code


def test_a_scan_never_finds_another_merchants_return_or_nonsense():
    m, other = h.merchant(), h.merchant()
    ret = h.a_return(m)
    for code in (h.tracking(ret), ret.number):
        assert selectors.find_by_scan(merchant=other, code=code) is None
    for code in ("", "   ", "SBX000", "R-2222-22", "x" * 600):
        assert selectors.find_by_scan(merchant=m, code=code) is None


def test_an_unknown_parcel_is_logged_and_matched_to_its_return_later():
    m = h.merchant()
    ret = h.a_return(m)
    Location.objects.create(merchant=m, code="east", name="East")

    parcel = log_unknown_parcel(
        merchant=m, actor="staff:1", code="", location="east", note="Blue bag, no label"
    )
    assert parcel.location.code == "east" and parcel.matched_return is None

    matched = match_unknown_parcel(merchant=m, parcel_id=parcel.pk, number=ret.number,
                                   actor="staff:2")  # fmt: skip
    again = match_unknown_parcel(merchant=m, parcel_id=parcel.pk, number=h.tracking(ret),
                                 actor="staff:2")  # fmt: skip

    assert matched.matched_return_id == ret.pk == again.matched_return_id
    assert (
        TimelineEntry.objects.filter(return_request=ret, kind="unknown_parcel_matched").count() == 1
    )
    other = h.a_return(m)
    with pytest.raises(Conflict):
        match_unknown_parcel(merchant=m, parcel_id=parcel.pk, number=other.number, actor="x")
    with pytest.raises(InvalidInput):
        log_unknown_parcel(merchant=m, actor="staff:1")
    assert UnknownParcel.objects.count() == 1


# -- the one-call path --------------------------------------------------------------------------


def test_one_call_receives_accepts_and_restocks_a_single_item_and_pays_once_inspected():
    m = h.merchant("inspected")
    ret = h.a_return(m, sku="TEE-M")

    result = receive_and_inspect(merchant=m, code_or_number=h.tracking(ret), actor="staff:1")
    factories.run_jobs()

    item = h.item(ret)
    assert (item.reception, item.received_quantity) == ("received", 1)
    assert (item.condition, item.decision, item.disposition) == ("new", "accepted", "restock")
    assert result.ret.status == ReturnStatus.RECEIVED
    assert [d.disposition for d in result.disposals] == ["restock"]
    assert h.on_hand("TEE-M") == 1
    (move,) = h.moves("TEE-M")
    assert (move.reason, move.reference) == ("restock", f"{ret.number}/1")
    assert Refund.objects.get().amount_minor == item.refund_minor
    assert Event.objects.filter(name="ReturnInspected").count() == 1

    # The station's double click, then the whole call replayed: nothing more happens.
    again = receive_and_inspect(merchant=m, code_or_number=ret.number, actor="staff:1")
    dispose(merchant=m, number=ret.number, line_ref="1", disposition="restock", actor="staff:1")
    factories.run_jobs()

    assert [d.recorded for d in again.disposals] == [False]
    assert h.on_hand("TEE-M") == 1 and len(h.moves("TEE-M")) == 1
    assert Refund.objects.count() == 1
    assert Event.objects.filter(name="ReturnInspected").count() == 1


def test_one_call_on_a_multi_item_return_receives_everything_and_leaves_the_decisions():
    m = h.merchant()
    ret = h.a_return(m, ("1", "2"))

    result = receive_and_inspect(merchant=m, code_or_number=ret.number, actor="staff:1")

    assert result.ret.status == ReturnStatus.RECEIVED and not result.disposals
    for ref in ("1", "2"):
        item = h.item(ret, ref)
        assert (item.reception, item.decision, item.disposition) == ("received", "pending", "")
    assert not StockMove.objects.filter(reason="restock").exists()


def test_restocking_goes_to_the_location_asked_for():
    m = h.merchant()
    ret = h.a_return(m, sku="TEE-M")
    Location.objects.create(merchant=m, code="east", name="East")

    receive_and_inspect(merchant=m, code_or_number=ret.number, actor="s", location="east")

    assert h.on_hand("TEE-M", "east") == 1 and h.on_hand("TEE-M", "main") == 0
    with pytest.raises(NotFound) as exc:
        receive_and_inspect(merchant=m, code_or_number=h.a_return(m).number, actor="s",
                            location="nowhere")  # fmt: skip
    assert exc.value.field == "location"


def test_an_unknown_code_is_not_found_on_the_code_field():
    m = h.merchant()
    with pytest.raises(NotFound) as exc:
        receive_and_inspect(merchant=m, code_or_number="SBX404", actor="s")
    assert exc.value.field == "code"


# -- the per-item path --------------------------------------------------------------------------


def test_a_missing_and_a_rejected_item_are_not_restocked():
    m = h.merchant("inspected")
    ret = h.a_return(m, ("1", "2", "3"))

    result = receive_and_inspect(
        merchant=m,
        code_or_number=ret.number,
        actor="staff:1",
        items=[
            ItemCheck("1", condition="opened", decision="accepted"),
            ItemCheck("2", reception="missing", decision="rejected", note="Not in the box"),
            ItemCheck("3", condition="used", decision="rejected", note="Worn"),
        ],
    )
    factories.run_jobs()

    assert [(d.line_ref, d.disposition) for d in result.disposals] == [("1", "restock")]
    assert [h.item(ret, r).disposition for r in ("1", "2", "3")] == ["restock", "", ""]
    assert h.on_hand("SKU-1") == 1 and h.on_hand("SKU-2") == h.on_hand("SKU-3") == 0
    assert Refund.objects.get().amount_minor == h.item(ret, "1").refund_minor


def test_money_sent_before_a_missing_item_puts_the_return_in_review():
    m = h.merchant("first_scan")
    ret = h.a_return(m, ("1", "2"))
    shipping.advance_sandbox_parcel(tracking_number=h.tracking(ret), to="in_transit")
    factories.run_jobs()
    assert Refund.objects.exists()  # paid at the first scan

    receive_and_inspect(
        merchant=m,
        code_or_number=h.tracking(ret),
        actor="staff:1",
        items=[
            ItemCheck("1", condition="new", decision="accepted"),
            ItemCheck("2", reception="missing", decision="rejected"),
        ],
    )

    assert Return.objects.get(pk=ret.pk).status == ReturnStatus.IN_REVIEW
    assert h.item(ret, "2").at_stake_minor > 0
    assert h.on_hand("SKU-1") == 1 and h.on_hand("SKU-2") == 0


def test_a_second_parcel_brings_the_rest_of_a_partial_receipt():
    m = h.merchant()
    ret = h.a_return(m, ("1", "2"))

    receive_and_inspect(
        merchant=m, code_or_number=ret.number, actor="s",
        items=[ItemCheck("1", condition="new", decision="accepted")],
    )  # fmt: skip
    assert h.item(ret, "2").reception == "awaiting"  # not missing: another parcel may come
    assert Return.objects.get(pk=ret.pk).status == ReturnStatus.RECEIVED

    receive_and_inspect(
        merchant=m, code_or_number=ret.number, actor="s",
        items=[ItemCheck("2", condition="opened", decision="accepted")],
    )  # fmt: skip

    assert (h.item(ret, "2").reception, h.item(ret, "2").decision) == ("received", "accepted")
    assert h.on_hand("SKU-1") == h.on_hand("SKU-2") == 1
    assert TimelineEntry.objects.filter(return_request=ret, kind="item_received").count() == 1


def test_units_received_so_far_are_a_total_so_a_repeat_adds_nothing():
    m = h.merchant()
    ret = h.a_return(m, quantity=3)

    receive_and_inspect(merchant=m, code_or_number=ret.number, actor="s",
                        items=[ItemCheck("1", received_quantity=1)])  # fmt: skip
    for _ in range(2):
        receive_and_inspect(merchant=m, code_or_number=ret.number, actor="s",
                            items=[ItemCheck("1", received_quantity=3)])  # fmt: skip

    assert h.item(ret).received_quantity == 3
    with pytest.raises(InvalidInput) as exc:
        receive_and_inspect(merchant=m, code_or_number=ret.number, actor="s",
                            items=[ItemCheck("1", received_quantity=2)])  # fmt: skip
    assert exc.value.field == "items.0.quantity"


# -- dispositions -------------------------------------------------------------------------------


def _accepted(m, condition="opened", **line):
    ret = h.a_return(m, **line)
    receive_and_inspect(
        merchant=m, code_or_number=ret.number, actor="s",
        items=[ItemCheck("1", condition=condition, decision="accepted", disposition="")],
    )  # fmt: skip
    return ret


@pytest.mark.parametrize(
    "disposition", ["refurbish", "recycle", "donate", "liquidate", "destroy", "kept_by_customer"]
)
def test_other_dispositions_are_recorded_on_the_item_without_moving_stock(disposition):
    m = h.merchant()
    ret = _accepted(m)

    result = dispose(merchant=m, number=ret.number, line_ref="1", disposition=disposition,
                     actor="s")  # fmt: skip

    assert result.recorded and result.move is None
    assert h.item(ret).disposition == disposition
    assert not StockMove.objects.exists()
    entry = TimelineEntry.objects.get(return_request=ret, kind="item_disposed")
    assert entry.data["disposition"] == disposition


def test_a_second_different_disposition_is_refused():
    m = h.merchant()
    ret = _accepted(m)
    dispose(merchant=m, number=ret.number, line_ref="1", disposition="restock", actor="s")
    with pytest.raises(Conflict) as exc:
        dispose(merchant=m, number=ret.number, line_ref="1", disposition="destroy", actor="s")
    assert exc.value.details["disposition"] == "restock"
    assert h.on_hand("SKU-1") == 1


def test_a_rejected_or_undecided_item_is_not_restocked():
    m = h.merchant()
    ret = h.a_return(m, ("1", "2"))
    receive_and_inspect(
        merchant=m, code_or_number=ret.number, actor="s",
        items=[ItemCheck("1", condition="used", decision="rejected"), ItemCheck("2")],
    )  # fmt: skip
    for ref in ("1", "2"):
        with pytest.raises(InvalidInput) as exc:
            dispose(merchant=m, number=ret.number, line_ref=ref, disposition="restock", actor="s")
        assert exc.value.field == "disposition"
    assert not StockMove.objects.exists()
    with pytest.raises(NotFound):
        dispose(merchant=m, number=ret.number, line_ref="9", disposition="restock", actor="s")
    with pytest.raises(InvalidInput):
        dispose(merchant=m, number=ret.number, line_ref="1", disposition="burn", actor="s")


def test_items_for_their_supplier_go_into_one_open_batch_per_supplier():
    m = h.merchant()
    first = _accepted(m, condition="defective")
    second = _accepted(m, condition="defective")

    a = dispose(merchant=m, number=first.number, line_ref="1", disposition="return_to_vendor",
                actor="s")  # fmt: skip
    b = dispose(merchant=m, number=second.number, line_ref="1", disposition="return_to_vendor",
                actor="s")  # fmt: skip
    dispose(merchant=m, number=first.number, line_ref="1", disposition="return_to_vendor",
            actor="s")  # fmt: skip

    assert a.batch is not None and a.batch.pk == b.batch.pk
    assert a.batch.supplier.code == "acme"
    assert VendorBatchItem.objects.filter(batch=a.batch).count() == 2
    closed = close_vendor_batch(merchant=m, batch_id=a.batch.pk, actor="s")
    assert closed.status == "closed"
    third = _accepted(m, condition="defective")
    c = dispose(merchant=m, number=third.number, line_ref="1", disposition="return_to_vendor",
                actor="s")  # fmt: skip
    assert c.batch.pk != a.batch.pk and VendorBatch.objects.count() == 2
    assert not StockMove.objects.exists()


def test_the_station_view_suggests_each_items_disposition():
    m = h.merchant()
    ret = h.a_return(m, ("1", "2"))
    receive_and_inspect(
        merchant=m, code_or_number=ret.number, actor="s",
        items=[
            ItemCheck("1", condition="damaged", decision="accepted", disposition=""),
            ItemCheck("2", condition="used", decision="rejected"),
        ],
    )  # fmt: skip

    view = selectors.station_view(merchant=m, number=ret.number)

    assert [(i.line_ref, i.suggested_disposition) for i in view.items] == [
        ("1", "liquidate"),
        ("2", None),
    ]
