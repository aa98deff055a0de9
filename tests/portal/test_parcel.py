"""The way back on the shopper's status page: waiting for the label, the label download,
the paperless QR, the booked courier and the parcel's scans — for that shopper only."""

from __future__ import annotations

import pytest
from django.test import Client

from awda.returns.services import ItemRequest, request_return
from awda.shipping import services
from tests import factories

pytestmark = pytest.mark.django_db


def _shopper(merchant, order, lang="en") -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    response = client.post(
        f"/{lang}/r/{merchant.slug}/",
        {"order_number": order.number, "contact": order.customer.email},
        REMOTE_ADDR="10.0.0.9",
    )
    assert response.status_code == 302
    return client


def _setup(method="label", **kw):
    merchant = factories.merchant()
    services.connect_carrier(merchant=merchant, carrier="sandbox", name="Sandbox", settings={})
    order = factories.order(merchant, lines=[factories.line("1", quantity=2, price=20000)])
    ret = request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref="1", quantity=1, reason="size", sub_reason="too_small")],
        method=method,
        **kw,
    )
    return merchant, order, ret


def test_the_status_page_waits_for_the_label_and_asks_again_until_it_is_there() -> None:
    merchant, order, ret = _setup()
    client = _shopper(merchant, order)
    page = client.get(f"/en/r/{merchant.slug}/returns/{ret.number}/").content.decode()
    assert "Your label is being prepared" in page
    assert f'hx-get="/en/r/{merchant.slug}/returns/{ret.number}/parcel/"' in page

    shipment = services.issue_return_shipment(return_id=ret.pk)
    card = client.get(f"/en/r/{merchant.slug}/returns/{ret.number}/parcel/").content.decode()
    assert "hx-get" not in card  # it stops asking
    assert shipment.tracking_number in card
    assert f"/en/r/{merchant.slug}/returns/{ret.number}/label.pdf?size=a4" in card


def test_a_paperless_return_shows_its_qr_code_and_no_label_to_print() -> None:
    merchant, order, ret = _setup(method="qr_dropoff")
    services.issue_return_shipment(return_id=ret.pk)
    page = _shopper(merchant, order, "ar").get(f"/ar/r/{merchant.slug}/returns/{ret.number}/")
    html = page.content.decode()
    assert "<svg" in html and "label.pdf" not in html
    assert "أظهر هذا الرمز" in html


def test_the_booked_collection_window_is_shown_in_the_stores_time() -> None:
    merchant, order, ret = _setup(method="pickup", pickup={"date": "2026-12-07", "slot": "morning"})
    services.issue_return_shipment(return_id=ret.pk)
    services.schedule_requested_pickup(return_id=ret.pk)
    html = _shopper(merchant, order).get(f"/en/r/{merchant.slug}/returns/{ret.number}/")
    text = html.content.decode()
    assert "9:00\u202fam" in text or "9:00 am" in text
    assert "12:00\u202fpm" in text or "12:00 pm" in text


def test_the_parcels_scans_appear_in_the_shoppers_words() -> None:
    merchant, order, ret = _setup()
    shipment = services.issue_return_shipment(return_id=ret.pk)
    services.advance_sandbox_parcel(tracking_number=shipment.tracking_number, to="first_scan")
    html = _shopper(merchant, order).get(f"/en/r/{merchant.slug}/returns/{ret.number}/")
    text = html.content.decode()
    assert "Handed to the carrier" in text and "Riyadh" in text
    assert "Parcel tracking" in text


def test_another_shopper_gets_neither_the_card_nor_the_label() -> None:
    merchant, _order, ret = _setup()
    services.issue_return_shipment(return_id=ret.pk)
    stranger = Client(HTTP_HOST="127.0.0.1")
    card = stranger.get(f"/en/r/{merchant.slug}/returns/{ret.number}/parcel/")
    label = stranger.get(f"/en/r/{merchant.slug}/returns/{ret.number}/label.pdf")
    assert card.status_code == 403
    assert label.status_code == 302 and label["Location"] == f"/en/r/{merchant.slug}/"
