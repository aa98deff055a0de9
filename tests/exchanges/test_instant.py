"""Instant exchanges ship at approval, before the return arrives, when the policy allows it
and the customer passes the risk rule; a replacement whose items never come back (the
return expires, or the parcel arrives without them) is charged by payment link, or sent to
review where a link can't work (cash on delivery)."""

from __future__ import annotations

import pytest

from awda.exchanges import services as exchanges
from awda.exchanges.models import (
    Exchange,
    ExchangePayment,
    ExchangeStatus,
    Originals,
    PaymentPurpose,
    PaymentStatus,
    ReservationStatus,
    UnreturnedAction,
)
from awda.orders.models import Order, OrderKind, ReplacementStatus
from awda.payments.gateways import sandbox as sandbox_gateway
from awda.policies.document import PolicyInvalid, default_policy, parse_policy
from awda.policies.public import public_policy
from awda.returns.models import Return, TimelineEntry
from awda.returns.services import (
    ReceivedItem,
    cancel_return,
    expire_unshipped_returns,
    record_receipt,
)
from tests import factories
from tests.exchanges.helpers import deliver, exchange, shop, status_page, tee_order

pytestmark = pytest.mark.django_db

INSTANT = {"instant_exchange": True, "instant_exchange_max_minor": 30000}


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox_gateway.reset_sandbox()
    yield
    sandbox_gateway.reset_sandbox()


def _ex(ret: Return) -> Exchange:
    return Exchange.objects.get(return_id=ret.pk)


def _notes(ret: Return, kind: str) -> list[dict]:
    return list(
        TimelineEntry.objects.filter(return_request=ret, kind=kind).values_list("data", flat=True)
    )


def test_instant_exchange_is_off_by_default_and_needs_a_cap_on_the_replacements_value():
    assert default_policy().defaults.instant_exchange is False
    data = default_policy().to_data()
    data["defaults"]["instant_exchange"] = True

    with pytest.raises(PolicyInvalid) as caught:
        parse_policy(data)

    assert [e.field for e in caught.value.errors] == ["defaults.instant_exchange_max_minor"]
    data["defaults"]["instant_exchange_max_minor"] = 30000
    assert parse_policy(data).defaults.instant_exchange_max_minor == 30000


def test_the_policy_page_says_replacements_ship_before_the_return_arrives():
    data = default_policy().to_data()
    data["defaults"].update(INSTANT)

    page = public_policy(parse_policy(data), language="en")

    sentences = [p for section in page.sections for p in section.points]
    assert any("worth up to SAR300.00 ship as soon as" in p for p in sentences)


def test_an_instant_exchange_ships_at_approval_before_the_parcel_moves():
    merchant = shop(**INSTANT)  # refund timing: on delivery
    order = tee_order(merchant)
    ret = exchange(merchant, order, "TEE-L")

    factories.run_jobs()

    ex = _ex(ret)
    assert (ex.status, ex.instant, ex.originals) == (
        ExchangeStatus.ISSUED, True, Originals.AWAITING,
    )  # fmt: skip
    assert ex.replacement_order.replacement_status == ReplacementStatus.READY
    assert _notes(ret, "exchange_issued")[0]["instant"] is True
    # The parcel's delivery (the timing) and its receipt change nothing more.
    deliver(ret)
    record_receipt(merchant=merchant, number=ret.number, actor="staff:1")
    factories.run_jobs()
    ex.refresh_from_db()
    assert ex.originals == Originals.BACK and ex.unreturned_action == ""
    assert Order.objects.filter(kind=OrderKind.REPLACEMENT).count() == 1


def test_a_replacement_worth_more_than_the_cap_waits_for_the_return():
    merchant = shop(instant_exchange=True, instant_exchange_max_minor=15000)
    ret = exchange(merchant, tee_order(merchant), "TEE-L")  # SAR 200 > SAR 150

    factories.run_jobs()

    assert _ex(ret).status == ExchangeStatus.RESERVED and not _ex(ret).instant_allowed
    deliver(ret)
    assert _ex(ret).status == ExchangeStatus.ISSUED and not _ex(ret).instant


def test_a_customer_whose_earlier_return_arrived_missing_waits_for_the_parcel():
    merchant = shop(**INSTANT)
    earlier = exchange(merchant, tee_order(merchant), "TEE-L")
    factories.run_jobs()
    record_receipt(merchant=merchant, number=earlier.number, actor="staff:1", items=[])
    factories.run_jobs()  # the earlier return's item: missing

    ret = exchange(merchant, tee_order(merchant), "TEE-L")
    factories.run_jobs()

    assert _ex(ret).status == ExchangeStatus.RESERVED
    assert _notes(ret, "instant_exchange_declined") == [{"reason": "risk"}]


