"""Signed links into the shopper portal, for e-mails and for the portal itself.

An order link proves the reader received our e-mail, so it opens that order (and its returns)
on any device without the order number and e-mail; it expires after
``AWDA_PORTAL_LINK_DAYS``. The portal resolves the URL names at run time, so this module
needs no import of ``awda.portal``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import translation

from awda.merchants.models import Merchant
from awda.orders.models import Order
from awda.returns.models import Return

# Unchanged from the portal's first version, so links already sent keep working.
_LINK_SALT = "awda.portal.order-link"


def order_link_token(merchant_id: int, order_id: int) -> str:
    """A signed token opening one order of one merchant."""
    return signing.dumps({"m": merchant_id, "o": order_id}, salt=_LINK_SALT)


def read_order_link_token(token: str, merchant_id: int) -> int | None:
    """The order id a token opens for this merchant; None if forged, expired or another
    merchant's."""
    max_age = settings.AWDA_PORTAL_LINK_DAYS * 24 * 3600
    try:
        data = signing.loads(token, salt=_LINK_SALT, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, dict) or data.get("m") != merchant_id:
        return None
    order_id = data.get("o")
    return order_id if isinstance(order_id, int) and not isinstance(order_id, bool) else None


def _absolute(path: str) -> str:
    return settings.AWDA_PUBLIC_URL.rstrip("/") + path


def _language(lang: str) -> str:
    return lang if lang in {code for code, _ in settings.LANGUAGES} else settings.LANGUAGE_CODE


def order_link_url(merchant: Merchant, order: Order, lang: str) -> str:
    """The absolute link that opens ``order`` in the portal, in ``lang`` (``/ar/…``)."""
    token = order_link_token(merchant.pk, order.pk)
    with translation.override(_language(lang)):
        path = reverse("portal:order-link", kwargs={"store": merchant.slug, "token": token})
    return _absolute(path)


def return_url(merchant: Merchant, ret: Return, lang: str) -> str:
    """The absolute link to a return's status page; its ``t`` parameter (the order's token)
    opens it from any device."""
    token = order_link_token(merchant.pk, ret.order_id)
    with translation.override(_language(lang)):
        path = reverse("portal:return", kwargs={"store": merchant.slug, "number": ret.number})
    return f"{_absolute(path)}?{urlencode({'t': token})}"
