"""Messages to shoppers: a return's confirmation, the link to their order, and each later step
of the return (label, pickup, parcel on its way, delivered, received, rejected, expiring,
expired, money issued) by e-mail and by text message.

Each message is rendered in the shopper's language (Arabic right to left, or English); a
mail as plain text plus HTML, handed to Django's mail backend (SMTP, or files under the data
dir), a text message to the configured channel (``channels``). Callers are outbox handlers
and the portal, never code inside a transaction: a message can't be taken back when a
transaction rolls back.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from email.mime.image import MIMEImage
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import segno
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import dateformat, timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from awda.core import clock
from awda.core.errors import NotFound
from awda.core.formatting import (
    FormatOptions,
    format_date,
    format_money,
    format_number,
    format_time,
)
from awda.core.money import Money
from awda.core.outbox import record_event
from awda.merchants.branding import Storefront, storefront
from awda.merchants.models import Merchant
from awda.merchants.selectors import owner_emails, staff_language
from awda.notifications.channels import text_channel
from awda.notifications.links import order_link_url, return_url
from awda.notifications.steps import RESOLUTIONS, STEP_FOR_EVENT, STEPS, ResolutionCopy, StepCopy
from awda.orders.models import Customer, Order
from awda.returns.models import Resolution, Return, ReturnItem, ReturnMethod, ReturnStatus
from awda.returns.selectors import money_by_resolution
from awda.shipping.models import Pickup, PickupStatus
from awda.shipping.selectors import (
    ParcelView,
    label_data,
    nearby_drop_off_points,
    parcel_for_return,
    shipment_for_return,
)
from awda.support.models import GoodwillGrant, GoodwillKind
from awda.wallet.models import CreditAccount, LedgerEntry
from awda.wallet.selectors import balance_of

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
    ret = _load_return(return_id)
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


# -- the steps of a return ----------------------------------------------------------------------

# The parcel is on its way to the store (or should be): its carrier and tracking are news.
_SHIPPING = {ReturnStatus.APPROVED, ReturnStatus.IN_TRANSIT, ReturnStatus.DELIVERED}


@dataclass(frozen=True)
class _Step:
    """A step of a return its shopper is told about, before any language is chosen."""

    ret: Return
    copy: StepCopy
    parcel: ParcelView | None
    reason: str = ""


def send_step_email(*, event: str, payload: Mapping[str, Any]) -> None:
    """E-mail the shopper the step of their return that ``event`` records (``steps.STEPS``):
    with the label or QR code when the step carries the parcel. Nothing is sent when the
    customer has no e-mail address or the step is no longer news."""
    step = _step(event, payload)
    if step is None or not step.ret.customer.email:
        return
    ret, copy = step.ret, step.copy
    with _shopper_language(ret) as (lang, store):
        values = _step_values(step, store, lang)
        details = [(_("Return number"), ret.number)]
        if step.parcel is not None and ret.status in _SHIPPING:
            details += [
                (_("Carrier"), step.parcel.carrier_name),
                (_("Tracking number"), step.parcel.tracking_number),
            ]
        if copy.shows_deadline and values["send_by"]:
            details.append((_("Send by"), values["send_by"]))
        if step.reason:
            details.append((_("Reason"), step.reason))
        mail = _StepMail(
            subject=str(copy.subject) % values,
            headline=str(copy.headline),
            paragraphs=[str(p) % values for p in copy.paragraphs],
            details=details,
        )
        if copy.carries_parcel and step.parcel is not None:
            _add_parcel(mail, ret, step.parcel, lang)
        _send_step_mail(ret, lang, store, mail)


def send_step_text(*, event: str, payload: Mapping[str, Any]) -> None:
    """The same step as a short text message with the status link, to the shopper's phone
    (nothing without a phone number or a text channel)."""
    step = _step(event, payload)
    if step is not None:
        _send_text(
            step.ret, lambda lang, store: str(step.copy.text) % _step_values(step, store, lang)
        )


def _step(event: str, payload: Mapping[str, Any]) -> _Step | None:
    """The step ``event`` tells the shopper of, or None when it is no longer news (the return
    moved on, the booking was replaced) or the event tells them nothing."""
    ret = (
        Return.objects.select_related("merchant", "customer", "order")
        .filter(pk=int(payload["return_id"]))
        .first()
    )
    if ret is None:
        return None
    parcel = parcel_for_return(merchant_id=ret.merchant_id, return_id=ret.pk)
    if event == "LabelIssued":
        key = _ready_step(parcel)
    elif event == "PickupScheduled":
        key = _pickup_step(parcel, int(payload["pickup_id"]))
    else:
        key = STEP_FOR_EVENT.get(event, "")
    copy = STEPS.get(key)
    if copy is None or ret.status not in copy.current:
        return None
    if key == "expiring" and (ret.expires_at is None or ret.expires_at <= clock.now()):
        return None  # the worker came too late: "send it by" a past date helps no one
    reason = (ret.rejection_reason or str(payload.get("note", ""))) if key == "rejected" else ""
    return _Step(ret=ret, copy=copy, parcel=parcel, reason=reason)


def _ready_step(parcel: ParcelView | None) -> str:
    """How to send the parcel back, by its method; "" when it was cancelled since."""
    if parcel is None:
        return ""
    booked = parcel.method == ReturnMethod.PICKUP and parcel.pickup_start is not None
    return f"ready_{parcel.method}" + ("_booked" if booked else "")


def _pickup_step(parcel: ParcelView | None, pickup_id: int) -> str:
    """A first booking or a new time; "" when this booking was replaced or called off since
    (that change has its own message)."""
    if parcel is None:
        return ""
    pickups = Pickup.objects.filter(shipment_id=parcel.shipment_id)
    if not pickups.filter(pk=pickup_id, status=PickupStatus.SCHEDULED).exists():
        return ""
    return "pickup_rebooked" if pickups.filter(pk__lt=pickup_id).exists() else "pickup_booked"


def _step_values(step: _Step, store: Storefront, lang: str) -> dict[str, str]:
    """The placeholders of ``steps.STEPS``, formatted for ``lang`` in the merchant's zone."""
    ret, parcel = step.ret, step.parcel
    options = FormatOptions.of(ret.merchant)

    def day(moment: datetime | None) -> str:
        if moment is None:
            return ""
        return format_date(
            moment,
            lang,
            tz=options.timezone,
            hijri=options.hijri,
            arabic_digits=options.arabic_digits,
        )

    def hour(moment: datetime | None) -> str:
        if moment is None:
            return ""
        return format_time(moment, lang, tz=options.timezone, arabic_digits=options.arabic_digits)

    start = parcel.pickup_start if parcel else None
    end = parcel.pickup_end if parcel else None
    return {
        "number": ret.number,
        "store": store.display_name,
        "carrier": parcel.carrier_name if parcel else "",
        "send_by": day(ret.expires_at),
        "pickup_date": day(start),
        "pickup_start": hour(start),
        "pickup_end": hour(end),
    }


