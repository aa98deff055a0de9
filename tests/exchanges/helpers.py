"""Shared set-up for the exchange tests: a store with a sandbox gateway and carrier, an order
of a T-shirt in size M, and the other sizes on the warehouse's shelf."""

from __future__ import annotations

from typing import Any

from django.test import Client

from awda.catalog.services import set_stock_levels
from awda.merchants.models import Merchant
from awda.orders.models import Order
from awda.payments import services as payments
from awda.policies.document import PolicyDocument, default_policy, parse_policy
from awda.returns.models import Return
from awda.returns.services import ItemRequest, request_return
from awda.shipping import services as shipping
from tests import factories

OLD_PRICE = 20000  # SAR 200.00, tax included
SIZES = {"TEE-M": OLD_PRICE, "TEE-L": OLD_PRICE, "TEE-XL": 26000, "TEE-S": 15000}


def policy(**defaults: Any) -> PolicyDocument:
    """The default policy with some default outcome fields changed."""
    data = default_policy().to_data()
    data["defaults"].update(defaults)
    return parse_policy(data)


def shop(**defaults: Any) -> Merchant:
    merchant = factories.merchant(policy=policy(**defaults))
    shipping.connect_carrier(merchant=merchant, carrier="sandbox", name="Sandbox", settings={})
    payments.connect_gateway(
        merchant=merchant, gateway="sandbox", name="Sandbox", settings={"webhook_secret": "s3"}
    )
    return merchant


def tee_order(
    merchant: Merchant,
    *,
    stock: int | dict[str, int] = 5,
    payment_method: str = "card",
    quantity: int = 1,
    email: str = "shopper@example.com",
) -> Order:
    """An order of ``quantity`` TEE-M; the catalog knows every size (bought by others)."""
    lines = [factories.line("1", sku="TEE-M", product="TEE", price=OLD_PRICE, quantity=quantity)]
    if not Order.objects.filter(merchant=merchant, lines__sku="TEE-XL").exists():
        # The other sizes enter the catalog through an earlier order of someone else.
        factories.order(
            merchant,
            email="someone@example.com",
            lines=[
                factories.line(str(n), sku=sku, product="TEE", price=price)
                for n, (sku, price) in enumerate(SIZES.items(), start=1)
            ],
        )
    order = factories.order(merchant, lines=lines, payment_method=payment_method, email=email)
    levels = stock if isinstance(stock, dict) else dict.fromkeys(SIZES, stock)
    set_stock_levels(merchant=merchant, levels=levels)
    return order


def exchange(
    merchant: Merchant,
    order: Order,
    sku: str = "TEE-L",
    *,
    quantity: int = 1,
    method: str = "label",
    payout_iban: str = "",
) -> Return:
    return request_return(
        merchant=merchant,
        order_number=order.number,
        items=[
            ItemRequest(
                line_ref="1",
                quantity=quantity,
                reason="size",
                sub_reason="too_small",
                resolution="exchange",
                exchange_sku=sku,
            )
        ],
        method=method,
        payout_iban=payout_iban,
        payout_name="Noura" if payout_iban else "",
    )


def deliver(ret: Return, to: str = "delivered") -> None:
    """The carrier scans the return's parcel (its label was issued by the jobs)."""
    tracking = ret.shipments.get().tracking_number
    shipping.advance_sandbox_parcel(tracking_number=tracking, to=to)
    factories.run_jobs()


def status_page(merchant: Merchant, order: Order, ret: Return, lang: str = "en") -> str:
    client = Client(HTTP_HOST="127.0.0.1")
    client.post(
        f"/{lang}/r/{merchant.slug}/",
        {"order_number": order.number, "contact": "shopper@example.com"},
        REMOTE_ADDR="10.0.0.9",
    )
    response = client.get(f"/{lang}/r/{merchant.slug}/returns/{ret.number}/")
    assert response.status_code == 200
    return response.content.decode()
