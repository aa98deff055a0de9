"""Shopify: Admin REST (orders, refunds, inventory, webhooks) and GraphQL (tags, returns).

Auth: an Admin API access token (``X-Shopify-Access-Token``) from a custom app, or from the
OAuth authorization-code exchange (``exchange_code``). Webhooks: ``X-Shopify-Hmac-Sha256``
is the base64 HMAC-SHA256 of the raw body with the app's client secret;
``X-Shopify-Webhook-Id`` is the delivery's id (the same on Shopify's retries) and
``X-Shopify-Topic`` its topic (``orders/create``, ``orders/updated``, …).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from awda.core.http import RemoteHttp
from awda.integrations.base import (
    Delivery,
    GiftCardPush,
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

API_VERSION = "2024-10"
_NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="next"')
PAID = frozenset({"paid", "partially_refunded", "refunded", "partially_paid"})
# The topics that carry orders (api/hooks.store_webhook imports both).
WEBHOOK_TOPICS = ("orders/create", "orders/updated")
# Awda's reason codes (returns.services.DEFAULT_REASONS) as Shopify's ReturnReason enum
# (2024-10 takes the enum; returnReasonDefinitionId replaces it only in later versions).
RETURN_REASONS = {
    "defective": "DEFECTIVE",
    "not_as_described": "NOT_AS_DESCRIBED",
    "wrong_item": "WRONG_ITEM",
    "changed_mind": "UNWANTED",
    "changed_my_mind": "UNWANTED",
}
SIZE_REASONS = {"too_small": "SIZE_TOO_SMALL", "too_large": "SIZE_TOO_LARGE"}
FULFILLMENTS_QUERY = (
    "query awdaFulfillments($id: ID!) { order(id: $id) { id fulfillments(first: 50)"
    " { fulfillmentLineItems(first: 250) { nodes { id quantity lineItem { id } } } } } }"
)
RETURNS_QUERY = (
    "query awdaReturns($id: ID!) { order(id: $id) { returns(first: 50)"
    " { nodes { id returnLineItems(first: 1) { nodes { returnReasonNote } } } } } }"
)
RETURN_CREATE = (
    "mutation returnCreate($returnInput: ReturnInput!) { returnCreate(returnInput: $returnInput)"
    " { return { id name status } userErrors { field message } } }"
)


def return_reason(code: str, sub_code: str = "") -> str:
    """Shopify's ReturnReason for an Awda reason (and sub-reason); OTHER when none fits."""
    if code == "size":
        return SIZE_REASONS.get(sub_code, "OTHER")
    return RETURN_REASONS.get(code, "OTHER")


@dataclass(frozen=True, slots=True)
class ReturnLine:
    line_ref: str  # the order's line item id
    quantity: int
    reason: str  # Shopify's ReturnReason


@dataclass(frozen=True, slots=True)
class ReturnPush:
    """An approved Awda return, as the store's own Return object."""

    key: str
    order_ref: str
    return_number: str
    lines: Sequence[ReturnLine]

    @property
    def note(self) -> str:
        # returnReasonNote (255 characters) is the only text a Return carries: the key in it
        # lets a retry find the return its lost answer made.
        return f"Awda return {self.return_number} ({self.key})"[:255]


sign = sign_base64_hmac


def exchange_code(
    *,
    shop: str,
    client_id: str,
    client_secret: str,
    code: str,
    transport: httpx.BaseTransport | None = None,
) -> str:
    """OAuth: trade the authorization code Shopify sent back for an offline access token."""
    http = RemoteHttp(
        base_url=f"https://{shop}", carrier="Shopify", error=StoreError, transport=transport
    )
    try:
        response = http.request(
            "POST",
            "/admin/oauth/access_token",
            json={"client_id": client_id, "client_secret": client_secret, "code": code},
        )
    finally:
        http.close()
    token = response.json().get("access_token")
    if not token:
        raise StoreError("Shopify answered without an access token", code="oauth_failed")
    return str(token)