# -- items the warehouse rejected ----------------------------------------------------------------


def send_rejected_items(*, return_id: int, payload: Mapping[str, Any]) -> None:
    """E-mail the shopper which items the warehouse did not accept and why (its note), and
    what happens to them: sent back (carrier and tracking number), kept by the store, or to
    be sent back. ``payload`` is ``RejectedItemsHandled``'s. Nothing is sent when the
    customer has no e-mail address."""
    ret = _load_return(return_id)
    if not ret.customer.email:
        return
    lines = {
        item.order_line.line_ref: item
        for item in ReturnItem.objects.filter(return_request=ret).select_related("order_line")
    }
    outcome = str(payload.get("outcome", ""))
    with _shopper_language(ret) as (lang, store):
        values = {
            "number": ret.number,
            "store": store.display_name,
            "carrier": str(payload.get("carrier", "")),
        }
        details = [(_("Return number"), ret.number)]
        for entry in payload.get("items", ()):
            item = lines.get(str(entry.get("line_ref")))
            if item is None:
                continue
            title = f"{_item(item, lang).title} × {item.quantity}"
            details.append((title, str(entry.get("note") or "") or _("No reason was given.")))
        if outcome == "sent_back":
            details.append((_("Tracking number"), str(payload.get("tracking_number", ""))))
        mail = _StepMail(
            subject=_("Items from your return %(number)s at %(store)s were not accepted") % values,
            headline=_("Some items were not accepted"),
            paragraphs=[
                _(
                    "%(store)s checked your return and could not accept the items below. "
                    "Next to each item is the reason."
                )
                % values,
                str(_REJECTED_NEXT.get(outcome, _REJECTED_NEXT["send_back_pending"])) % values,
            ],
            details=details,
        )
        _send_step_mail(ret, lang, store, mail)


