"""What a shopper may see: the orders they proved are theirs, in this browser session.

Proof is the order number with the order's e-mail or phone, or a signed link from an e-mail
we sent. Nothing else opens an order or its returns.
"""

from __future__ import annotations

from django.http import HttpRequest

from awda.merchants.models import Merchant
from awda.notifications import links

SESSION_KEY = "awda_portal_orders"


def grant(request: HttpRequest, merchant: Merchant, order_id: int) -> None:
    """Let this session see one order of one merchant (and that order's returns)."""
    grants: dict[str, list[int]] = request.session.get(SESSION_KEY, {})
    orders = grants.setdefault(str(merchant.pk), [])
    if order_id not in orders:
        orders.append(order_id)
        del orders[:-20]  # a shopper rarely has more open; the oldest fall off
    request.session[SESSION_KEY] = grants
    request.session.cycle_key()  # a new session id once access changes: no fixation


def may_see(request: HttpRequest, merchant: Merchant, order_id: int) -> bool:
    grants: dict[str, list[int]] = request.session.get(SESSION_KEY, {})
    return order_id in grants.get(str(merchant.pk), [])


def order_link_token(merchant: Merchant, order_id: int) -> str:
    """A signed token opening one order; it expires after ``AWDA_PORTAL_LINK_DAYS``."""
    return links.order_link_token(merchant.pk, order_id)


def read_order_link_token(token: str, merchant: Merchant) -> int | None:
    """The order id a token opens for this merchant, or None if forged, expired or another
    merchant's."""
    return links.read_order_link_token(token, merchant.pk)
