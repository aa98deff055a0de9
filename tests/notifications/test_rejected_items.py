"""Rejected items: the shopper is told which and why, in their language, and the items go
back to them (a parcel) or stay with the store, as the policy says; once, however often the
worker replays the inspection."""

from __future__ import annotations

import pytest

from awda import tasks
from awda.core import outbox
from awda.core.models import Event, HandledEvent
from awda.payments.gateways import sandbox as sandbox_gateway
from awda.policies.document import PolicyInvalid, default_policy, parse_policy
from awda.policies.services import replace_policy
from awda.returns.models import Return, TimelineEntry
from awda.shipping.models import CarrierAccount, Shipment, ShipmentDirection
from awda.warehouse.services import ItemCheck, receive_and_inspect
from tests import factories
from tests.warehouse import helpers as h

pytestmark = pytest.mark.django_db

_NOTE = "Worn, with a stain on the collar"


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox_gateway.reset_sandbox()
    yield
    sandbox_gateway.reset_sandbox()


def _inspected(m, *, language="en") -> Return:
    """A two-item return: item 1 accepted, item 2 rejected with the warehouse's note."""
    ret = h.a_return(m, ("1", "2"))
    Return.objects.filter(pk=ret.pk).update(language=language)
    receive_and_inspect(
        merchant=m, code_or_number=ret.number, actor="s",
        items=[
            ItemCheck("1", condition="new", decision="accepted", disposition=""),
            ItemCheck("2", condition="used", decision="rejected", note=_NOTE, disposition=""),
        ],
    )  # fmt: skip
    return ret


def _rejection_mails(smtp) -> list:
    return [m for m in smtp.received if "not accepted" in m.subject or "لم نقبل" in m.subject]


def _keep_policy(m) -> None:
    data = default_policy(currency="SAR", country="SA").to_data()
    data["defaults"].update(return_shipping_paid_by="merchant")
    data["rejected_items"] = "keep"
    replace_policy(merchant=m, document=parse_policy(data))


def test_a_rejected_item_is_sent_back_to_the_shopper_who_is_told_why(smtp):
    m = h.merchant()
    ret = _inspected(m)
    inbound = h.tracking(ret)

    factories.run_jobs()

    back = Shipment.objects.get(return_request=ret, direction=ShipmentDirection.OUTBOUND)
    assert back.carrier == "sandbox" and back.tracking_number != inbound
    entry = TimelineEntry.objects.get(return_request=ret, kind="rejected_items_sent_back")
    assert entry.data["tracking_number"] == back.tracking_number
    assert entry.data["items"] == [{"line_ref": "2", "quantity": 1, "note": _NOTE}]
    [mail] = _rejection_mails(smtp)
    assert mail.rcpt_tos == ["shopper@example.com"]
    assert ret.number in mail.subject
    assert "Item 2" in mail.text and _NOTE in mail.text and "Item 1 " not in mail.text
    assert back.tracking_number in mail.text and "sending these items back" in mail.text


def test_the_rejection_mail_is_in_the_shoppers_language(smtp):
    m = h.merchant()
    _inspected(m, language="ar")

    factories.run_jobs()

    [mail] = _rejection_mails(smtp)
    assert mail.message["Content-Language"] == "ar"
    assert "منتج 2" in mail.text and _NOTE in mail.text
    assert "نعيد" in mail.text  # we are sending them back


def test_a_store_that_keeps_rejected_items_ships_nothing_and_says_so(smtp):
    m = h.merchant()
    _keep_policy(m)
    ret = _inspected(m)

    factories.run_jobs()

    assert not Shipment.objects.filter(direction=ShipmentDirection.OUTBOUND).exists()
    assert TimelineEntry.objects.filter(return_request=ret, kind="rejected_items_kept").exists()
    [mail] = _rejection_mails(smtp)
    assert _NOTE in mail.text and "not sent back" in mail.text


def test_without_a_carrier_the_send_back_waits_for_staff(smtp):
    m = h.merchant()
    ret = _inspected(m)
    CarrierAccount.objects.filter(merchant=m).update(active=False)

    factories.run_jobs()

    # The return's own parcel came with the sandbox account, now inactive: no other serves.
    assert not Shipment.objects.filter(direction=ShipmentDirection.OUTBOUND).exists()
    pending = TimelineEntry.objects.get(return_request=ret, kind="send_back_pending")
    assert pending.note == "no_carrier"
    assert len(_rejection_mails(smtp)) == 1


def test_replaying_the_inspection_sends_one_mail_and_one_parcel(smtp):
    m = h.merchant()
    ret = _inspected(m)
    factories.run_jobs()
    factories.run_jobs()

    # The worker replays the event from scratch (its markers lost, e.g. a restored backup).
    inspected = Event.objects.get(name="ReturnInspected")
    HandledEvent.objects.filter(event=inspected).delete()
    Event.objects.filter(pk=inspected.pk).update(dispatched_at=None)
    outbox.dispatch(str(inspected.pk), tasks.HANDLERS)
    factories.run_jobs()

    assert Shipment.objects.filter(return_request=ret, direction="outbound").count() == 1
    assert Event.objects.filter(name="RejectedItemsHandled").count() == 1
    assert (
        TimelineEntry.objects.filter(return_request=ret, kind__startswith="rejected_").count() == 1
    )
    assert len(_rejection_mails(smtp)) == 1


def test_an_inspection_without_rejected_items_acts_on_nothing(smtp):
    m = h.merchant()
    ret = h.a_return(m)
    receive_and_inspect(merchant=m, code_or_number=ret.number, actor="s")

    factories.run_jobs()

    assert not Event.objects.filter(name="RejectedItemsHandled").exists()
    assert not Shipment.objects.filter(direction=ShipmentDirection.OUTBOUND).exists()
    assert _rejection_mails(smtp) == []


def test_the_policy_sends_rejected_items_back_unless_told_otherwise():
    assert default_policy().rejected_items == "send_back"
    data = default_policy().to_data()
    data["rejected_items"] = "burn"
    with pytest.raises(PolicyInvalid) as raised:
        parse_policy(data)
    assert [e.field for e in raised.value.errors] == ["rejected_items"]