# What happens to the rejected items, by the outcome the warehouse recorded.
_REJECTED_NEXT: dict[str, Promise] = {
    "sent_back": gettext_lazy(
        "We are sending these items back to you with %(carrier)s: you can follow the parcel "
        "with the tracking number below."
    ),
    "kept": gettext_lazy(
        "Under the store's return policy, items that are not accepted stay with %(store)s and "
        "are not sent back."
    ),
    "send_back_pending": gettext_lazy(
        "We will send these items back to you; follow your return at the link below."
    ),
}


# -- money issued -------------------------------------------------------------------------------


def send_resolution_issued(
    *, return_id: int, kind: str, amount_minor: int, currency: str, detail: str = ""
) -> None:
    """E-mail the shopper that their refund, store credit or exchange was issued.

    ``kind`` is refund, bank_transfer, store_credit or exchange; ``detail`` is, by kind, the
    card's last four digits, the bank account's last four, the store credit code, or the
    replacement order's number (plain data: the wording around it is ours). Nothing is sent
    when the customer has no e-mail address.
    """
    send_resolution_mail(
        ret=_load_return(return_id),
        kind=kind,
        amount_minor=amount_minor,
        currency=currency,
        detail=detail,
    )


def return_by_number(*, merchant_id: int, number: str) -> Return | None:
    """The return a money event names (by its number), loaded as the mails need it (its
    store and shopper; the order's id is enough for the link)."""
    return (
        Return.objects.select_related("merchant", "customer")
        .filter(merchant_id=merchant_id, number=number)
        .first()
    )


def send_resolution_mail(
    *, ret: Return, kind: str, amount_minor: int, currency: str, detail: str = ""
) -> None:
    """``send_resolution_issued`` for a return the caller loaded already (by
    ``return_by_number``): the worker's money mails read it once, not twice."""
    copy = _resolution_copy(kind)
    if not ret.customer.email:
        return
    with _shopper_language(ret) as (lang, store):
        values = _resolution_values(ret, store, lang, amount_minor, currency, detail)
        issued = copy.issued_with_detail if detail and copy.issued_with_detail else copy.issued
        details = [(_("Return number"), ret.number)]
        if detail and copy.detail_label is not None:
            details.append((str(copy.detail_label), detail))
        mail = _StepMail(
            subject=str(copy.subject) % values,
            headline=str(copy.headline),
            paragraphs=[str(issued) % values, str(copy.note) % values],
            details=details,
        )
        _send_step_mail(ret, lang, store, mail)


def text_resolution_issued(
    *, return_id: int, kind: str, amount_minor: int, currency: str, detail: str = ""
) -> None:
    """``send_resolution_issued`` as a short text message (its own handler, so a text that
    fails is retried without mailing twice)."""
    copy = _resolution_copy(kind)
    ret = _load_return(return_id)
    _send_text(
        ret,
        lambda lang, store: (
            str(copy.text) % _resolution_values(ret, store, lang, amount_minor, currency, detail)
        ),
    )


def _resolution_copy(kind: str) -> ResolutionCopy:
    copy = RESOLUTIONS.get(kind)
    if copy is None:
        raise ValueError(f"unknown resolution kind {kind!r}; one of {sorted(RESOLUTIONS)}")
    return copy


def _resolution_values(
    ret: Return, store: Storefront, lang: str, amount_minor: int, currency: str, detail: str
) -> dict[str, str]:
    amount = format_money(amount_minor, currency, lang, arabic_digits=ret.merchant.arabic_digits)
    return {"number": ret.number, "store": store.display_name, "amount": amount, "detail": detail}


# -- a payment link to pay (exchanges) ----------------------------------------------------------

