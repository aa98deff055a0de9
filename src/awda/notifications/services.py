"""E-mails to shoppers: a return's confirmation and the link to their order.

Each mail is rendered in the shopper's language (Arabic right to left, or English) as plain
text plus HTML and handed to Django's mail backend (SMTP, or files under the data dir).
Callers are outbox handlers and the portal, never code inside a transaction: a mail can't
be taken back when a transaction rolls back.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import dateformat, timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from awda.core.errors import NotFound
from awda.core.money import Money
from awda.core.outbox import record_event
from awda.merchants.branding import Storefront, storefront
from awda.merchants.models import Merchant
from awda.notifications.links import order_link_url, return_url
from awda.orders.models import Order
from awda.returns.models import Resolution, Return, ReturnItem, ReturnMethod, ReturnStatus
from awda.returns.selectors import money_by_resolution

log = logging.getLogger(__name__)

# A return closed before its confirmation went out (the worker was late) gets no
# "confirmed" mail: it would contradict what the shopper sees on the status page.
_NOT_CONFIRMED = {ReturnStatus.REJECTED, ReturnStatus.CANCELLED, ReturnStatus.EXPIRED}


@dataclass(frozen=True)
class _Item:
    title: str
    quantity: int
    resolution: str


def send_return_confirmation(*, return_id: int) -> None:
    """E-mail the shopper that their return is registered: items, money, next steps and the
    status link. Nothing is sent when the customer has no e-mail address."""
    ret = Return.objects.select_related("merchant", "customer").filter(pk=return_id).first()
    if ret is None:
        raise NotFound(details={"return_id": return_id})
    if not ret.customer.email:
        return
    if ret.status in _NOT_CONFIRMED:
        log.debug("return %s is %s already: no confirmation mail", ret.number, ret.status)
        return
    merchant = ret.merchant
    items = list(
        ReturnItem.objects.for_merchant(merchant)
        .filter(return_request=ret)
        .select_related("order_line")
        .order_by("pk")
    )
    lang = _language(ret.language, merchant)
    with translation.override(lang):
        store = storefront(merchant, lang)
        if ret.status == ReturnStatus.PENDING_REVIEW:
            subject = _("We have received your return %(number)s at %(store)s")
        else:
            subject = _("Your return %(number)s at %(store)s is confirmed")
        money = _money_lines(ret, items, lang)
        context = {
            **_base_context(lang, store),
            "customer_name": ret.customer.name,
            "number": ret.number,
            "pending_review": ret.status == ReturnStatus.PENDING_REVIEW,
            "items": [_item(item, lang) for item in items],
            "money": money,
            "next_steps": _next_steps(ret, merchant, money=bool(money)),
            "url": return_url(merchant, ret, lang),
        }
        _send(
            template="return_confirmation",
            subject=subject % {"number": ret.number, "store": store.display_name},
            to=ret.customer.email,
            lang=lang,
            context=context,
        )


def request_order_link(*, merchant: Merchant, order: Order, language: str) -> None:
    """Queue the "e-mail me a link" mail: an ``OrderLinkRequested`` event the worker turns
    into ``send_order_link``, so the shopper's page never waits for the mail server."""
    if order.merchant_id != merchant.pk:
        raise NotFound(details={"order": order.number})
    with transaction.atomic():
        record_event(
            "OrderLinkRequested",
            {"order_id": order.pk, "language": language},
            merchant_id=merchant.pk,
            aggregate_type="order",
            aggregate_id=order.pk,
        )


def send_order_link_for_event(*, order_id: int, merchant_id: int, language: str) -> None:
    """The worker's side of ``request_order_link``."""
    order = (
        Order.objects.select_related("customer", "merchant")
        .filter(pk=order_id, merchant_id=merchant_id)
        .first()
    )
    if order is None:
        return  # the order was deleted since: nothing to link to
    send_order_link(merchant=order.merchant, order=order, language=language)


def send_order_link(*, merchant: Merchant, order: Order, language: str) -> None:
    """E-mail the shopper a signed link that opens their order in the portal (the portal's
    "e-mail me a link"). Nothing is sent when the customer has no e-mail address."""
    if order.merchant_id != merchant.pk:
        raise NotFound(details={"order": order.number})
    customer = order.customer
    if not customer.email:
        return
    lang = _language(language, merchant)
    with translation.override(lang):
        store = storefront(merchant, lang)
        context = {
            **_base_context(lang, store),
            "customer_name": customer.name,
            "order_number": order.number,
            "url": order_link_url(merchant, order, lang),
            "link_days": settings.AWDA_PORTAL_LINK_DAYS,
        }
        subject = _("Your link to order %(number)s at %(store)s") % {
            "number": order.number,
            "store": store.display_name,
        }
        _send(
            template="order_link",
            subject=subject,
            to=customer.email,
            lang=lang,
            context=context,
        )


