"""Test data built through the real services, so tests exercise the paths users take."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.test import Client

from awda.core import clock
from awda.merchants.models import Merchant, StaffMembership
from awda.merchants.services import add_staff, create_merchant, issue_api_key
from awda.orders.models import Order
from awda.orders.services import (
    CustomerData,
    LineData,
    LineProductData,
    OrderData,
    PaymentData,
    upsert_order,
)
from awda.policies.document import PolicyDocument, default_policy
from awda.policies.services import replace_policy
from awda.returns.services import install_default_reasons

__all__ = ["ApiClient", "Merchant", "api_key", "default_policy", "line", "merchant", "order"]

_seq = itertools.count(1)


def today_at(merchant: Merchant) -> date:
    """Today in the merchant's time zone, as its reports count days (Riyadh's day starts at
    21:00 UTC: a UTC date is yesterday there from then on)."""
    return clock.now().astimezone(ZoneInfo(merchant.timezone or "UTC")).date()


def merchant(
    *, slug: str | None = None, currency: str = "SAR", policy: PolicyDocument | None = None
) -> Merchant:
    n = next(_seq)
    m = create_merchant(
        slug=slug or f"store-{n}",
        name=f"Store {n}",
        name_ar=f"متجر {n}",
        currency=currency,
        country="SA",
    )
    install_default_reasons(merchant=m)
    replace_policy(merchant=m, document=policy or default_policy(currency=currency, country="SA"))
    return m


def staff(merchant: Merchant, username: str, role: str) -> StaffMembership:
    """A member of the store's staff with the role, loaded with their user."""
    add_staff(
        merchant=merchant,
        username=username,
        email=f"{username}@example.com",
        password="a long test password",
        role=role,
    )
    return StaffMembership.objects.select_related("user").get(
        merchant=merchant, user__username=username
    )


def api_key(m: Merchant, scopes: Iterable[str] = ("*",)) -> str:
    return issue_api_key(merchant=m, name="tests", scopes=scopes).plaintext


def line(
    ref: str = "1",
    *,
    sku: str | None = None,
    quantity: int = 1,
    price: int = 10000,
    discount: int = 0,
    tax_rate: str = "15",
    category: str | None = "shirts",
    tags: Sequence[str] = (),
    final_sale: bool = False,
    product: str | None = None,
) -> LineData:
    sku = sku or f"SKU-{ref}"
    return LineData(
        line_ref=ref,
        sku=sku,
        title_en=f"Item {ref}",
        title_ar=f"منتج {ref}",
        quantity=quantity,
        unit_price_minor=price,
        discount_minor=discount,
        tax_rate=Decimal(tax_rate),
        product=LineProductData(
            external_id=product or f"P-{sku}",
            category=category,
            supplier="acme",
            tags=list(tags),
            final_sale=final_sale,
        ),
    )


def order(
    m: Merchant,
    *,
    number: str | None = None,
    lines: Sequence[LineData] | None = None,
    delivered_days_ago: int | None = 3,
    payment_method: str = "card",
    email: str = "shopper@example.com",
    country: str = "SA",
    discount: int = 0,
    prices_include_tax: bool = True,
) -> Order:
    now = clock.now()
    lines = list(lines or [line()])
    delivered = now - timedelta(days=delivered_days_ago) if delivered_days_ago is not None else None
    placed = (delivered or now) - timedelta(days=2)
    gross = sum(li.unit_price_minor * li.quantity - li.discount_minor for li in lines) - discount
    data = OrderData(
        number=number or f"100{next(_seq)}",
        currency=m.currency,
        placed_at=placed,
        delivered_at=delivered,
        fulfilled_at=placed + timedelta(days=1) if delivered else None,
        customer=CustomerData(email=email, name="Noura", phone="+966500000001"),
        lines=lines,
        payment_method=payment_method,
        shipping_country=country,
        discount_minor=discount,
        prices_include_tax=prices_include_tax,
        payments=(
            [
                PaymentData(
                    gateway="sandbox",
                    reference=f"pi_{next(_seq)}",
                    method=payment_method,
                    captured_minor=max(gross, 0),
                )
            ]
            if payment_method != "cash_on_delivery"
            else []
        ),
    )
    o, _ = upsert_order(merchant=m, data=data)
    return o


class ApiClient:
    """Django's test client with the API key and JSON bodies."""

    def __init__(self, key: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Any:
        kwargs: dict[str, Any] = {"headers": {**self.headers, **(headers or {})}}
        if body is not None:
            kwargs["data"] = (
                body if isinstance(body, (str, bytes)) else json.dumps(body, default=str)
            )
            kwargs["content_type"] = content_type
        return getattr(self.client, method)(f"/api/v1{path}", **kwargs)

    def get(self, path: str, **kw: Any) -> Any:
        return self._call("get", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self._call("post", path, body if body is not None else {}, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Any:
        return self._call("put", path, body, **kw)


def days_ago(n: int) -> datetime:
    return clock.now() - timedelta(days=n)


def run_jobs() -> None:
    """What the worker would do: dispatch every pending event (handlers may add more)."""
    from awda import tasks
    from awda.core import outbox
    from awda.core.models import Event

    for _ in range(10):
        pending = list(
            Event.objects.filter(dispatched_at__isnull=True)
            .order_by("created_at")
            .values_list("pk", flat=True)
        )
        if not pending:
            return
        for pk in pending:
            outbox.dispatch(str(pk), tasks.HANDLERS)