class ShopifyConnector(StoreHttp):
    platform = "shopify"

    def __init__(
        self,
        *,
        base_url: str,
        settings: Mapping[str, str],
        webhook_secret: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.version = settings.get("api_version") or API_VERSION
        self.location_id = settings.get("location_id", "")
        self._base_url = base_url.rstrip("/")
        self._token = settings.get("access_token", "")
        self._transport = transport

    def _http_options(self) -> dict[str, Any]:
        return {
            "base_url": self._base_url,
            "carrier": "Shopify",
            "headers": {"X-Shopify-Access-Token": self._token, "Accept": "application/json"},
        }

    def _path(self, rest: str) -> str:
        return f"/admin/api/{self.version}/{rest}"

    def _graphql(self, query: str, variables: Mapping[str, Any], *, retry: bool) -> Any:
        response = self.http.request(
            "POST",
            self._path("graphql.json"),
            retry_writes=retry,
            json={"query": query, "variables": dict(variables)},
        )
        data = response.json()
        errors = data.get("errors")
        if errors:
            # A throttled query is asked again later (the outbox retries); others are refusals.
            throttled = isinstance(errors, list) and any(
                (e.get("extensions") or {}).get("code") == "THROTTLED"
                for e in errors
                if isinstance(e, dict)
            )
            raise StoreError(
                f"Shopify refused the query: {str(errors)[:300]}",
                code="throttled" if throttled else "refused",
                retryable=throttled,
            )
        return data.get("data") or {}

    # -- setup ------------------------------------------------------------------------------

    def register_webhooks(
        self, *, address: str, topics: Sequence[str] = WEBHOOK_TOPICS
    ) -> list[str]:
        """Subscribe ``address`` to ``topics`` (those not subscribed already); the topics
        added. Webhooks an app makes through the API are signed with its client secret."""
        response = self.http.request(
            "GET", self._path("webhooks.json"), params={"address": address, "limit": 250}
        )
        present = {
            str(hook.get("topic"))
            for hook in response.json().get("webhooks") or []
            if hook.get("address") == address
        }
        added = []
        for topic in topics:
            if topic in present:
                continue
            self.http.request(
                "POST",
                self._path("webhooks.json"),
                json={"webhook": {"topic": topic, "address": address, "format": "json"}},
            )
            added.append(topic)
        return added

    # -- inbound ----------------------------------------------------------------------------

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]
    ) -> Delivery:
        return signed_delivery(
            headers=headers,
            body=body,
            secret=self.webhook_secret,
            signature_header="x-shopify-hmac-sha256",
            id_header="x-shopify-webhook-id",
            topic_header="x-shopify-topic",
        )

    def map_order(self, payload: Any) -> MappedOrder:
        order = payload.get("order", payload) if isinstance(payload, dict) else None
        if not isinstance(order, dict) or "id" not in order:
            raise MalformedWebhook("not a Shopify order (no id)")
        external_id = str(order["id"])
        currency = text(order.get("currency"), 3).upper()
        issues: list[Issue] = []
        refused = unknown_currency(external_id, currency, "currency")
        if refused is not None:
            return refused

        def minor(value: Any) -> int:
            return to_minor(value, currency)

        lines: list[LineData] = []
        variants: list[VariantRef] = []
        line_sum = 0
        line_discounts = 0
        tax_sum = 0
        for i, item in enumerate(order.get("line_items") or []):
            quantity, fraction = whole_quantity(item.get("quantity"))
            unit = minor(item.get("price"))
            discount = minor(item.get("total_discount")) + sum(
                minor(a.get("amount")) for a in item.get("discount_allocations") or []
            )
            tax = sum(minor(t.get("price")) for t in item.get("tax_lines") or [])
            rates = [decimal_of(t.get("rate")) for t in item.get("tax_lines") or []]
            if quantity < 1:
                issues.append(
                    Issue(
                        "line_skipped",
                        f"line_items.{i}.quantity",
                        "≥ 1",
                        text(item.get("quantity")),
                    )
                )
                continue
            if fraction is not None:
                issues.append(
                    Issue("fractional_quantity", f"line_items.{i}.quantity", "", str(fraction))
                )
                unit = minor(decimal_of(item.get("price") or 0) * fraction)  # type: ignore[operator]
            discount = min(discount, unit * quantity)
            sku = text(item.get("sku"), 80)
            product_ref = text(item.get("product_id"), 80)
            lines.append(
                LineData(
                    line_ref=str(item.get("id")),
                    title_en=text(item.get("name") or item.get("title")) or sku or "item",
                    quantity=quantity,
                    unit_price_minor=unit,
                    sku=sku,
                    discount_minor=discount,
                    tax_rate=sum((r for r in rates if r is not None), Decimal(0)),
                    tax_minor=tax,
                    product=LineProductData(external_id=f"shopify:{product_ref}")
                    if sku and product_ref
                    else None,
                )
            )
            if sku and product_ref:
                variants.append(VariantRef(sku, product_ref, text(item.get("variant_id"), 80)))
            line_sum += unit * quantity
            line_discounts += discount
            tax_sum += tax
        if not lines:
            issues.append(Issue("no_lines", "line_items", detail="no line could be imported"))
            return MappedOrder(external_id, None, tuple(issues), tuple(variants))

        shipping = sum(
            minor(s.get("discounted_price", s.get("price")))
            for s in order.get("shipping_lines") or []
        )
        shipping_tax = sum(
            minor(t.get("price"))
            for s in order.get("shipping_lines") or []
            for t in s.get("tax_lines") or []
        )
        total_discounts = minor(order.get("total_discounts"))
        order_discount = max(0, total_discounts - line_discounts)
        codes = sum(minor(c.get("amount")) for c in order.get("discount_codes") or [])
        if codes != total_discounts:
            issues.append(
                Issue(
                    "discount_mismatch",
                    "total_discounts",
                    str(codes),
                    str(total_discounts),
                    "discount codes and total_discounts differ; total_discounts imported",
                )
            )
        included = bool(order.get("taxes_included"))
        declared_lines = order.get("total_line_items_price")
        if declared_lines is not None and minor(declared_lines) != line_sum:
            issues.append(
                Issue(
                    "total_mismatch",
                    "total_line_items_price",
                    str(line_sum),
                    str(minor(declared_lines)),
                )
            )
        total = minor(order.get("total_price"))
        order_discount = min(order_discount, line_sum - line_discounts)
        computed = line_sum - line_discounts - order_discount + shipping
        if not included:
            computed += tax_sum + shipping_tax
        if computed != total:
            issues.append(Issue("total_mismatch", "total_price", str(computed), str(total)))
        declared_tax = order.get("total_tax")
        if declared_tax is not None and minor(declared_tax) != tax_sum + shipping_tax:
            issues.append(
                Issue(
                    "total_mismatch",
                    "total_tax",
                    str(tax_sum + shipping_tax),
                    str(minor(declared_tax)),
                )
            )

        customer = order.get("customer") or {}
        address = order.get("shipping_address") or order.get("billing_address") or {}
        name = " ".join(
            p for p in (text(customer.get("first_name")), text(customer.get("last_name"))) if p
        ) or text(address.get("name"))
        financial = text(order.get("financial_status"))
        captured = total if financial in PAID else 0
        refunded = sum(
            minor(t.get("amount"))
            for r in order.get("refunds") or []
            for t in r.get("transactions") or []
            if t.get("kind") == "refund" and t.get("status") == "success"
        )
        if refunded > captured:
            issues.append(Issue("refund_exceeds_captured", "refunds", str(captured), str(refunded)))
            refunded = captured
        gateway = text(order.get("gateway"), 30) or "unknown"
        card = text((order.get("payment_details") or {}).get("credit_card_number"))
        cod = "cash on delivery" in gateway.lower() or gateway.lower() == "cod"
        fulfilled = [
            parse_time(f.get("created_at"))
            for f in order.get("fulfillments") or []
            if f.get("status") == "success"
        ]
        delivered = [
            parse_time(f.get("updated_at"))
            for f in order.get("fulfillments") or []
            if f.get("shipment_status") == "delivered"
        ]
        tags = [t.strip() for t in text(order.get("tags"), 500).split(",") if t.strip()]
        if financial:
            tags.append(f"shopify:{financial}")
        placed = parse_time(order.get("created_at")) or parse_time(order.get("processed_at"))
        if placed is None:
            issues.append(Issue("missing_date", "created_at"))
            return MappedOrder(external_id, None, tuple(issues), tuple(variants))
        data = OrderData(
            number=text(order.get("name") or order.get("order_number") or external_id, 40).lstrip(
                "#"
            ),
            external_id=external_id,
            currency=currency,
            placed_at=placed,
            customer=CustomerData(
                external_id=f"shopify:{customer['id']}" if customer.get("id") else None,
                email=text(order.get("email") or customer.get("email")),
                phone=text(order.get("phone") or customer.get("phone") or address.get("phone"), 40),
                name=name,
                language=text(order.get("customer_locale"), 10)[:2],
            ),
            lines=lines,
            payment_method=PaymentMethod.CASH_ON_DELIVERY if cod else PaymentMethod.CARD,
            prices_include_tax=included,
            fulfilled_at=max((f for f in fulfilled if f), default=None),
            delivered_at=max((d for d in delivered if d), default=None),
            discount_minor=order_discount,
            shipping_minor=shipping + (0 if included else shipping_tax),
            shipping_country=text(address.get("country_code"), 2),
            shipping_address={
                k: text(address.get(src))
                for k, src in (
                    ("line1", "address1"),
                    ("line2", "address2"),
                    ("city", "city"),
                    ("region", "province"),
                    ("postcode", "zip"),
                    ("name", "name"),
                )
                if address.get(src)
            },
            tags=tags,
            payments=[
                PaymentData(
                    gateway=f"shopify:{gateway}",
                    reference=external_id,
                    method=PaymentMethod.CASH_ON_DELIVERY if cod else PaymentMethod.CARD,
                    captured_minor=captured,
                    refunded_minor=refunded,
                    card_last4=card[-4:] if card[-4:].isdigit() else "",
                )
            ],
            total_minor=total,
        )
        return MappedOrder(external_id, data, tuple(issues), tuple(variants))

    def fetch_orders(self, *, since: datetime) -> Iterator[Any]:
        url: str | None = self._path("orders.json")
        params: dict[str, Any] | None = {
            "status": "any",
            "created_at_min": since.isoformat(),
            "limit": 250,
        }
        while url:
            response = self.http.request("GET", url, params=params)
            yield from response.json().get("orders") or []
            # Cursor pagination: the next page is only reachable through the Link header.
            match = _NEXT_LINK.search(response.headers.get("link", ""))
            url, params = (match.group(1), None) if match else (None, None)

    # -- outbound ---------------------------------------------------------------------------

    def find_refund(self, push: RefundPush) -> str | None:
        response = self.http.request("GET", self._path(f"orders/{push.order_ref}/refunds.json"))
        for refund in response.json().get("refunds") or []:
            if push.key in str(refund.get("note") or ""):
                return str(refund.get("id"))
        return None

    def push_refund(self, push: RefundPush) -> str:
        # The money went back through Awda's gateway: the refund records items, note and
        # no transaction (Shopify moves no money), and no restock — the warehouse restocks
        # what it accepts, pushed on its own (push_restock).
        body = {
            "refund": {
                "currency": push.currency,
                "notify": False,
                "note": f"Awda return {push.return_number} ({push.key})",
                "refund_line_items": [
                    {
                        "line_item_id": int(line.line_ref)
                        if line.line_ref.isdigit()
                        else line.line_ref,
                        "quantity": line.quantity,
                        "restock_type": "no_restock",
                    }
                    for line in push.lines
                ],
            }
        }
        response = self.http.request(
            "POST", self._path(f"orders/{push.order_ref}/refunds.json"), json=body
        )
        return str(response.json().get("refund", {}).get("id", ""))

    def push_restock(self, push: RestockPush) -> str:
        if not self.location_id:
            raise StoreError("no location_id in the connection's settings", code="not_configured")
        variant = self.http.request("GET", self._path(f"variants/{push.variant_ref}.json"))
        item_id = variant.json().get("variant", {}).get("inventory_item_id")
        if not item_id:
            raise StoreError(
                f"variant {push.variant_ref} has no inventory item", code="unknown_variant"
            )
        response = self.http.request(
            "POST",
            self._path("inventory_levels/adjust.json"),
            json={
                "location_id": int(self.location_id)
                if self.location_id.isdigit()
                else self.location_id,
                "inventory_item_id": item_id,
                "available_adjustment": push.quantity,
            },
        )
        level = response.json().get("inventory_level", {})
        return f"{item_id}@{level.get('location_id', self.location_id)}"

    def push_note(self, push: NotePush) -> str:
        # GraphQL's tagsAdd adds to the order's tags (REST would replace them all).
        response = self.http.request(
            "POST",
            self._path("graphql.json"),
            retry_writes=True,  # adding a tag twice leaves one tag
            json={
                "query": (
                    "mutation tagsAdd($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags)"
                    " { node { id } userErrors { field message } } }"
                ),
                "variables": {
                    "id": f"gid://shopify/Order/{push.order_ref}",
                    "tags": list(push.tags),
                },
            },
        )
        data = response.json()
        errors = data.get("errors") or (data.get("data") or {}).get("tagsAdd", {}).get("userErrors")
        if errors:
            raise StoreError(f"Shopify refused the tags: {str(errors)[:300]}", code="refused")
        return push.order_ref

    def find_return(self, push: ReturnPush) -> str | None:
        data = self._graphql(
            RETURNS_QUERY, {"id": f"gid://shopify/Order/{push.order_ref}"}, retry=True
        )
        for found in ((data.get("order") or {}).get("returns") or {}).get("nodes") or []:
            notes = (found.get("returnLineItems") or {}).get("nodes") or []
            if any(push.key in str(n.get("returnReasonNote") or "") for n in notes):
                return str(found.get("id"))
        return None

    def create_return(self, push: ReturnPush) -> str:
        """Shopify's Return for the lines, against the fulfillment line items that shipped
        them (a return names fulfilled units, not order lines); the Return's gid."""
        order_id = f"gid://shopify/Order/{push.order_ref}"
        data = self._graphql(FULFILLMENTS_QUERY, {"id": order_id}, retry=True)
        order = data.get("order")
        if not order:
            raise StoreError(f"Shopify has no order {push.order_ref}", code="unknown_order")
        shipped: dict[str, list[tuple[str, int]]] = {}
        for fulfillment in order.get("fulfillments") or []:
            for item in (fulfillment.get("fulfillmentLineItems") or {}).get("nodes") or []:
                line_item = str((item.get("lineItem") or {}).get("id", "")).rsplit("/", 1)[-1]
                shipped.setdefault(line_item, []).append((str(item["id"]), int(item["quantity"])))
        items: list[dict[str, Any]] = []
        for line in push.lines:
            wanted = line.quantity
            # A line shipped in several fulfillments is returned from each in turn.
            for fulfillment_item, quantity in shipped.get(line.line_ref, []):
                take = min(wanted, quantity)
                if take:
                    items.append(
                        {
                            "fulfillmentLineItemId": fulfillment_item,
                            "quantity": take,
                            "returnReason": line.reason,
                            "returnReasonNote": push.note,
                        }
                    )
                    wanted -= take
            if wanted:
                raise StoreError(
                    f"line item {line.line_ref} has {line.quantity - wanted} fulfilled unit(s)"
                    f" in Shopify, {line.quantity} returned in Awda",
                    code="not_fulfilled",
                )
        variables = {
            "returnInput": {"orderId": order_id, "returnLineItems": items, "notifyCustomer": False}
        }
        answer = self._graphql(RETURN_CREATE, variables, retry=False).get("returnCreate") or {}
        errors = answer.get("userErrors")
        if errors:
            words = "; ".join(str(e.get("message")) for e in errors)
            raise StoreError(f"Shopify refused the return: {words}"[:400], code="refused")
        created = answer.get("return") or {}
        if not created.get("id"):
            raise StoreError("Shopify answered without the return's id", code="refused")
        return str(created["id"])

    def find_replacement_order(self, push: ReplacementPush) -> str | None:
        # The order list can't be filtered by tag or note: read the orders made since the
        # replacement was (an hour earlier for clock skew) and find the key in the note.
        url: str | None = self._path("orders.json")
        params: dict[str, Any] | None = {
            "status": "any",
            "created_at_min": (push.placed_at - timedelta(hours=1)).isoformat(),
            "fields": "id,note,tags",
            "limit": 250,
        }
        while url:
            response = self.http.request("GET", url, params=params)
            for order in response.json().get("orders") or []:
                if push.key in str(order.get("note") or ""):
                    return str(order.get("id"))
            match = _NEXT_LINK.search(response.headers.get("link", ""))
            url, params = (match.group(1), None) if match else (None, None)
        return None

    def create_replacement_order(self, push: ReplacementPush) -> str:
        # Shopify moves no money for an order made over the API: "paid" says the returned
        # items (and a difference paid by link) covered it, "pending" that the courier
        # collects the rest. Fully covered items cost 0; a partial credit is a discount.
        covered = push.credit_minor >= push.total_minor
        address = push.shipping_address
        order: dict[str, Any] = {
            "line_items": [
                {
                    "variant_id": int(line.variant_ref)
                    if line.variant_ref.isdigit()
                    else line.variant_ref,
                    "quantity": line.quantity,
                    "price": format_minor(0 if covered else line.unit_price_minor, push.currency),
                }
                for line in push.lines
            ],
            "currency": push.currency,
            "financial_status": "pending" if push.collect_minor else "paid",
            "tags": f"awda-exchange, {push.number}",
            "note": push.note,
            "inventory_behaviour": "decrement_obeying_policy",
            "send_receipt": False,
            "send_fulfillment_receipt": False,
        }
        if push.credit_minor and not covered:
            order["discount_codes"] = [
                {
                    "code": f"AWDA-EXCHANGE-{push.number}"[:255],
                    "amount": format_minor(push.credit_minor, push.currency),
                    "type": "fixed_amount",
                }
            ]
        if push.customer_ref:
            order["customer"] = {
                "id": int(push.customer_ref) if push.customer_ref.isdigit() else push.customer_ref
            }
        elif push.email:
            order["email"] = push.email
        if address:
            order["shipping_address"] = {
                key: value
                for key, value in (
                    ("name", address.get("name", "")),
                    ("address1", address.get("line1", "")),
                    ("address2", address.get("line2", "")),
                    ("city", address.get("city", "")),
                    ("province", address.get("region", "")),
                    ("zip", address.get("postcode", "")),
                    ("country_code", push.country),
                    ("phone", address.get("phone", "") or push.phone),
                )
                if value
            }
        response = self.http.request("POST", self._path("orders.json"), json={"order": order})
        created = response.json().get("order") or {}
        if not created.get("id"):
            raise StoreError("Shopify answered without the order's id", code="refused")
        return str(created["id"])

    def find_gift_card(self, push: GiftCardPush) -> str | None:
        # Codes can't be read back, only their last four characters: search by those, then
        # make sure by the note, which carries the key.
        response = self.http.request(
            "GET",
            self._path("gift_cards/search.json"),
            params={"query": f"last_characters:{push.code[-4:]}"},
        )
        for card in response.json().get("gift_cards") or []:
            if push.key in str(card.get("note") or ""):
                return str(card.get("id"))
        return None

    def create_gift_card(self, push: GiftCardPush) -> str:
        card: dict[str, Any] = {
            "initial_value": format_minor(push.amount_minor, push.currency),
            "code": push.code,
            "note": push.note,
        }
        if push.expires_on is not None:
            card["expires_on"] = push.expires_on.isoformat()
        if push.customer_ref:
            card["customer_id"] = (
                int(push.customer_ref) if push.customer_ref.isdigit() else push.customer_ref
            )
        response = self.http.request(
            "POST", self._path("gift_cards.json"), json={"gift_card": card}
        )
        created = response.json().get("gift_card") or {}
        if not created.get("id"):
            raise StoreError("Shopify answered without the gift card's id", code="refused")
        return str(created["id"])
