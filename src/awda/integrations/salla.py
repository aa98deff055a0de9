"""Salla merchant API (``https://api.salla.dev/admin/v2``), as Salla's documentation describes it.

Auth: the store's OAuth access token as ``Authorization: Bearer`` (Salla's tokens expire and
are refreshed by the app that installed them; Awda takes the current one). Webhooks: with the
``Signature`` security strategy (Salla's default) ``X-Salla-Signature`` is the hex
HMAC-SHA256 of the raw body with the webhook secret; the ``Token`` strategy is refused. The
body is ``{event, merchant, created_at, data}``; no delivery id is sent, so the event id is
the order's id, the event and the envelope's ``created_at`` (a re-sent delivery counts once).

Quirks: money is ``{"amount": 186, "currency": "SAR"}``; dates are PHP objects
(``{"date": "2026-01-02 10:00:00.000000", "timezone": "Asia/Riyadh"}``) and the envelope's
``created_at`` a JavaScript date string; numbers may arrive in Arabic-Indic digits
("٢", "٥٥٠٠٠٠٠٠١") and are read as Western ones. Salla has no call that records a refund
without paying it (``PUT /transactions/{id}`` refunds through Salla's gateway, which would
pay the shopper twice), so a refund Awda paid is written into the order's history, where a
retry finds it again by its key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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

API_URL = "https://api.salla.dev/admin/v2"
RIYADH = ZoneInfo("Asia/Riyadh")
PER_PAGE = 60  # Salla's maximum
METHODS = {
    "bank": PaymentMethod.BANK_TRANSFER,
    "cod": PaymentMethod.CASH_ON_DELIVERY,
    "stc_pay": PaymentMethod.WALLET,
    "apple_pay": PaymentMethod.WALLET,
}
UNPAID = frozenset({"payment_pending", "under_review", "canceled"})
RETURNED = frozenset({"restored", "restoring"})  # Salla's "returned" / "being returned"
# Arabic-Indic (U+0660…) and Extended Arabic-Indic (U+06F0…) digits, the Arabic decimal
# separator and thousands separator.
DIGITS = str.maketrans(
    {
        **{chr(0x0660 + i): str(i) for i in range(10)},
        **{chr(0x06F0 + i): str(i) for i in range(10)},
        "\u066b": ".",
        "\u066c": "",
    }
)
ARABIC = range(0x0600, 0x0700)


def western_digits(value: Any) -> Any:
    """Strings with Arabic-Indic digits as Western ones ("٢" → "2"); other values as sent."""
    return value.translate(DIGITS) if isinstance(value, str) else value


def _is_arabic(value: str) -> bool:
    return any(ord(ch) in ARABIC for ch in value)


def sign(body: bytes, secret: str) -> str:
    """Hex HMAC-SHA256 of the body with the webhook secret (``X-Salla-Signature``)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _amount(value: Any) -> Any:
    """The number inside Salla's ``{"amount": …, "currency": …}`` (or a bare number)."""
    if isinstance(value, dict):
        value = value.get("amount")
    return western_digits(value)


def _date(value: Any) -> datetime | None:
    """A PHP date object, an ISO string, or the envelope's JavaScript date string."""
    if isinstance(value, dict):
        try:
            tz: Any = ZoneInfo(text(value.get("timezone")) or "Asia/Riyadh")
        except (ZoneInfoNotFoundError, ValueError):
            tz = RIYADH
        return parse_time(western_digits(value.get("date")), naive_tz=tz)
    if isinstance(value, str):
        found = parse_time(western_digits(value), naive_tz=RIYADH)
        if found is not None:
            return found
        try:  # "Sun Jun 26 2022 12:21:48 GMT+0300"
            return datetime.strptime(value.strip()[:33], "%a %b %d %Y %H:%M:%S GMT%z")
        except ValueError:
            return None
    return None


def _order(payload: Any) -> dict[str, Any]:
    """The order inside a webhook envelope or an API answer (``{"data": {…}}``)."""
    order = payload
    if isinstance(payload, dict) and "id" not in payload and isinstance(payload.get("data"), dict):
        order = payload["data"]
    if not isinstance(order, dict) or "id" not in order:
        raise MalformedWebhook("not a Salla order (no data.id)")
    return order


