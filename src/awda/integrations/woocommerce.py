"""WooCommerce REST API v3 (``/wp-json/wc/v3``).

Auth: a REST API key pair (consumer key and secret) as HTTP Basic over HTTPS. Webhooks:
``X-WC-Webhook-Signature`` is the base64 HMAC-SHA256 of the raw body with the webhook's
secret; ``X-WC-Webhook-Delivery-ID`` names the delivery and ``X-WC-Webhook-Topic`` its
topic (``order.created``, ``order.updated``…). Responses proxied by WordPress.com wrap the
resource in ``{"data": …}``; both shapes are read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

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
    decimal_of,
    format_minor,
    parse_time,
    sign_base64_hmac,
    signed_delivery,
    text,
    to_minor,
    unknown_currency,
    whole_quantity,
)
from awda.orders.models import PaymentMethod
from awda.orders.services import CustomerData, LineData, LineProductData, OrderData, PaymentData

API = "/wp-json/wc/v3"
UNPAID = frozenset({"pending", "failed", "cancelled", "checkout-draft"})
METHODS = {"cod": PaymentMethod.CASH_ON_DELIVERY, "bacs": PaymentMethod.BANK_TRANSFER}


sign = sign_base64_hmac


def _unwrap(payload: Any) -> Any:
    if isinstance(payload, dict) and "id" not in payload and "data" in payload:
        return payload["data"]
    return payload


class WooCommerceConnector(StoreHttp):
    platform = "woocommerce"

    def __init__(
        self,
        *,
        base_url: str,
        settings: Mapping[str, str],
        webhook_secret: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.webhook_secret = webhook_secret
        self._base_url = base_url.rstrip("/")
        self._auth = (settings.get("consumer_key", ""), settings.get("consumer_secret", ""))
        self._transport = transport

    def _http_options(self) -> dict[str, Any]:
        return {
            "base_url": self._base_url,
            "carrier": "WooCommerce",
            "auth": self._auth,
            "headers": {"Accept": "application/json"},
        }

    # -- inbound ----------------------------------------------------------------------------

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]
    ) -> Delivery:
        return signed_delivery(
            headers=headers,
            body=body,
            secret=self.webhook_secret,
            signature_header="x-wc-webhook-signature",
            id_header="x-wc-webhook-delivery-id",
            topic_header="x-wc-webhook-topic",
        )

    def map_order(self, payload: Any) -> MappedOrder:
        order = _unwrap(payload)
        if not isinstance(order, dict) or "id" not in order:
            raise MalformedWebhook("not a WooCommerce order (no id)")
        external_id = str(order["id"])
        currency = text(order.get("currency"), 3).upper()
        issues: list[Issue] = []
        refused = unknown_currency(external_id, currency, "currency")
        if refused is not None:
            return refused

        def minor(value: Any) -> int:
            return to_minor(value, currency)

        included = bool(order.get("prices_include_tax", False))
        lines: list[LineData] = []
        variants: list[VariantRef] = []
        lines_total = 0
        lines_tax = 0
        for i, item in enumerate(order.get("line_items") or []):
            where = f"line_items.{i}"
            quantity, fraction = whole_quantity(item.get("quantity"))
            subtotal = minor(item.get("subtotal"))
            total = minor(item.get("total"))
            tax = minor(item.get("total_tax"))
            if quantity < 1:
                issues.append(
                    Issue("line_skipped", f"{where}.quantity", "≥ 1", text(item.get("quantity")))
                )
                continue
            title = text(item.get("name")) or text(item.get("sku")) or "item"
            if fraction is not None:
                # A measure (1.5 kg) is returned whole or not at all: one unit priced at the
                # line's amount keeps every minor unit the shopper paid on the line.
                issues.append(
                    Issue(
                        "fractional_quantity",
                        f"{where}.quantity",
                        "a whole number",
                        str(fraction),
                        "imported as one unit priced at the line's subtotal",
                    )
                )
                title = f"{title} × {fraction}"[:200]
                unit = subtotal
            else:
                unit = int((Decimal(subtotal) / quantity).to_integral_value())
                if unit * quantity != subtotal:
                    issues.append(
                        Issue(
                            "line_mismatch",
                            f"{where}.subtotal",
                            str(unit * quantity),
                            str(subtotal),
                        )
                    )
            discount = max(0, unit * quantity - total)
            rate = Decimal(0)
            if total and tax:
                rate = (Decimal(tax) / Decimal(total)).quantize(Decimal("0.001"))
            sku = text(item.get("sku"), 80)
            product_ref = text(item.get("product_id"), 80)
            variation = text(item.get("variation_id"), 80)
            lines.append(
                LineData(
                    line_ref=str(item.get("id")),
                    title_en=title,
                    quantity=quantity,
                    unit_price_minor=unit,
                    sku=sku,
                    discount_minor=discount,
                    tax_rate=rate,
                    tax_minor=tax,
                    product=LineProductData(external_id=f"woocommerce:{product_ref}")
                    if sku and product_ref
                    else None,
                )
            )
            if sku and product_ref:
                variants.append(
                    VariantRef(sku, product_ref, "" if variation in {"", "0"} else variation)
                )
            lines_total += total
            lines_tax += tax
        if not lines:
            issues.append(Issue("no_lines", "line_items", detail="no line could be imported"))
            return MappedOrder(external_id, None, tuple(issues), tuple(variants))

        shipping = minor(order.get("shipping_total"))
        shipping_tax = minor(order.get("shipping_tax"))
        shipping_lines = sum(minor(s.get("total")) for s in order.get("shipping_lines") or [])
        if shipping_lines != shipping:
            issues.append(
                Issue("total_mismatch", "shipping_total", str(shipping_lines), str(shipping))
            )
        # Fees (gift wrap, surcharges) belong to no line: Awda keeps them with shipping, the
        # order-level money no line refund touches.
        fees = sum(
            minor(f.get("total")) + minor(f.get("total_tax")) for f in order.get("fee_lines") or []
        )
        total = minor(order.get("total"))
        computed = lines_total + shipping + shipping_tax + fees + (0 if included else lines_tax)
        if computed != total:
            issues.append(
                Issue(
                    "total_mismatch",
                    "total",
                    str(computed),
                    str(total),
                    "lines + shipping + fees + tax differ from the order's total",
                )
            )
        declared_tax = order.get("total_tax")
        if declared_tax is not None and minor(declared_tax) != lines_tax + shipping_tax + sum(
            minor(f.get("total_tax")) for f in order.get("fee_lines") or []
        ):
            issues.append(
                Issue(
                    "total_mismatch",
                    "total_tax",
                    str(lines_tax + shipping_tax),
                    str(minor(declared_tax)),
                )
            )

        status = text(order.get("status"))
        paid_at = parse_time(order.get("date_paid_gmt"))
        captured = total if paid_at is not None and status not in UNPAID else 0
        # Refund totals are negative ("-16.20"); a deleted refund is "-0.00".
        refunded = sum(-minor(r.get("total")) for r in order.get("refunds") or [])
        if refunded > captured:
            issues.append(Issue("refund_exceeds_captured", "refunds", str(captured), str(refunded)))
            refunded = captured
        billing = order.get("billing") or {}
        shipping_to = order.get("shipping") or {}
        address = shipping_to if shipping_to.get("address_1") else billing
        method = METHODS.get(text(order.get("payment_method")), PaymentMethod.CARD)
        completed = parse_time(order.get("date_completed_gmt"))
        placed = parse_time(order.get("date_created_gmt")) or parse_time(order.get("date_created"))
        if placed is None:
            issues.append(Issue("missing_date", "date_created_gmt"))
            return MappedOrder(external_id, None, tuple(issues), tuple(variants))
        customer_id = order.get("customer_id")
        data = OrderData(
            number=text(order.get("number") or external_id, 40),
            external_id=external_id,
            currency=currency,
            placed_at=placed,
            customer=CustomerData(
                external_id=f"woocommerce:{customer_id}" if customer_id else None,
                email=text(billing.get("email")),
                phone=text(billing.get("phone"), 40),
                name=" ".join(
                    p
                    for p in (text(billing.get("first_name")), text(billing.get("last_name")))
                    if p
                ),
            ),
            lines=lines,
            payment_method=method,
            prices_include_tax=included,
            fulfilled_at=completed,
            delivered_at=completed if status == "completed" else None,
            shipping_minor=shipping + shipping_tax + fees,
            shipping_country=text(address.get("country"), 2),
            shipping_address={
                k: text(address.get(src))
                for k, src in (
                    ("line1", "address_1"),
                    ("line2", "address_2"),
                    ("city", "city"),
                    ("region", "state"),
                    ("postcode", "postcode"),
                )
                if address.get(src)
            },
            tags=[f"woocommerce:{status}"] if status else [],
            payments=[
                PaymentData(
                    gateway=f"woocommerce:{text(order.get('payment_method'), 20) or 'unknown'}",
                    reference=text(order.get("transaction_id"), 80) or external_id,
                    method=method,
                    captured_minor=captured,
                    refunded_minor=refunded,
                )
            ],
            total_minor=total,
        )
        return MappedOrder(external_id, data, tuple(issues), tuple(variants))

    def fetch_orders(self, *, since: datetime) -> Iterator[Any]:
        page = 1
        while True:
            response = self.http.request(
                "GET",
                f"{API}/orders",
                params={
                    "after": since.isoformat(),
                    "per_page": 100,
                    "page": page,
                    "orderby": "date",
                    "order": "asc",
                },
            )
            orders = _unwrap(response.json())
            yield from orders or []
            pages = response.headers.get("x-wp-totalpages", "")
            if not orders or not pages.isdigit() or page >= int(pages):
                return
            page += 1

    # -- outbound ---------------------------------------------------------------------------

    def find_refund(self, push: RefundPush) -> str | None:
        response = self.http.request("GET", f"{API}/orders/{push.order_ref}/refunds")
        for refund in _unwrap(response.json()) or []:
            if push.key in str(refund.get("reason") or ""):
                return str(refund.get("id"))
        return None

    def push_refund(self, push: RefundPush) -> str:
        # api_refund false: Awda's gateway already paid the money back, the store must not
        # pay it again; api_restock false: the warehouse restocks what it accepts.
        body: dict[str, Any] = {
            "amount": format_minor(push.amount_minor, push.currency),
            "reason": f"Awda return {push.return_number} ({push.key})",
            "api_refund": False,
            "api_restock": False,
            "line_items": [
                {
                    "id": int(line.line_ref) if line.line_ref.isdigit() else line.line_ref,
                    "quantity": line.quantity,
                    "refund_total": format_minor(line.amount_minor, push.currency),
                }
                for line in push.lines
            ],
        }
        response = self.http.request("POST", f"{API}/orders/{push.order_ref}/refunds", json=body)
        return str(_unwrap(response.json()).get("id", ""))

    def push_restock(self, push: RestockPush) -> str:
        path = f"{API}/products/{push.product_ref}"
        if push.variant_ref:
            path += f"/variations/{push.variant_ref}"
        current = _unwrap(self.http.request("GET", path).json())
        on_hand = decimal_of(current.get("stock_quantity"))
        if not current.get("manage_stock", True) or on_hand is None:
            return "not managed"
        # WooCommerce has no relative stock change over REST: read, then write the sum.
        new = int(on_hand) + push.quantity
        self.http.request("PUT", path, json={"stock_quantity": new})
        return f"{path.rsplit('/', 1)[-1]}={new}"

    def push_note(self, push: NotePush) -> str:
        response = self.http.request(
            "POST",
            f"{API}/orders/{push.order_ref}/notes",
            json={"note": push.note, "customer_note": False},
        )
        return str(_unwrap(response.json()).get("id", ""))

    def find_replacement_order(self, push: ReplacementPush) -> str | None:
        # The list can't filter by meta data: read the orders made since the replacement
        # was (an hour earlier for clock skew) and find the key Awda wrote into them.
        page = 1
        while True:
            response = self.http.request(
                "GET",
                f"{API}/orders",
                params={
                    "after": (push.placed_at - timedelta(hours=1)).isoformat(),
                    "per_page": 100,
                    "page": page,
                },
            )
            orders = _unwrap(response.json()) or []
            for order in orders:
                meta = {m.get("key"): m.get("value") for m in order.get("meta_data") or []}
                if meta.get("awda_key") == push.key:
                    return str(order.get("id"))
            pages = response.headers.get("x-wp-totalpages", "")
            if not orders or not pages.isdigit() or page >= int(pages):
                return None
            page += 1

    def create_replacement_order(self, push: ReplacementPush) -> str:
        # set_paid when nothing is left to collect (the returned items, and a difference
        # paid by link, covered it); the credit is each line's subtotal − total.
        address = push.shipping_address
        body: dict[str, Any] = {
            "status": "processing",
            "set_paid": not push.collect_minor,
            "currency": push.currency,
            "line_items": [
                {
                    "product_id": int(line.product_ref)
                    if line.product_ref.isdigit()
                    else line.product_ref,
                    **(
                        {
                            "variation_id": int(line.variant_ref)
                            if line.variant_ref.isdigit()
                            else line.variant_ref
                        }
                        if line.variant_ref
                        else {}
                    ),
                    "quantity": line.quantity,
                    "subtotal": format_minor(line.unit_price_minor * line.quantity, push.currency),
                    "total": format_minor(line.paid_minor, push.currency),
                }
                for line in push.lines
            ],
            "meta_data": [
                {"key": "awda_order", "value": push.number},
                {"key": "awda_replaces", "value": push.original_number},
                {"key": "awda_key", "value": push.key},
            ],
        }
        if push.collect_minor:
            body["payment_method"] = "cod"
            body["payment_method_title"] = "Cash on delivery"
        if push.customer_ref.isdigit():
            body["customer_id"] = int(push.customer_ref)
        if address:
            first, _space, last = address.get("name", "").partition(" ")
            body["shipping"] = {
                key: value
                for key, value in (
                    ("first_name", first),
                    ("last_name", last),
                    ("address_1", address.get("line1", "")),
                    ("address_2", address.get("line2", "")),
                    ("city", address.get("city", "")),
                    ("state", address.get("region", "")),
                    ("postcode", address.get("postcode", "")),
                    ("country", push.country),
                )
                if value
            }
        response = self.http.request("POST", f"{API}/orders", json=body)
        created = _unwrap(response.json())
        if not isinstance(created, dict) or not created.get("id"):
            raise StoreError("WooCommerce answered without the order's id", code="refused")
        return str(created["id"])
