"""Zid merchant API (``https://api.zid.sa``), as its official Python SDK speaks it.

Auth: the partner's ``Authorization: Bearer`` token plus the store's manager token, sent as
``X-Manager-Token`` to the orders API and as ``Access-Token`` to reverse orders and product
stocks (the SDK's ``token_header``). Webhooks: Zid documents no signature for its webhook
deliveries (the SDK's ``webhooks.create`` takes only event, target URL and conditions), so
the address Awda registers carries a secret token (``?token=…``) that every delivery must
repeat; it is compared in constant time. Nor does a delivery carry an id: the event id is
the order's id with its ``updated_at`` (a re-sent delivery of the same state counts once).

Quirks: amounts are strings with float noise ("223.56000086523000"), rounded half-even to
halalas; times have no offset (read as Asia/Riyadh); reverse statuses (``reversed``,
``reverse_in_progress``, ``partially_reversed``) become tags.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

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
    StoreError,
    StoreHttp,
    VariantRef,
    WebhookRejected,
    decimal_of,
    format_minor,
    parse_time,
    read_json,
    text,
    to_minor,
    unknown_currency,
    whole_quantity,
)
from awda.orders.models import PaymentMethod
from awda.orders.services import CustomerData, LineData, LineProductData, OrderData, PaymentData

BASE_URL = "https://api.zid.sa"
RIYADH = ZoneInfo("Asia/Riyadh")
ORDERS = "/v1/managers/store/orders"
REVERSE = "/v1/managers/store/reverse-orders"
REVERSE_STATUSES = frozenset({"reversed", "reverse_in_progress", "partially_reversed"})
METHODS = {
    "zid_bank_transfer": PaymentMethod.BANK_TRANSFER,
    "bank_transfer": PaymentMethod.BANK_TRANSFER,
    "zid_cod": PaymentMethod.CASH_ON_DELIVERY,
    "cod": PaymentMethod.CASH_ON_DELIVERY,
}
# Zid's refund methods by how the shopper paid.
REFUND_METHODS: dict[str, str] = {
    PaymentMethod.BANK_TRANSFER: "zid_bank_transfer",
    PaymentMethod.CASH_ON_DELIVERY: "cash",
    PaymentMethod.CARD: "credit_card",
    PaymentMethod.WALLET: "credit_card",
}
ARABIC = range(0x0600, 0x0700)


def _is_arabic(value: str) -> bool:
    return any(ord(ch) in ARABIC for ch in value)


class ZidConnector(StoreHttp):
    platform = "zid"

    def __init__(
        self,
        *,
        base_url: str,
        settings: Mapping[str, str],
        webhook_secret: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.location_id = settings.get("location_id", "")
        self._base_url = (base_url or BASE_URL).rstrip("/")
        self._authorization = settings.get("authorization", "")
        self._manager_token = settings.get("manager_token", "")
        self._transport = transport

    def _http_options(self) -> dict[str, Any]:
        return {
            "base_url": self._base_url,
            "carrier": "Zid",
            "headers": {
                "Authorization": f"Bearer {self._authorization}",
                "Accept": "application/json",
                "Accept-Language": "ar",
            },
        }

    def _manager(self) -> dict[str, str]:
        return {"X-Manager-Token": self._manager_token}

    def _access(self) -> dict[str, str]:
        return {"Access-Token": self._manager_token}

    # -- inbound ----------------------------------------------------------------------------

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]
    ) -> Delivery:
        given = query.get("token", "") or headers.get("x-awda-token", "")
        if not given:
            raise WebhookRejected("no token in the webhook address")
        if not self.webhook_secret or not hmac.compare_digest(
            given.encode(), self.webhook_secret.encode()
        ):
            raise WebhookRejected("the token does not match")
        payload = read_json(body)
        order = payload.get("order", payload) if isinstance(payload, dict) else None
        if not isinstance(order, dict) or "id" not in order:
            raise MalformedWebhook("not a Zid order (no id)")
        stamp = text(order.get("updated_at")) or hashlib.sha256(body).hexdigest()[:32]
        topic = text(headers.get("x-zid-event") or payload.get("event") or "order", 80)
        return Delivery(f"{order['id']}@{stamp}", topic, payload)

    def map_order(self, payload: Any) -> MappedOrder:
        order = payload.get("order", payload) if isinstance(payload, dict) else None
        if not isinstance(order, dict) or "id" not in order:
            raise MalformedWebhook("not a Zid order (no id)")
        external_id = str(order["id"])
        currency = text(order.get("currency_code"), 3).upper()
        issues: list[Issue] = []
        refused = unknown_currency(external_id, currency, "currency_code")
        if refused is not None:
            return refused

        def minor(value: Any) -> int:
            return to_minor(value, currency)

        lines: list[LineData] = []
        variants: list[VariantRef] = []
        lines_total = 0
        for i, item in enumerate(order.get("products") or []):
            where = f"products.{i}"
            quantity, fraction = whole_quantity(item.get("quantity"))
            if quantity < 1:
                issues.append(
                    Issue("line_skipped", f"{where}.quantity", "≥ 1", text(item.get("quantity")))
                )
                continue
            unit = minor(item.get("price"))
            total = minor(item.get("discounted_total", item.get("total")))
            if fraction is not None:
                issues.append(
                    Issue(
                        "fractional_quantity", f"{where}.quantity", "a whole number", str(fraction)
                    )
                )
                unit = minor(item.get("total"))
            discount = max(0, unit * quantity - total)
            name = text(item.get("name")) or text(item.get("sku")) or "item"
            sku = text(item.get("sku"), 80)
            product_ref = text(item.get("id"), 80)
            lines.append(
                LineData(
                    line_ref=text(item.get("order_product_id") or item.get("id"), 80),
                    title_en=name,
                    title_ar=name if _is_arabic(name) else "",
                    quantity=quantity,
                    unit_price_minor=unit,
                    sku=sku,
                    discount_minor=discount,
                    tax_rate=(decimal_of(item.get("tax_percentage")) or Decimal(0)) / 100,
                    tax_minor=minor(item.get("tax_amount")),
                    product=LineProductData(external_id=f"zid:{product_ref}")
                    if sku and product_ref
                    else None,
                )
            )
            if sku and product_ref:
                variants.append(VariantRef(sku, product_ref))
            lines_total += total
        if not lines:
            issues.append(Issue("no_lines", "products", detail="no product could be imported"))
            return MappedOrder(external_id, None, tuple(issues), tuple(variants))

        invoice = {
            text(row.get("code")): row.get("value")
            for row in (order.get("payment") or {}).get("invoice") or []
        }
        shipping = minor(invoice.get("shipping", 0))
        total = minor(order.get("order_total"))
        # Zid's prices include VAT: the lines and shipping are the total.
        if lines_total + shipping != total and "sub_totals_after_vat" in invoice:
            issues.append(
                Issue("total_mismatch", "order_total", str(lines_total + shipping), str(total))
            )
        status = text((order.get("order_status") or {}).get("code"))
        method_info = (order.get("payment") or {}).get("method") or {}
        method = METHODS.get(text(method_info.get("code")), PaymentMethod.CARD)
        paid = text(order.get("payment_status")) == "paid" or text(
            method_info.get("transaction_status")
        ) in {"transfered", "paid"}
        customer = order.get("customer") or {}
        address = (order.get("shipping") or {}).get("address") or {}
        city = address.get("city") or {}
        placed = parse_time(order.get("created_at"), naive_tz=RIYADH)
        if placed is None:
            issues.append(Issue("missing_date", "created_at"))
            return MappedOrder(external_id, None, tuple(issues), tuple(variants))
        delivered = parse_time(order.get("delivered_at"), naive_tz=RIYADH)
        if delivered is None and status == "delivered":
            delivered = parse_time(order.get("updated_at"), naive_tz=RIYADH)
        tags = [
            text(t.get("name") if isinstance(t, dict) else t, 40) for t in order.get("tags") or []
        ]
        if status:
            tags.append(f"zid:{status}")
        if status in REVERSE_STATUSES:
            tags.append("returned_in_store")
        data = OrderData(
            number=external_id,
            external_id=external_id,
            currency=currency,
            placed_at=placed,
            customer=CustomerData(
                external_id=f"zid:{customer['id']}" if customer.get("id") else None,
                email=text(customer.get("email")),
                phone=text(customer.get("mobile"), 40),
                name=text(customer.get("name")),
                language=text(order.get("language"), 2),
            ),
            lines=lines,
            payment_method=method,
            prices_include_tax=True,
            delivered_at=delivered,
            fulfilled_at=delivered,
            shipping_minor=shipping,
            shipping_country=text((address.get("country") or {}).get("code"), 2),
            shipping_address={
                k: v
                for k, v in (
                    ("line1", text(address.get("street"))),
                    ("district", text(address.get("district"))),
                    ("city", text(city.get("name"))),
                    ("zid_city_id", text(city.get("id"))),
                    ("postcode", text((address.get("meta") or {}).get("postcode"))),
                    ("name", text(customer.get("name"))),
                    ("phone", text(customer.get("mobile"))),
                )
                if v
            },
            tags=[t for t in tags if t],
            payments=[
                PaymentData(
                    gateway=f"zid:{text(method_info.get('code'), 30) or 'unknown'}",
                    reference=text(order.get("transaction_reference"), 80) or external_id,
                    method=method,
                    captured_minor=total if paid else 0,
                )
            ],
            total_minor=total,
        )
        return MappedOrder(external_id, data, tuple(issues), tuple(variants))

    def fetch_orders(self, *, since: datetime) -> Iterator[Any]:
        # The list has no products: each order's detail is fetched (``/view``).
        page, per_page = 1, 50
        while True:
            response = self.http.request(
                "GET",
                ORDERS,
                headers=self._manager(),
                params={"page": page, "per_page": per_page, "date_from": since.date().isoformat()},
            )
            orders = response.json().get("orders") or []
            for summary in orders:
                try:
                    detail = self.http.request(
                        "GET", f"{ORDERS}/{summary['id']}/view", headers=self._manager()
                    )
                except StoreError as exc:
                    yield StoreError(f"order {summary.get('id')}: {exc}", code=exc.code)
                    continue
                yield detail.json()
            if len(orders) < per_page:
                return
            page += 1

    # -- outbound ---------------------------------------------------------------------------

    def find_refund(self, push: RefundPush) -> str | None:
        return None  # Zid has no search by note; the reverse order's id is kept instead

    def create_reverse_order(self, push: RefundPush) -> str:
        """Zid's own return object for the returned lines (partial when not all)."""
        address = push.shipping_address
        body: dict[str, Any] = {
            "order_id": int(push.order_ref) if push.order_ref.isdigit() else push.order_ref,
            "consignee_name": address.get("name", ""),
            "consignee_mobile": address.get("phone", ""),
            "consignee_city_id": int(address.get("zid_city_id", "0") or 0),
            "consignee_address_1": address.get("line1", ""),
            "is_partial": True,
            "products": [
                {
                    "order_product_id": int(line.line_ref)
                    if line.line_ref.isdigit()
                    else line.line_ref,
                    "quantity": line.quantity,
                }
                for line in push.lines
            ],
        }
        if self.location_id:
            body["inventory_location_id"] = self.location_id
        response = self.http.request("POST", REVERSE, headers=self._access(), json=body)
        return str(response.json().get("order_reverse", {}).get("id", ""))

    def push_refund(
        self, push: RefundPush, *, reverse_id: str = "", method: str = "credit_card"
    ) -> str:
        response = self.http.request(
            "POST",
            f"{REVERSE}/refund",
            headers=self._access(),
            data={
                "order_reverse_id": reverse_id,
                "amount": format_minor(push.amount_minor, push.currency),
                "payment_method": method,
                "notes": f"Awda return {push.return_number} ({push.key})",
            },
        )
        refund = response.json().get("order_reverse", {}).get("refund") or {}
        return str(refund.get("id") or reverse_id)

    def push_restock(self, push: RestockPush) -> str:
        path = f"/v1/products/{push.product_ref}/stocks/"
        stocks = self.http.request("GET", path, headers=self._access()).json().get("results") or []
        stock = next(
            (
                s
                for s in stocks
                if not self.location_id
                or str((s.get("location") or {}).get("id")) == self.location_id
            ),
            None,
        )
        if stock is None:
            raise StoreError(
                f"product {push.product_ref} has no stock record here", code="unknown_stock"
            )
        if stock.get("is_infinite"):
            return "infinite"
        new = int(decimal_of(stock.get("available_quantity")) or 0) + push.quantity
        self.http.request(
            "PATCH",
            f"{path}{stock['id']}/",
            headers=self._access(),
            json={"available_quantity": new},
        )
        return f"{stock['id']}={new}"

    def push_note(self, push: NotePush) -> str:
        # Zid keeps up to 20 comments of 100 characters per order.
        self.http.request(
            "POST",
            f"{ORDERS}/{push.order_ref}/add-order-comment",
            headers=self._manager(),
            json={"comment": push.note[:100]},
        )
        return push.order_ref

    def find_replacement_order(self, push: ReplacementPush) -> str | None:
        return None  # comments can't be read back; a repeated note is harmless

    def create_replacement_order(self, push: ReplacementPush) -> str:
        # Zid documents an order creation call, but it prices products by SKU at the
        # store's own prices and needs Zid's shipping and payment method ids; it can't make
        # the order Awda priced (items paid by the returned ones). Staff are told instead,
        # in a comment on the original order (100 characters: the items first).
        items = ", ".join(f"{line.sku or line.title}×{line.quantity}" for line in push.lines)
        collect = (
            f" COD {format_minor(push.collect_minor, push.currency)}" if push.collect_minor else ""
        )
        self.push_note(
            NotePush(
                key=push.key,
                order_ref=push.original_ref,
                note=f"Awda exchange {push.number}: send {items}{collect}",
            )
        )
        return f"note:{push.original_ref}"