def test_only_one_instant_exchange_is_out_per_customer_until_its_items_come_back():
    merchant = shop(**INSTANT)
    first = exchange(merchant, tee_order(merchant), "TEE-L")
    factories.run_jobs()
    second = exchange(merchant, tee_order(merchant), "TEE-L")
    factories.run_jobs()

    assert _ex(first).instant and _ex(second).status == ExchangeStatus.RESERVED
    assert _notes(second, "instant_exchange_declined") == [{"reason": "open_instant"}]

    record_receipt(merchant=merchant, number=first.number, actor="staff:1")
    factories.run_jobs()
    third = exchange(merchant, tee_order(merchant), "TEE-L")
    factories.run_jobs()
    assert _ex(first).originals == Originals.BACK
    assert _ex(third).instant and _ex(third).status == ExchangeStatus.ISSUED


def _expire(ret: Return) -> None:
    Return.objects.filter(pk=ret.pk).update(expires_at=ret.requested_at)
    assert expire_unshipped_returns() == 1
    factories.run_jobs()


def test_an_instant_exchange_never_sent_back_is_charged_by_payment_link():
    merchant = shop(**INSTANT)
    order = tee_order(merchant)
    ret = exchange(merchant, order, "TEE-L")
    factories.run_jobs()

    _expire(ret)

    ex = _ex(ret)
    assert (ex.originals, ex.unreturned_action, ex.unreturned_minor) == (
        Originals.NOT_BACK, UnreturnedAction.CHARGE, 20000,
    )  # fmt: skip
    payment = ExchangePayment.objects.get(purpose=PaymentPurpose.UNRETURNED)
    assert (payment.status, payment.amount_minor) == (PaymentStatus.SENT, 20000)
    assert payment.idempotency_key == f"return-{ret.pk}-exchange-unreturned"
    (note,) = _notes(ret, "exchange_payment_link")
    assert (note["purpose"], note["amount_minor"], note["url"]) == (
        "unreturned", 20000, payment.url,
    )  # fmt: skip
    page = status_page(merchant, order, ret)
    assert "come back to the store, so they are charged: pay SAR\u00a0200.00" in page
    assert f'href="{payment.url}"' in page

    exchanges.mark_exchange_paid(merchant_id=merchant.pk, link_id=payment.link_id)
    factories.run_jobs()
    assert len(_notes(ret, "exchange_charged")) == 1
    assert f'href="{payment.url}"' not in status_page(merchant, order, ret)
    # Expiry runs again, the exchange is released again: nothing more is asked.
    exchanges.release_exchange(return_id=ret.pk)
    assert ExchangePayment.objects.count() == 1


def test_an_instant_exchange_of_a_cash_on_delivery_order_never_sent_back_goes_to_review():
    merchant = shop(**INSTANT)
    order = tee_order(merchant, payment_method="cash_on_delivery")
    ret = exchange(merchant, order, "TEE-L")
    factories.run_jobs()

    _expire(ret)

    ex = _ex(ret)
    assert (ex.originals, ex.unreturned_action) == (Originals.NOT_BACK, UnreturnedAction.REVIEW)
    assert not ExchangePayment.objects.exists()
    assert _notes(ret, "exchange_review") == [{"reason": "not_returned", "amount_minor": 20000,
                                               "currency": "SAR"}]  # fmt: skip
    assert "The store is checking your exchange" in status_page(merchant, order, ret)


def test_a_cancelled_return_whose_replacement_already_shipped_is_charged():
    merchant = shop(**INSTANT)
    ret = exchange(merchant, tee_order(merchant), "TEE-L")
    factories.run_jobs()

    cancel_return(merchant=merchant, number=ret.number, actor="shopper")
    factories.run_jobs()

    assert _ex(ret).unreturned_action == UnreturnedAction.CHARGE
    assert ExchangePayment.objects.get().purpose == PaymentPurpose.UNRETURNED


def test_units_missing_from_the_parcel_after_the_replacement_shipped_are_charged():
    merchant = shop(**{**INSTANT, "instant_exchange_max_minor": 50000})
    ret = exchange(merchant, tee_order(merchant, quantity=2), "TEE-L", quantity=2)
    factories.run_jobs()
    assert _ex(ret).status == ExchangeStatus.ISSUED

    record_receipt(
        merchant=merchant,
        number=ret.number,
        actor="staff:1",
        items=[ReceivedItem(line_ref="1", quantity=1)],
    )
    factories.run_jobs()

    ex = _ex(ret)
    assert (ex.unreturned_minor, ex.unreturned_action) == (20000, UnreturnedAction.CHARGE)
    assert ExchangePayment.objects.get().amount_minor == 20000  # one unit of two


def test_items_missing_before_the_exchange_shipped_stop_it_for_review():
    merchant = shop()  # no instant exchange: it waits for the delivery
    ret = exchange(merchant, tee_order(merchant), "TEE-L")
    factories.run_jobs()

    record_receipt(merchant=merchant, number=ret.number, actor="staff:1", items=[])
    factories.run_jobs()

    ex = _ex(ret)
    assert (ex.status, ex.originals) == (ExchangeStatus.REVIEW, Originals.NOT_BACK)
    assert not Order.objects.filter(kind=OrderKind.REPLACEMENT).exists()
    assert set(ex.reservations.values_list("status", flat=True)) == {ReservationStatus.RELEASED}
    assert [n["reason"] for n in _notes(ret, "exchange_review")] == ["originals_not_back"]