# By the payment's purpose (exchanges.PaymentPurpose): why the shopper is asked to pay.
_PAYMENT_LINK_COPY: dict[str, tuple[Promise, Promise, Promise]] = {
    "difference": (
        gettext_lazy("Pay the difference for your exchange (return %(number)s at %(store)s)"),
        gettext_lazy("One step left for your exchange"),
        gettext_lazy(
            "Your new item costs more than the one you are returning. Pay the difference of "
            "%(amount)s with the secure link below, and we will send your replacement as soon "
            "as it is paid."
        ),
    ),
    "unreturned": (
        gettext_lazy("Payment for items not returned (return %(number)s at %(store)s)"),
        gettext_lazy("The items you exchanged did not come back"),
        gettext_lazy(
            "We sent your replacement, but the items you exchanged did not come back to us. "
            "Please pay %(amount)s for them with the secure link below."
        ),
    ),
}


def send_payment_link(
    *, return_id: int, purpose: str, amount_minor: int, currency: str, url: str
) -> None:
    """E-mail the shopper the link to pay an exchange's price difference (or the value of
    items that never came back), with the amount in their language. Nothing is sent when the
    customer has no e-mail address."""
    copy = _PAYMENT_LINK_COPY.get(purpose)
    if copy is None:
        raise ValueError(
            f"unknown payment purpose {purpose!r}; one of {sorted(_PAYMENT_LINK_COPY)}"
        )
    ret = _load_return(return_id)
    if not ret.customer.email:
        return
    subject, headline, paragraph = copy
    with _shopper_language(ret) as (lang, store):
        amount = format_money(
            amount_minor, currency, lang, arabic_digits=ret.merchant.arabic_digits
        )
        values = {"number": ret.number, "store": store.display_name, "amount": amount}
        _send(
            template="payment_link",
            subject=str(subject) % values,
            to=ret.customer.email,
            lang=lang,
            context={
                **_base_context(lang, store),
                "customer_name": ret.customer.name,
                "number": ret.number,
                "headline": str(headline),
                "paragraph": str(paragraph) % values,
                "amount": amount,
                "pay_url": url,
                "url": return_url(ret.merchant, ret, lang),
            },
        )


# -- store credit about to expire ---------------------------------------------------------------


def send_credit_expiring(*, account_id: int, entry_ids: Sequence[int]) -> None:
    """E-mail the shopper that part of their store credit expires soon: what is still
    unspent of the lots ``entry_ids`` (the reminder job's), when, and their balance.

    Nothing is sent when the customer has no e-mail address or has spent (or lost) those
    lots since the job ran: a reminder of nothing would only confuse."""
    account = (
        CreditAccount.objects.select_related("merchant", "customer").filter(pk=account_id).first()
    )
    if account is None or not account.customer.email:
        return
    now = clock.now()
    lots = list(
        LedgerEntry.objects.filter(
            account_id=account.pk, pk__in=entry_ids, remaining_minor__gt=0, expires_at__gt=now
        ).values_list("remaining_minor", "expires_at")
    )
    if not lots:
        return
    merchant, customer = account.merchant, account.customer
    lang = _language(_customer_language(customer), merchant)
    digits = merchant.arabic_digits
    with translation.override(lang):
        store = storefront(merchant, lang)
        date = _local_date(min(expires for _r, expires in lots if expires), merchant)
        context = {
            **_base_context(lang, store),
            "customer_name": customer.name,
            "amount": format_money(
                sum(r for r, _e in lots), account.currency, lang, arabic_digits=digits
            ),
            "date": date,
            "balance": format_money(
                balance_of(account, now=now).balance.minor,
                account.currency,
                lang,
                arabic_digits=digits,
            ),
        }
        subject = _("Your store credit at %(store)s expires on %(date)s") % {
            "store": store.display_name,
            "date": date,
        }
        _send(
            template="credit_expiring",
            subject=subject,
            to=customer.email,
            lang=lang,
            context=context,
        )


def _customer_language(customer: Customer) -> str:
    """The language the shopper last used with the store: their own, or their latest return's."""
    if customer.language:
        return str(customer.language)
    latest = (
        Return.objects.filter(customer_id=customer.pk)
        .order_by("-requested_at")
        .values_list("language", flat=True)
        .first()
    )
    return str(latest or "")


# -- step mails and texts -----------------------------------------------------------------------


