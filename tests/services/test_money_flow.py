"""The money follows the parcel: at the fact the policy's refund timing waits for, the card
refund is sent (once) and store credit is granted with its bonus; the shopper's status page
says so in plain words."""

from __future__ import annotations

import pytest
from django.test import Client

from awda.payments import services as payments
from awda.payments.gateways import sandbox as sandbox_gateway
from awda.payments.models import Refund, RefundStatus
from awda.returns.models import TimelineEntry
from awda.returns.services import ItemRequest, request_return
from awda.shipping import services as shipping
from awda.shipping.models import CarrierAccount
from awda.wallet.models import CreditAccount
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox_gateway.reset_sandbox()
    yield
    sandbox_gateway.reset_sandbox()


def _return(merchant, resolution):
    if not CarrierAccount.objects.filter(merchant=merchant).exists():
        shipping.connect_carrier(merchant=merchant, carrier="sandbox", name="Sandbox", settings={})
        payments.connect_gateway(merchant=merchant, gateway="sandbox", name="Sandbox", settings={})
    order = factories.order(merchant, lines=[factories.line("1", quantity=1, price=20000)])
    ret = request_return(
        merchant=merchant,
        order_number=order.number,
        items=[
            ItemRequest(
                line_ref="1", quantity=1, reason="size", sub_reason="too_small",
                resolution=resolution,
            )
        ],
        method="label",
    )  # fmt: skip
    factories.run_jobs()  # label issued; the default timing ("delivered") holds the money back
    assert not Refund.objects.filter(reference=ret.number).exists()
    return order, ret


def test_the_card_refund_is_sent_once_when_the_parcel_is_delivered(merchant):
    order, ret = _return(merchant, "refund")
    tracking = ret.shipments.get().tracking_number

    shipping.advance_sandbox_parcel(tracking_number=tracking, to="first_scan")
    factories.run_jobs()
    assert not Refund.objects.exists()  # first scan: not yet, the policy says delivery
    shipping.advance_sandbox_parcel(tracking_number=tracking, to="delivered")
    factories.run_jobs()
    factories.run_jobs()

    refund = Refund.objects.get()
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.amount_minor == ret.refund_total_minor and len(sandbox_gateway._refunds) == 1
    assert TimelineEntry.objects.filter(return_request=ret, kind="refund_issued").count() == 1
    client = Client(HTTP_HOST="127.0.0.1")
    client.post(
        f"/en/r/{merchant.slug}/",
        {"order_number": order.number, "contact": "shopper@example.com"},
        REMOTE_ADDR="10.0.0.7",
    )
    page = client.get(f"/en/r/{merchant.slug}/returns/{ret.number}/").content.decode()
    assert "Your refund of" in page and "was issued" in page


def test_store_credit_is_granted_once_with_its_bonus(merchant):
    _order, ret = _return(merchant, "store_credit")
    tracking = ret.shipments.get().tracking_number

    shipping.advance_sandbox_parcel(tracking_number=tracking, to="delivered")
    factories.run_jobs()
    from awda.returns.services import issue_resolutions

    issue_resolutions(return_id=ret.pk, trigger="ParcelDelivered")  # a replayed job

    account = CreditAccount.objects.get()
    assert account.balance_minor == ret.store_credit_total_minor > ret.refund_total_minor
    assert TimelineEntry.objects.filter(return_request=ret, kind="store_credit_issued").count() == 1
