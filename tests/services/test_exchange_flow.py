"""End to end: a shopper who paid cash on delivery exchanges a T-shirt for a dearer size
through the portal, in Arabic and in English; the parcel is delivered, the replacement
order is made with the difference to collect in cash, and the status page and the API
say so."""

from __future__ import annotations

import pytest
from django.test import Client

from awda.catalog.models import Stock
from awda.exchanges.models import Exchange, ExchangeStatus
from awda.orders.models import Order, OrderKind, PaymentMethod, ReplacementStatus
from awda.policies.document import default_policy, parse_policy
from awda.policies.services import replace_policy
from awda.returns.models import Return
from awda.shipping import services as shipping
from tests import factories
from tests.exchanges.helpers import shop, tee_order

pytestmark = pytest.mark.django_db

COD_PAYS_ON_DELIVERY = {
    "id": "cod-exchanges",
    "name": "Cash-on-delivery orders pay a dearer exchange on delivery",
    "name_ar": "طلبات الدفع عند الاستلام تدفع فرق الاستبدال عند التوصيل",
    "when": {"payment_methods": ["cash_on_delivery"]},
    "then": {"exchange_price_higher": "collect_on_delivery"},
}


def _shop():
    merchant = shop()
    data = default_policy().to_data()
    data["rules"] = [*data.get("rules", []), COD_PAYS_ON_DELIVERY]
    replace_policy(merchant=merchant, document=parse_policy(data))
    return merchant


def _walk(client: Client, merchant, order, lang: str) -> str:
    """Find the order, choose the item, an exchange for size XL, a label; confirm."""
    store = f"/{lang}/r/{merchant.slug}"
    found = client.post(
        f"{store}/",
        {"order_number": order.number, "contact": "shopper@example.com"},
        REMOTE_ADDR="10.0.0.3",
    )
    assert found.status_code == 302
    base = f"{store}/orders/{order.number}"
    chosen = client.post(f"{base}/", {"sel-1": "on", "qty-1": "1", "reason-1": "too_small"})
    assert chosen.status_code == 302
    choice = client.get(f"{base}/resolution/").content.decode()
    assert 'value="TEE-XL"' in choice  # in stock, so offered
    exchanged = client.post(
        f"{base}/resolution/", {"resolution": "exchange", "exchange-1": "TEE-XL"}
    )
    assert exchanged.status_code == 302
    assert client.post(f"{base}/method/", {"method": "label"}).status_code == 302
    done = client.post(f"{base}/review/")
    assert done.status_code == 302, done.content.decode()[:2000]
    return done["Location"]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_an_exchange_for_a_dearer_size_is_paid_in_cash_when_the_replacement_arrives(db, lang):
    merchant = _shop()
    client_api = factories.ApiClient(factories.api_key(merchant))
    order = tee_order(merchant, payment_method=PaymentMethod.CASH_ON_DELIVERY, stock=2)
    shopper = Client(HTTP_HOST="127.0.0.1")

    status_url = _walk(shopper, merchant, order, lang)

    ret = Return.objects.get(order=order)
    assert Stock.objects.get(variant__sku="TEE-XL").reserved == 1
    factories.run_jobs()  # the label
    assert Exchange.objects.get(return_id=ret.pk).status == ExchangeStatus.RESERVED
    tracking = ret.shipments.get().tracking_number
    shipping.advance_sandbox_parcel(tracking_number=tracking, to="first_scan")
    shipping.advance_sandbox_parcel(tracking_number=tracking, to="delivered")
    factories.run_jobs()

    replacement = Order.objects.get(kind=OrderKind.REPLACEMENT, replaces=order)
    assert replacement.payment_method == PaymentMethod.CASH_ON_DELIVERY
    assert replacement.replacement_status == ReplacementStatus.READY
    assert (replacement.total_minor, replacement.collect_on_delivery_minor) == (26000, 6000)
    stock = Stock.objects.get(variant__sku="TEE-XL")
    assert (stock.on_hand, stock.reserved) == (1, 0)

    page = shopper.get(status_url).content.decode()
    assert replacement.number in page
    if lang == "en":
        assert (
            f"Your replacement (order {replacement.number}) is on its way. The difference of "
            "SAR\u00a060.00 will be collected in cash on delivery."
        ) in page
    else:
        assert 'dir="rtl"' in page and "60.00" in page

    body = client_api.get(f"/returns/{ret.number}").json()
    assert body["exchange"] == {
        **body["exchange"],
        "status": "issued",
        "difference_minor": 6000,
        "difference_handling": "collect_on_delivery",
        "replacement_order_number": replacement.number,
        "replacement_status": "ready",
        "collect_on_delivery_minor": 6000,
        "items": [{"sku": "TEE-XL", "quantity": 1, "unit_price_minor": 26000}],
        "payment_links": [],
    }


def test_a_return_without_an_exchange_shows_none_in_the_api(merchant, api):
    order = factories.order(merchant)
    created = api.post(
        "/returns",
        {
            "order_number": order.number,
            "items": [{"line_ref": "1", "quantity": 1, "reason": "too_small"}],
            "method": "label",
        },
    )
    assert created.status_code == 201 and created.json()["exchange"] is None


def test_asking_for_an_exchange_out_of_stock_through_the_api_names_the_field(merchant, api):
    order = factories.order(
        merchant,
        lines=[factories.line("1", sku="TEE-M", product="TEE"), factories.line("2", sku="TEE-L")],
    )
    response = api.post(
        "/returns",
        {
            "order_number": order.number,
            "items": [
                {
                    "line_ref": "1",
                    "quantity": 1,
                    "reason": "too_small",
                    "resolution": "exchange",
                    "exchange_sku": "TEE-L",
                }
            ],
            "method": "label",
        },
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["field"]) == ("out_of_stock", "items.0.exchange_sku")
    assert body["details"] == {"sku": "TEE-L", "available": 0}