@dataclass
class _StepMail:
    """What ``return_step.html`` / ``.txt`` show, in the shopper's language already."""

    subject: str
    headline: str
    paragraphs: list[str]
    details: list[tuple[str, str]]
    files: list[_File] | None = None
    qr: _Image | None = None
    drop_off_points: list[dict[str, str]] | None = None


@dataclass(frozen=True)
class _File:
    filename: str
    content: bytes
    mimetype: str


@dataclass(frozen=True)
class _Image:
    """An image shown in the HTML from its own MIME part (``cid:``), not from a server or a
    data URI: mail clients show those, and block or drop the others."""

    cid: str
    filename: str
    content: bytes
    size: int  # pixels, square


def _load_return(return_id: int) -> Return:
    ret = (
        Return.objects.select_related("merchant", "customer", "order").filter(pk=return_id).first()
    )
    if ret is None:
        raise NotFound(details={"return_id": return_id})
    return ret


@contextmanager
def _shopper_language(ret: Return) -> Iterator[tuple[str, Storefront]]:
    lang = _language(ret.language, ret.merchant)
    with translation.override(lang):
        yield lang, storefront(ret.merchant, lang)


def _add_parcel(mail: _StepMail, ret: Return, parcel: ParcelView, lang: str) -> None:
    """The label as an A4 PDF (label method), or the QR code and nearby drop-off points."""
    if parcel.method == ReturnMethod.LABEL:
        pdf = _label_pdf(ret)
        if pdf is not None:
            mail.files = [_File(f"label-{ret.number}.pdf", pdf, "application/pdf")]
    elif parcel.method == ReturnMethod.QR_DROPOFF:
        mail.qr = _qr_image(parcel.qr_payload or parcel.tracking_number, ret.number)
        mail.drop_off_points = _drop_off_points(ret, lang)


def _label_pdf(ret: Return) -> bytes | None:
    from awda.shipping.labels import render_pdf

    shipment = shipment_for_return(merchant=ret.merchant, number=ret.number)
    if shipment is None:
        return None
    return render_pdf(label_data(shipment, ret.merchant), size="a4")


def _qr_image(payload: str, number: str) -> _Image:
    qr = segno.make(payload, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=6, border=4)
    width, _height = qr.symbol_size(scale=6, border=4)
    return _Image(
        cid=f"qr-{number}@awda",
        filename=f"qr-{number}.png",
        content=buffer.getvalue(),
        size=int(width),
    )


def _drop_off_points(ret: Return, lang: str) -> list[dict[str, str]]:
    order = ret.order
    points = nearby_drop_off_points(
        merchant=ret.merchant,
        country=order.shipping_country or ret.merchant.country,
        city=str((order.shipping_address or {}).get("city", "")),
        limit=3,
    )

    def local(en: str, ar: str) -> str:
        return ar if lang == "ar" and ar else en

    return [
        {
            "name": local(p.name_en, p.name_ar),
            "address": ", ".join(
                part
                for part in (local(p.address_en, p.address_ar), local(p.city_en, p.city_ar))
                if part
            ),
            "hours": local(p.hours_en, p.hours_ar),
        }
        for p in points
    ]


def _send_step_mail(ret: Return, lang: str, store: Storefront, mail: _StepMail) -> None:
    context = {
        **_base_context(lang, store),
        "customer_name": ret.customer.name,
        "number": ret.number,
        "headline": mail.headline,
        "paragraphs": mail.paragraphs,
        "details": mail.details,
        "qr": mail.qr,
        "label_attached": bool(mail.files),
        "drop_off_points": mail.drop_off_points or [],
        "url": return_url(ret.merchant, ret, lang),
    }
    _send(
        template="return_step",
        subject=mail.subject,
        to=ret.customer.email,
        lang=lang,
        context=context,
        files=mail.files or (),
        images=[mail.qr] if mail.qr else (),
    )


def _send_text(ret: Return, compose: Callable[[str, Storefront], str]) -> None:
    """``compose(lang, store)`` gives the message; the status link goes after it."""
    phone = ret.customer.phone
    channel = text_channel() if phone else None
    if channel is None:
        return
    with _shopper_language(ret) as (lang, store):
        text = f"{compose(lang, store)} {return_url(ret.merchant, ret, lang)}"
    # Plain spaces for the no-break ones dates and amounts carry: one character outside the
    # GSM alphabet turns an English SMS into UCS-2, which holds 70 characters, not 160.
    channel.send(to=phone, text=" ".join(text.split()), language=lang)


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