class SallaConnector(StoreHttp):
    platform = "salla"

    def __init__(
        self,
        *,
        base_url: str,
        settings: Mapping[str, str],
        webhook_secret: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        # base_url is the store's own address (it names the connection); the API is Salla's.
        self.webhook_secret = webhook_secret
        self.branch_id = settings.get("branch_id", "")
        self._api_url = (settings.get("api_url") or API_URL).rstrip("/")
        self._token = settings.get("access_token", "")
        self._transport = transport

    def _http_options(self) -> dict[str, Any]:
        return {
            "base_url": self._api_url,
            "carrier": "Salla",
            "headers": {"Authorization": f"Bearer {self._token}", "Accept": "application/json"},
        }

    # -- inbound ----------------------------------------------------------------------------

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]
    ) -> Delivery:
        strategy = headers.get("x-salla-security-strategy", "Signature")
        if strategy.lower() != "signature":
            raise WebhookRejected(
                f"security strategy {strategy[:20]!r} is not accepted: register the webhook "
                "with the Signature strategy"
            )
        given = headers.get("x-salla-signature", "").strip().lower()
        if not given:
            raise WebhookRejected("no x-salla-signature header")
        if not self.webhook_secret or not hmac.compare_digest(
            given.encode(), sign(body, self.webhook_secret).encode()
        ):
            raise WebhookRejected("the signature does not match the body")
        payload = read_json(body)
        if not isinstance(payload, dict) or not text(payload.get("event")):
            raise MalformedWebhook("not a Salla event (no event name)")
        if not isinstance(payload.get("data"), dict):
            raise MalformedWebhook("not a Salla event (no data object)")
        event = text(payload["event"], 80)
        ref = text(payload["data"].get("id"), 40)
        stamp = text(payload.get("created_at"), 60) or hashlib.sha256(body).hexdigest()[:32]
        return Delivery(f"{ref}:{event}@{stamp}", event, payload)

    def map_order(self, payload: Any) -> MappedOrder:
        order = _order(payload)
        external_id = text(order["id"], 80)
        amounts = order.get("amounts") or {}
        currency = (
            text(order.get("currency"), 3) or text((amounts.get("total") or {}).get("currency"), 3)
        ).upper()
        refused = unknown_currency(external_id, currency, "currency")
        if refused is not None:
            return refused
        issues: list[Issue] = []

        def minor(value: Any) -> int:
            return to_minor(_amount(value), currency)

        lines: list[LineData] = []
        variants: list[VariantRef] = []
        gross = 0
        for i, item in enumerate(order.get("items") or []):
            where = f"items.{i}"
            sent_quantity = western_digits(item.get("quantity"))
            quantity, fraction = whole_quantity(sent_quantity)
            if quantity < 1:
                issues.append(
                    Issue("line_skipped", f"{where}.quantity", "≥ 1", text(sent_quantity))
                )
                continue
            item_amounts = item.get("amounts") or {}
            unit = minor(item_amounts.get("price_without_tax"))
            if fraction is not None:
                issues.append(
                    Issue(
                        "fractional_quantity", f"{where}.quantity", "a whole number", str(fraction)
                    )
                )
                unit = to_minor(
                    (decimal_of(_amount(item_amounts.get("price_without_tax"))) or 0) * fraction,
                    currency,
                )
            tax = item_amounts.get("tax") or {}
            discount = min(minor(item_amounts.get("total_discount")), unit * quantity)
            name = text(item.get("name")) or text(item.get("sku")) or "item"
            sku = text(item.get("sku"), 80)
            product = item.get("product") or {}
            product_ref = text(product.get("id") or item.get("product_id"), 80)
            variant_ref = text(item.get("product_sku_id"), 80)
            lines.append(
                LineData(
                    line_ref=text(item.get("id"), 80),
                    title_en=name,
                    title_ar=name if _is_arabic(name) else "",
                    quantity=quantity,
                    unit_price_minor=unit,
                    sku=sku,
                    discount_minor=discount,
                    tax_rate=(decimal_of(western_digits(tax.get("percent"))) or Decimal(0)) / 100,
                    tax_minor=minor(tax.get("amount")),
                    product=LineProductData(external_id=f"salla:{product_ref}")
                    if sku and product_ref
                    else None,
                )
            )
            if sku and product_ref:
                variants.append(VariantRef(sku, product_ref, variant_ref))
            gross += unit * quantity
        if not lines:
            issues.append(Issue("no_lines", "items", detail="no item could be imported"))
            return MappedOrder(external_id, None, tuple(issues), tuple(variants))

        sub_total = minor(amounts.get("sub_total"))
        if "sub_total" in amounts and gross != sub_total:
            issues.append(Issue("total_mismatch", "amounts.sub_total", str(gross), str(sub_total)))
        order_discount = sum(
            to_minor(western_digits(d.get("discount")), currency)
            for d in amounts.get("discounts") or []
            if isinstance(d, dict)
        )
        line_discounts = sum(li.discount_minor for li in lines)
        if order_discount > gross - line_discounts:
            issues.append(
                Issue(
                    "discount_mismatch",
                    "amounts.discounts",
                    str(gross - line_discounts),
                    str(order_discount),
                )
            )
            order_discount = gross - line_discounts
        # Cash-on-delivery fees belong to no line: kept with shipping (order-level money).
        shipping = minor(amounts.get("shipping_cost")) + minor(amounts.get("cash_on_delivery"))
        tax_total = minor((amounts.get("tax") or {}).get("amount"))
        line_tax = sum(li.tax_minor or 0 for li in lines)
        if "tax" in amounts and line_tax != tax_total:
            issues.append(Issue("tax_mismatch", "amounts.tax", str(line_tax), str(tax_total)))
        total = minor(amounts.get("total"))
        parts = gross - line_discounts - order_discount + shipping + line_tax
        if parts != total:
            issues.append(Issue("total_mismatch", "amounts.total", str(parts), str(total)))

        status = order.get("status") or {}
        slug = text(status.get("slug") if isinstance(status, dict) else status, 40)
        method = METHODS.get(text(order.get("payment_method")), PaymentMethod.CARD)
        paid = (
            method != PaymentMethod.CASH_ON_DELIVERY
            and not order.get("is_pending_payment")
            and slug not in UNPAID
        ) or (method == PaymentMethod.CASH_ON_DELIVERY and slug == "delivered")
        placed = _date(order.get("date")) or _date(order.get("created_at"))
        if placed is None:
            issues.append(Issue("missing_date", "date"))
            return MappedOrder(external_id, None, tuple(issues), tuple(variants))
        delivered = None
        if slug == "delivered":
            event_time = payload.get("created_at") if payload is not order else None
            delivered = _date(order.get("updated_at")) or _date(event_time)
        customer = order.get("customer") or {}
        shipping_info = order.get("shipping") or {}
        receiver = shipping_info.get("receiver") or {}
        address = shipping_info.get("address") or {}
        mobile = text(western_digits(customer.get("mobile")), 30)
        phone = (
            f"{text(western_digits(customer.get('mobile_code')), 6)}{mobile}"
            if mobile and not mobile.startswith("+")
            else mobile
        )
        name = " ".join(
            p for p in (text(customer.get("first_name")), text(customer.get("last_name"))) if p
        )
        tags = [f"salla:{slug}"] if slug else []
        if slug in RETURNED:
            tags.append("returned_in_store")
        data = OrderData(
            number=text(order.get("reference_id"), 40) or external_id,
            external_id=external_id,
            currency=currency,
            placed_at=placed,
            customer=CustomerData(
                external_id=f"salla:{customer['id']}" if customer.get("id") else None,
                email=text(customer.get("email")),
                phone=phone,
                name=name,
            ),
            lines=lines,
            payment_method=method,
            prices_include_tax=False,
            delivered_at=delivered,
            fulfilled_at=delivered,
            discount_minor=order_discount,
            shipping_minor=shipping,
            shipping_country=text(address.get("country_code"), 2).upper(),
            shipping_address={
                k: v
                for k, v in (
                    ("line1", text(address.get("shipping_address") or address.get("street"))),
                    ("district", text(address.get("block"))),
                    ("city", text(address.get("city"))),
                    ("postcode", text(western_digits(address.get("postal_code")))),
                    ("name", text(receiver.get("name")) or name),
                    ("phone", text(western_digits(receiver.get("phone")), 30) or phone),
                )
                if v
            },
            tags=tags,
            payments=[
                PaymentData(
                    gateway=f"salla:{text(order.get('payment_method'), 30) or 'unknown'}",
                    reference=external_id,
                    method=method,
                    captured_minor=total if paid else 0,
                )
            ],
            total_minor=total,
        )
        return MappedOrder(external_id, data, tuple(issues), tuple(variants))

    def fetch_orders(self, *, since: datetime) -> Iterator[Any]:
        # ``expanded`` lists orders as their detail has them; one listed without its items
        # is fetched on its own.
        page = 1
        while True:
            answer = self.http.request(
                "GET",
                "/orders",
                params={
                    "from_date": since.date().isoformat(),
                    "page": page,
                    "per_page": PER_PAGE,
                    "expanded": "true",
                },
            ).json()
            for summary in answer.get("data") or []:
                if summary.get("items"):
                    yield summary
                    continue
                try:
                    yield self.http.request("GET", f"/orders/{summary['id']}").json()
                except StoreError as exc:
                    yield StoreError(f"order {summary.get('id')}: {exc}", code=exc.code)
            paging = answer.get("pagination") or {}
            current = int(decimal_of(paging.get("currentPage")) or page)
            pages = int(decimal_of(paging.get("totalPages")) or 0)
            if not answer.get("data") or current >= pages:
                return
            page = current + 1

    # -- outbound ---------------------------------------------------------------------------

    def find_refund(self, push: RefundPush) -> str | None:
        answer = self.http.request("GET", f"/orders/{push.order_ref}/histories").json()
        for row in answer.get("data") or []:
            if push.key in str(row.get("note") or ""):
                return text(row.get("id"), 80)
        return None

    def push_refund(self, push: RefundPush) -> str:
        units = ", ".join(f"{line.line_ref}×{line.quantity}" for line in push.lines)
        note = (
            f"Awda return {push.return_number}: refunded "
            f"{format_minor(push.amount_minor, push.currency)} {push.currency} by Awda"
            f"{f' (items {units})' if units else ''} ({push.key})"
        )
        answer = self.http.request(
            "POST", f"/orders/{push.order_ref}/histories", json={"note": note}
        ).json()
        return text((answer.get("data") or {}).get("id"), 80) or push.key

    def push_restock(self, push: RestockPush) -> str:
        # A relative change ("increment"): a sale between read and write can't be overwritten.
        kind, ref = (
            ("variant_id", push.variant_ref) if push.variant_ref else ("id", push.product_ref)
        )
        row: dict[str, Any] = {
            "identifer_type": kind,  # sic: Salla's spelling
            "identifer": ref,
            "quantity": push.quantity,
            "mode": "increment",
        }
        if self.branch_id:
            row["branch"] = self.branch_id
        self.http.request("POST", "/products/quantities/bulk", json={"products": [row]})
        return f"{kind}:{ref}+{push.quantity}"

    def push_note(self, push: NotePush) -> str:
        answer = self.http.request(
            "POST", f"/orders/{push.order_ref}/histories", json={"note": push.note}
        ).json()
        return text((answer.get("data") or {}).get("id"), 80) or push.order_ref

    def find_replacement_order(self, push: ReplacementPush) -> str | None:
        answer = self.http.request("GET", f"/orders/{push.original_ref}/histories").json()
        for row in answer.get("data") or []:
            if push.key in str(row.get("note") or ""):
                return f"note:{text(row.get('id'), 80)}"
        return None

    def create_replacement_order(self, push: ReplacementPush) -> str:
        # Salla's POST /orders takes products at the store's prices and needs Salla's own
        # courier, country and city ids; it can't make the order Awda priced (items paid by
        # the returned ones). Staff are told instead, in the original order's history.
        answer = self.http.request(
            "POST", f"/orders/{push.original_ref}/histories", json={"note": push.note}
        ).json()
        return f"note:{text((answer.get('data') or {}).get('id'), 80) or push.original_ref}"
