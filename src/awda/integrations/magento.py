"""Magento 2 REST API (``<store>/rest/V1``), as the OCA connector's recorded calls speak it.

Auth: an integration's access token as ``Authorization: Bearer`` (Magento 2.4.4+ accepts it
only with *Stores › Configuration › Services › OAuth › Allow OAuth Access Tokens to be used
as standalone Bearer tokens* on). Magento has no webhooks of its own: orders come in by the
backfill (``GET /V1/orders?searchCriteria…``, which lists whole orders). A store that wants
them sooner can post each order, as ``GET /V1/orders/{id}`` returns it, from its own module
(an observer on ``sales_order_save_after``) to the connection's webhook address, signed by
Awda's convention: ``X-Awda-Hmac-Sha256`` = base64 HMAC-SHA256 of the raw body with the
connection's webhook secret (the scheme Shopify and WooCommerce use). Unsigned or wrongly
signed posts are refused like any other store's. The event id is the order's
``entity_id@updated_at``.

Quirks: a configurable product is two lines, the parent (``configurable``, which carries
the price, discount and tax) and its child (``simple``, the SKU actually sold, whose price
is often 0): Awda imports one line with the child's SKU and product and the parent's money,
under the parent's item id (the one a credit memo names). Cancelled quantities
(``qty_canceled``, on the parent for configurables) are not returnable and not imported;
an order edited in the admin is a new order (``000000013-1``) whose original is cancelled.
The order's ``discount_amount`` is negative, the items' positive. Times are UTC.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from urllib.parse import quote

import httpx

from awda.integrations.base import (
    Delivery,
    Issue,
    MalformedWebhook,
    MappedOrder,
    NotePush,
    RefundPush,
    ReplacementPush,
    RestockPush,
    StoreHttp,
    VariantRef,
    WebhookRejected,
    decimal_of,
    format_minor,
    parse_time,
    read_json,
    sign_base64_hmac,
    text,
    to_minor,
    unknown_currency,
    whole_quantity,
)
from awda.orders.models import PaymentMethod
from awda.orders.services import CustomerData, LineData, LineProductData, OrderData, PaymentData

SIGNATURE_HEADER = "x-awda-hmac-sha256"
PAGE_SIZE = 50
METHODS = {
    "checkmo": PaymentMethod.BANK_TRANSFER,
    "banktransfer": PaymentMethod.BANK_TRANSFER,
    "cashondelivery": PaymentMethod.CASH_ON_DELIVERY,
}

sign = sign_base64_hmac


def _order(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict) or "entity_id" not in payload:
        raise MalformedWebhook("not a Magento order (no entity_id)")
    return payload


def _share(minor: int, part: int, whole: int) -> int:
    """``minor`` × part ÷ whole, rounded half-even (a discount or tax for the units kept)."""
    if whole <= 0 or part == whole:
        return minor
    return int((Decimal(minor) * part / whole).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


class MagentoConnector(StoreHttp):
    platform = "magento"

    def __init__(
        self,
        *,
        base_url: str,
        settings: Mapping[str, str],
        webhook_secret: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.webhook_secret = webhook_secret
        store = settings.get("store_code", "").strip("/")
        root = base_url.rstrip("/").removesuffix("/V1").removesuffix("/rest")
        self._base_url = f"{root}/rest/{store}/V1" if store else f"{root}/rest/V1"
        self._token = settings.get("access_token", "")
        self._transport = transport

    def _http_options(self) -> dict[str, Any]:
        return {
            "base_url": self._base_url,
            "carrier": "Magento",
            "headers": {"Authorization": f"Bearer {self._token}", "Accept": "application/json"},
        }

    # -- inbound ----------------------------------------------------------------------------

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]
    ) -> Delivery:
        given = headers.get(SIGNATURE_HEADER, "")
        if not given:
            raise WebhookRejected(
                f"no {SIGNATURE_HEADER} header (Magento sends no webhooks of its own: a "
                "store's module must sign what it posts)"
            )
        if not self.webhook_secret or not hmac.compare_digest(
            given.encode(), sign(body, self.webhook_secret).encode()
        ):
            raise WebhookRejected("the signature does not match the body")
        order = _order(read_json(body))
        stamp = text(order.get("updated_at"), 40) or text(order.get("created_at"), 40)
        return Delivery(f"{order['entity_id']}@{stamp}", "order", order)

    def map_order(self, payload: Any) -> MappedOrder:
        order = _order(payload)
        external_id = text(order["entity_id"], 80)
        currency = text(order.get("order_currency_code"), 3).upper()
        refused = unknown_currency(external_id, currency, "order_currency_code")
        if refused is not None:
            return refused
        issues: list[Issue] = []

        def minor(value: Any) -> int:
            return to_minor(value, currency)

        items = [i for i in order.get("items") or [] if isinstance(i, dict)]
        children: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            if item.get("parent_item_id"):
                children.setdefault(text(item["parent_item_id"]), []).append(item)
        lines: list[LineData] = []
        variants: list[VariantRef] = []
        parts = 0
        item_discounts = 0
        for i, item in enumerate(items):
            if item.get("parent_item_id"):
                continue  # imported with its parent
            where = f"items.{i}"
            found = children.get(text(item.get("item_id")))
            child = found[0] if found else None
            sold = (
                child if child is not None and item.get("product_type") == "configurable" else item
            )
            ordered, fraction = whole_quantity(item.get("qty_ordered"))
            cancelled = max(
                int(decimal_of(item.get("qty_canceled")) or 0),
                int(decimal_of((child or {}).get("qty_canceled")) or 0),
            )
            unit = minor(item.get("price"))
            if unit == 0 and sold is not item:
                unit = minor(sold.get("price"))
            discount_sent = minor(item.get("discount_amount"))
            tax_sent = minor(item.get("tax_amount"))
            item_discounts += discount_sent
            if fraction is not None:
                issues.append(
                    Issue(
                        "fractional_quantity",
                        f"{where}.qty_ordered",
                        "a whole number",
                        str(fraction),
                    )
                )
                unit = minor(item.get("row_total")) + discount_sent
            kept = ordered - cancelled if fraction is None else (0 if cancelled else 1)
            if cancelled:
                issues.append(
                    Issue(
                        "cancelled_quantity",
                        f"{where}.qty_canceled",
                        text(item.get("qty_ordered")),
                        str(cancelled),
                        detail="cancelled units are not returnable",
                    )
                )
            if kept < 1:
                continue
            discount = min(_share(discount_sent, kept, ordered), unit * kept)
            tax = _share(tax_sent, kept, ordered)
            name = text(sold.get("name")) or text(item.get("name")) or text(sold.get("sku"))
            sku = text(sold.get("sku"), 80)
            product_ref = text(sold.get("product_id"), 80)
            lines.append(
                LineData(
                    line_ref=text(item.get("item_id"), 80),
                    title_en=name or "item",
                    quantity=kept,
                    unit_price_minor=unit,
                    sku=sku,
                    discount_minor=discount,
                    tax_rate=(decimal_of(item.get("tax_percent")) or Decimal(0)) / 100,
                    tax_minor=tax,
                    product=LineProductData(external_id=f"magento:{product_ref}")
                    if sku and product_ref
                    else None,
                )
            )
            if sku and product_ref:
                variants.append(VariantRef(sku, product_ref))
            parts += unit * kept - discount + tax
        if not lines:
            state = text(order.get("state"), 20)
            issues.append(
                Issue(
                    "no_lines",
                    "items",
                    detail="every line is cancelled" if state == "canceled" else "no line",
                )
            )
            return MappedOrder(external_id, None, tuple(issues), tuple(variants))

        shipping_discount = minor(order.get("shipping_discount_amount"))
        order_discount = -minor(order.get("discount_amount"))
        if order_discount != item_discounts + shipping_discount:
            issues.append(
                Issue(
                    "discount_mismatch",
                    "discount_amount",
                    str(item_discounts + shipping_discount),
                    str(order_discount),
                )
            )
        shipping = max(
            0,
            minor(order.get("shipping_incl_tax", order.get("shipping_amount"))) - shipping_discount,
        )
        parts += shipping
        grand_total = minor(order.get("grand_total"))
        cancelled_total = minor(order.get("total_canceled"))
        # A partly cancelled order keeps its grand total; what is left to pay is the rest.
        total = grand_total - cancelled_total
        if cancelled_total and cancelled_total >= grand_total:
            total = parts  # nothing to compare against
        elif parts != total:
            issues.append(Issue("total_mismatch", "grand_total", str(parts), str(total)))

        placed = parse_time(order.get("created_at"))
        if placed is None:
            issues.append(Issue("missing_date", "created_at"))
            return MappedOrder(external_id, None, tuple(issues), tuple(variants))
        payment = order.get("payment") or {}
        method_code = text(payment.get("method"), 30)
        method = METHODS.get(method_code, PaymentMethod.CARD)
        status = text(order.get("status"), 30)
        tags = [f"magento:{status}"] if status else []
        original = text(order.get("relation_parent_real_id"), 40)
        if original:
            tags.append(f"magento:edit_of:{original}")
        if text(order.get("state")) == "closed":
            tags.append("returned_in_store")
        address = (
            (
                ((order.get("extension_attributes") or {}).get("shipping_assignments") or [{}])[0]
                .get("shipping", {})
                .get("address")
            )
            or order.get("billing_address")
            or {}
        )
        name = " ".join(
            p
            for p in (text(order.get("customer_firstname")), text(order.get("customer_lastname")))
            if p
        ) or " ".join(
            p for p in (text(address.get("firstname")), text(address.get("lastname"))) if p
        )
        phone = text(address.get("telephone"), 40)
        street = address.get("street") or []
        data = OrderData(
            number=text(order.get("increment_id"), 40) or external_id,
            external_id=external_id,
            currency=currency,
            placed_at=placed,
            customer=CustomerData(
                external_id=f"magento:{order['customer_id']}" if order.get("customer_id") else None,
                email=text(order.get("customer_email")),
                phone=phone,
                name=name,
            ),
            lines=lines,
            payment_method=method,
            prices_include_tax=False,
            shipping_minor=shipping,
            shipping_country=text(address.get("country_id"), 2).upper(),
            shipping_address={
                k: v
                for k, v in (
                    ("line1", text(street[0] if isinstance(street, list) and street else street)),
                    ("city", text(address.get("city"))),
                    ("region", text(address.get("region"))),
                    ("postcode", text(address.get("postcode"))),
                    ("name", name),
                    ("phone", phone),
                )
                if v
            },
            tags=tags,
            payments=[
                PaymentData(
                    gateway=f"magento:{method_code or 'unknown'}",
                    reference=text(order.get("increment_id"), 80) or external_id,
                    method=method,
                    captured_minor=min(minor(order.get("total_paid")), total),
                    refunded_minor=min(minor(order.get("total_refunded")), total),
                )
            ],
            total_minor=total,
        )
        return MappedOrder(external_id, data, tuple(issues), tuple(variants))

    def fetch_orders(self, *, since: datetime) -> Iterator[Any]:
        # Magento answers a page past the last with the last page again: stop by the count.
        page = 1
        while True:
            answer = self.http.request(
                "GET",
                "/orders",
                params={
                    "searchCriteria[filter_groups][0][filters][0][field]": "created_at",
                    "searchCriteria[filter_groups][0][filters][0][value]": since.strftime(
                        "%Y-%m-%d %H:%M:%S"
                    ),
                    "searchCriteria[filter_groups][0][filters][0][condition_type]": "gteq",
                    "searchCriteria[sortOrders][0][field]": "entity_id",
                    "searchCriteria[sortOrders][0][direction]": "ASC",
                    "searchCriteria[pageSize]": PAGE_SIZE,
                    "searchCriteria[currentPage]": page,
                },
            ).json()
            orders = answer.get("items") or []
            yield from orders
            total = int(decimal_of(answer.get("total_count")) or 0)
            if not orders or page * PAGE_SIZE >= total:
                return
            page += 1

    # -- outbound ---------------------------------------------------------------------------

    def find_refund(self, push: RefundPush) -> str | None:
        answer = self.http.request(
            "GET",
            "/creditmemos",
            params={
                "searchCriteria[filter_groups][0][filters][0][field]": "order_id",
                "searchCriteria[filter_groups][0][filters][0][value]": push.order_ref,
            },
        ).json()
        for memo in answer.get("items") or []:
            notes = [c.get("comment") for c in memo.get("comments") or [] if isinstance(c, dict)]
            if any(push.key in str(note or "") for note in notes):
                return text(memo.get("entity_id"), 80)
        return None

    def push_refund(self, push: RefundPush) -> str:
        # An offline credit memo: it records the refund without asking Magento's payment
        # method to pay (Awda's gateway already did). No return to stock: the warehouse
        # restocks what it accepts, and that move is pushed on its own.
        body: dict[str, Any] = {
            "items": [
                {
                    "order_item_id": int(line.line_ref)
                    if line.line_ref.isdigit()
                    else line.line_ref,
                    "qty": line.quantity,
                }
                for line in push.lines
            ],
            "notify": False,
            "appendComment": True,
            "comment": {
                "comment": (
                    f"Awda return {push.return_number}: "
                    f"{format_minor(push.amount_minor, push.currency)} {push.currency} "
                    f"refunded by Awda ({push.key})"
                ),
                "is_visible_on_front": 0,
            },
            "arguments": {
                "shipping_amount": 0,
                "adjustment_positive": 0,
                "adjustment_negative": 0,
                "extension_attributes": {"return_to_stock_items": []},
            },
        }
        answer = self.http.request("POST", f"/order/{push.order_ref}/refund", json=body).json()
        return text(answer, 80)

    def push_restock(self, push: RestockPush) -> str:
        sku = quote(push.sku, safe="")
        current = self.http.request("GET", f"/stockItems/{sku}").json()
        on_hand = decimal_of(current.get("qty"))
        if not current.get("manage_stock", True) or on_hand is None:
            return "not managed"
        # The legacy stock API has no relative change: read, then write the sum.
        new = int(on_hand) + push.quantity
        item_id = text(current.get("item_id"), 40)
        self.http.request(
            "PUT",
            f"/products/{sku}/stockItems/{item_id}",
            json={"stockItem": {"qty": new, "is_in_stock": True}},
        )
        return f"{item_id}={new}"

    def push_note(self, push: NotePush) -> str:
        self.http.request(
            "POST",
            f"/orders/{push.order_ref}/comments",
            json={
                "statusHistory": {
                    "comment": push.note,
                    "is_customer_notified": 0,
                    "is_visible_on_front": 0,
                }
            },
        )
        return push.order_ref

    def find_replacement_order(self, push: ReplacementPush) -> str | None:
        return None  # a repeated comment is harmless

    def create_replacement_order(self, push: ReplacementPush) -> str:
        # Magento places orders from a quote (cart, items, shipping information, then place
        # order), a flow Awda doesn't drive yet; saving an order through the order
        # repository would write a row with no totals, stock or invoice behind it. Staff
        # are told instead, in a comment on the original order.
        self.push_note(NotePush(key=push.key, order_ref=push.original_ref, note=push.note))
        return f"note:{push.original_ref}"
