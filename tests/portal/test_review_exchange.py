"""The review page of an exchange says what happens to the price difference (pay by link,
refunded, credited, none), and the confirmed exchange stores the amount the page showed."""

from __future__ import annotations

import pytest
from django.test import Client

from awda.exchanges.models import Exchange
from awda.returns.models import Return
from tests.exchanges.helpers import shop, tee_order

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "sku,pay,defaults,expected,diff",
    [
        ("TEE-XL", "card", {}, "SAR\u00a060.00</bdi> to pay by a link we send you", 6000),
        ("TEE-S", "card", {}, "SAR\u00a050.00</bdi> refunded to you", -5000),
        (
            "TEE-S",
            "card",
            {"exchange_price_lower": "credit_difference"},
            "SAR\u00a050.00</bdi> added to your store credit",
            -5000,
        ),
        ("TEE-S", "cash_on_delivery", {}, "SAR\u00a050.00</bdi> added to your store credit", -5000),
        ("TEE-L", "card", {}, "None: the replacement costs what you paid", 0),
    ],
)
def test_the_review_says_what_happens_to_the_difference_and_the_exchange_keeps_it(
    sku, pay, defaults, expected, diff
):
    merchant = shop(**defaults)
    order = tee_order(merchant, payment_method=pay)
    c = Client(HTTP_HOST="127.0.0.1")
    store = f"/en/r/{merchant.slug}"
    assert (
        c.post(
            f"{store}/",
            {"order_number": order.number, "contact": "shopper@example.com"},
            REMOTE_ADDR="10.0.0.9",
        ).status_code
        == 302
    )
    base = f"{store}/orders/{order.number}"
    assert (
        c.post(f"{base}/", {"sel-1": "on", "qty-1": "1", "reason-1": "too_small"}).status_code
        == 302
    )
    assert (
        c.post(f"{base}/resolution/", {"resolution": "exchange", "exchange-1": sku}).status_code
        == 302
    )
    assert c.post(f"{base}/method/", {"method": "label"}).status_code == 302
    page = c.get(f"{base}/review/").content.decode()
    assert expected in page
    assert c.post(f"{base}/review/").status_code == 302
    ex = Exchange.objects.get(return_id=Return.objects.get(order=order).pk)
    assert ex.difference_minor == diff