# -- rendering ---------------------------------------------------------------------------------


def _language(requested: str, merchant: Merchant) -> str:
    supported = {code for code, _name in settings.LANGUAGES}
    for lang in (requested, merchant.default_language):
        if lang in supported:
            return lang
    return str(settings.LANGUAGE_CODE)


def _base_context(lang: str, store: Storefront) -> dict[str, Any]:
    return {"lang": lang, "direction": "rtl" if lang == "ar" else "ltr", "store": store}


def _item(item: ReturnItem, lang: str) -> _Item:
    line = item.order_line
    title = line.title_ar if lang == "ar" and line.title_ar else line.title_en
    return _Item(
        title=title,
        quantity=item.quantity,
        resolution=str(Resolution(item.resolution).label),
    )


def _money_lines(ret: Return, items: list[ReturnItem], lang: str) -> list[tuple[str, str]]:
    """(label, amount) for the refund and the store credit the return brings."""
    money = money_by_resolution(ret, items)
    lines = []
    if money.refund_minor:
        lines.append(
            (str(Resolution.REFUND.label), Money(money.refund_minor, ret.currency).format(lang))
        )
    if money.store_credit_minor:
        lines.append(
            (
                str(Resolution.STORE_CREDIT.label),
                Money(money.store_credit_minor, ret.currency).format(lang),
            )
        )
    return lines


def _next_steps(ret: Return, merchant: Merchant, *, money: bool) -> list[str]:
    """What the shopper does (or waits for) now, in the active language."""
    if ret.status == ReturnStatus.PENDING_REVIEW:
        return [
            _(
                "We will check your request and any photos you sent, and e-mail you as soon "
                "as we have decided."
            )
        ]
    if ret.method == ReturnMethod.KEEP_ITEM:
        steps = [_("You don't need to send anything back: keep the item.")]
    elif ret.status == ReturnStatus.APPROVED:
        steps = [_("Pack the items securely, in their original packaging if you still have it.")]
        steps.append(str(_SEND_BACK[ret.method]))
        if ret.expires_at is not None and ret.method != ReturnMethod.PICKUP:
            steps.append(
                _("Please send the parcel by %(date)s.")
                % {"date": _local_date(ret.expires_at, merchant)}
            )
    else:
        steps = [_("Follow your return at the link below.")]
    when = _MONEY_TIMING.get(ret.refund_timing)
    if money and when is not None and ret.status in {ReturnStatus.APPROVED, ReturnStatus.COMPLETED}:
        steps.append(str(when))
    return steps


_SEND_BACK: dict[str, Promise] = {
    ReturnMethod.LABEL: gettext_lazy(
        "Print the return label from your return page, stick it on the parcel and hand the "
        "parcel to the carrier."
    ),
    ReturnMethod.QR_DROPOFF: gettext_lazy(
        "Show the QR code from your return page at a drop-off point: no printer needed."
    ),
    ReturnMethod.PICKUP: gettext_lazy(
        "A courier will collect the parcel from your address: please have it packed and ready."
    ),
}

# By the policy's refund timing (DESIGN.md §6): when the refund or store credit is issued.
_MONEY_TIMING: dict[str, Promise] = {
    "immediate": gettext_lazy("Your money is on its way now that your return is approved."),
    "first_scan": gettext_lazy("Your money is sent as soon as the carrier scans your parcel."),
    "delivered": gettext_lazy("Your money is sent as soon as your parcel reaches us."),
    "inspected": gettext_lazy("Your money is sent once we have checked the returned items."),
}


def _local_date(moment: datetime, merchant: Merchant) -> str:
    try:
        zone = ZoneInfo(merchant.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return dateformat.format(timezone.localtime(moment, zone), "j F Y")


def _send(*, template: str, subject: str, to: str, lang: str, context: dict[str, Any]) -> None:
    text = render_to_string(f"notifications/{template}.txt", context)
    html = render_to_string(f"notifications/{template}.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # a header: never a line break from a store name
        body=_tidy(text),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        # RFC 3834: tells auto-responders (out-of-office replies) not to answer.
        headers={"Auto-Submitted": "auto-generated", "Content-Language": lang},
    )
    message.attach_alternative(html, "text/html")
    message.send()


def _tidy(text: str) -> str:
    """Template tags leave blank lines and trailing spaces behind in plain text."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"