def _send(
    *,
    template: str,
    subject: str,
    to: str,
    lang: str,
    context: dict[str, Any],
    files: Sequence[_File] = (),
    images: Sequence[_Image] = (),
) -> None:
    text = render_to_string(f"notifications/{template}.txt", context)
    html = render_to_string(f"notifications/{template}.html", context)
    # multipart/related when the HTML shows images of its own: they belong to it, rather
    # than being attachments the reader has to open.
    message = (_WithImages if images else EmailMultiAlternatives)(
        subject=" ".join(subject.split()),  # a header: never a line break from a store name
        body=_tidy(text),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        # RFC 3834: tells auto-responders (out-of-office replies) not to answer.
        headers={"Auto-Submitted": "auto-generated", "Content-Language": lang},
    )
    message.attach_alternative(html, "text/html")
    for file in files:
        message.attach(file.filename, file.content, file.mimetype)
    for image in images:
        part = MIMEImage(image.content, "png")
        part.add_header("Content-ID", f"<{image.cid}>")
        part.add_header("Content-Disposition", "inline", filename=image.filename)
        message.attach(part)
    message.send()


class _WithImages(EmailMultiAlternatives):
    mixed_subtype = "related"


def _tidy(text: str) -> str:
    """Template tags leave blank lines and trailing spaces behind in plain text."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


# -- goodwill -----------------------------------------------------------------------------------


def send_goodwill_granted(*, grant_id: int, code: str = "") -> None:
    """Tell the customer what the store gave them as goodwill: store credit (with the wallet
    ``code`` when it was just made), a free-shipping code, or a refund to their payment.
    Nothing is sent when the customer has no e-mail address."""
    grant = GoodwillGrant.objects.select_related("merchant", "customer").filter(pk=grant_id).first()
    if grant is None or not grant.customer.email:
        return
    merchant, customer = grant.merchant, grant.customer
    lang = _language(_customer_language(customer), merchant)
    with translation.override(lang):
        store = storefront(merchant, lang)
        amount = format_money(
            grant.amount_minor, grant.currency, lang, arabic_digits=merchant.arabic_digits
        )
        context = {
            **_base_context(lang, store),
            "customer_name": customer.name,
            "kind": grant.kind,
            "amount": amount,
            "code": grant.code if grant.kind == GoodwillKind.FREE_SHIPPING else code,
        }
        subject = _("A gesture from %(store)s") % {"store": store.display_name}
        _send(template="goodwill", subject=subject, to=customer.email, lang=lang, context=context)


# -- analytics alerts ---------------------------------------------------------------------------


def send_product_flagged(*, merchant_id: int, payload: Mapping[str, Any]) -> int:
    """Tell the store's owners that a product is now returned far more often than its
    category (``ProductFlagged``'s payload), in the store's language. Returns the mails sent."""
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        return 0
    emails = owner_emails(merchant)
    lang = staff_language(merchant)
    with translation.override(lang):
        store = storefront(merchant, lang)
        digits = merchant.arabic_digits and lang == "ar"

        def pct(key: str) -> str:
            rate = (Decimal(str(payload.get(key, 0))) * 100).quantize(Decimal("0.1"))
            return format_number(rate, lang, arabic_digits=digits) + "%"

        def count(key: str) -> str:
            return format_number(int(payload.get(key, 0)), lang, arabic_digits=digits)

        context = {
            **_base_context(lang, store),
            "title": str(payload.get("title") or payload.get("external_id") or ""),
            "sku": str(payload.get("external_id") or ""),
            "return_rate": pct("return_rate"),
            "lower_bound": pct("lower_bound"),
            "category_rate": pct("category_rate"),
            "returned": count("returned_units"),
            "sold": count("sold_units"),
        }
        subject = _("%(product)s is returned far more often than its category") % {
            "product": context["title"]
        }
        for to in emails:
            _send(template="product_flagged", subject=subject, to=to, lang=lang, context=context)
    return len(emails)
