"""Shopper e-mails, received by a real SMTP server and read as a mail client would."""

from __future__ import annotations

import re
import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from awda.core.errors import NotFound
from awda.core.models import Event
from awda.core.money import Money
from awda.core.outbox import dispatch
from awda.notifications.links import read_order_link_token
from awda.notifications.services import (
    request_order_link,
    send_order_link,
    send_return_confirmation,
)
from awda.returns.models import ReturnItem
from awda.returns.services import ItemRequest, cancel_return, request_return
from awda.tasks import HANDLERS
from tests import factories

pytestmark = pytest.mark.django_db

ARABIC = re.compile(r"[\u0600-\u06ff]")


def _return(merchant, order, *items, language="en", method="label"):
    return request_return(
        merchant=merchant,
        order_number=order.number,
        items=list(items) or [ItemRequest(line_ref="1", quantity=1, reason="too_small")],
        method=method,
        language=language,
        channel="portal",
    )


def _link(text: str) -> str:
    links = re.findall(r"https://returns\.example/\S+", text)
    assert len(links) == 1, links
    return links[0]


def _assert_opens_the_return(url, merchant, ret, lang):
    parts = urlsplit(url)
    with translation.override(lang):
        path = reverse("portal:return", kwargs={"store": merchant.slug, "number": ret.number})
    assert parts.path == path
    assert path.startswith(f"/{lang}/r/{merchant.slug}/")
    token = parse_qs(parts.query)["t"][0]
    assert read_order_link_token(token, merchant.pk) == ret.order_id


def test_the_confirmation_reaches_the_shopper_in_english_with_items_money_and_the_status_link(
    smtp, merchant
):
    order = factories.order(merchant, lines=[factories.line("1", quantity=2, price=20000)])
    ret = _return(merchant, order, ItemRequest(line_ref="1", quantity=2, reason="too_small"))

    send_return_confirmation(return_id=ret.pk)

    mail = smtp.only()
    assert mail.rcpt_tos == ["shopper@example.com"]
    assert mail.message["To"] == "shopper@example.com"
    assert mail.message["From"] == settings.DEFAULT_FROM_EMAIL
    assert mail.message["Subject"] == f"Your return {ret.number} at {merchant.name} is confirmed"
    assert mail.message["Auto-Submitted"] == "auto-generated"
    text = mail.text
    assert "Hello Noura," in text
    assert "Item 1" in text and "Quantity: 2" in text
    assert f"Refund: {Money(ret.refund_total_minor, 'SAR').format('en')}" in text
    assert "Print the return label" in text
    assert not ARABIC.search(text)
    html = mail.html
    assert '<html lang="en" dir="ltr">' in html
    assert ret.number in html and "Item 1" in html
    _assert_opens_the_return(_link(text), merchant, ret, "en")
    assert f'href="{_link(text)}"' in html


def test_the_confirmation_of_an_arabic_return_is_in_arabic_and_right_to_left(smtp, merchant):
    order = factories.order(merchant, lines=[factories.line("1", price=20000)])
    ret = _return(merchant, order, language="ar", method="qr_dropoff")

    send_return_confirmation(return_id=ret.pk)

    mail = smtp.only()
    subject = mail.message["Subject"]
    assert ret.number in subject and merchant.name_ar in subject
    assert ARABIC.search(subject.replace(merchant.name_ar, ""))
    assert mail.message["Content-Language"] == "ar"
    text = mail.text
    assert "منتج 1" in text  # the line's Arabic title
    assert Money(ret.refund_total_minor, "SAR").format("ar") in text
    assert "Item 1" not in text and "Print the return label" not in text
    html = mail.html
    assert '<html lang="ar" dir="rtl">' in html
    assert 'dir="rtl"' in html.split("<body", 1)[1]  # on the wrapper as well
    assert merchant.name_ar in html and "منتج 1" in html
    _assert_opens_the_return(_link(text), merchant, ret, "ar")


def test_a_return_waiting_for_review_says_it_was_received_and_that_we_will_check(smtp, merchant):
    order = factories.order(merchant, lines=[factories.line("1", price=20000)])
    ret = _return(merchant, order, ItemRequest(line_ref="1", quantity=1, reason="defective"))
    assert ret.status == "pending_review"

    send_return_confirmation(return_id=ret.pk)

    mail = smtp.only()
    assert mail.message["Subject"].startswith(f"We have received your return {ret.number}")
    assert "any photos you sent" in mail.text
    assert "Print the return label" not in mail.text


def test_store_credit_shows_the_credit_with_its_bonus(smtp, merchant):
    order = factories.order(merchant, lines=[factories.line("1", price=20000)])
    ret = _return(
        merchant,
        order,
        ItemRequest(line_ref="1", quantity=1, reason="too_small", resolution="store_credit"),
    )
    assert ret.store_credit_total_minor > ret.refund_total_minor

    send_return_confirmation(return_id=ret.pk)

    text = smtp.only().text
    assert f"Store credit: {Money(ret.store_credit_total_minor, 'SAR').format('en')}" in text
    assert "Refund:" not in text


def test_mixed_resolutions_give_the_store_credit_bonus_to_the_credit_items_only(smtp, merchant):
    order = factories.order(
        merchant, lines=[factories.line("1", price=20000), factories.line("2", price=20000)]
    )
    ret = _return(
        merchant,
        order,
        ItemRequest(line_ref="1", quantity=1, reason="too_small", resolution="refund"),
        ItemRequest(line_ref="2", quantity=1, reason="too_small", resolution="store_credit"),
    )
    items = {i.order_line.line_ref: i for i in ReturnItem.objects.filter(return_request=ret)}
    bonus = ret.store_credit_total_minor - ret.refund_total_minor
    assert items["1"].refund_minor == items["2"].refund_minor and bonus % 2 == 0

    send_return_confirmation(return_id=ret.pk)

    text = smtp.only().text
    assert f"Refund: {Money(items['1'].refund_minor, 'SAR').format('en')}" in text
    credit = Money(items["2"].refund_minor + bonus // 2, "SAR")
    assert f"Store credit: {credit.format('en')}" in text


def test_the_order_link_mail_carries_a_signed_link_to_that_order(smtp, merchant):
    order = factories.order(merchant)

    send_order_link(merchant=merchant, order=order, language="ar")

    mail = smtp.only()
    assert mail.rcpt_tos == ["shopper@example.com"]
    assert order.number in mail.message["Subject"]
    assert '<html lang="ar" dir="rtl">' in mail.html
    url = _link(mail.text)
    parts = urlsplit(url)
    match = re.fullmatch(rf"/ar/r/{merchant.slug}/link/([^/]+)/", parts.path)
    assert match, parts.path
    assert read_order_link_token(match[1], merchant.pk) == order.pk
    assert read_order_link_token(match[1], factories.merchant().pk) is None


def test_the_order_link_is_not_sent_for_another_merchants_order(smtp, merchant):
    order = factories.order(factories.merchant())
    with pytest.raises(NotFound):
        send_order_link(merchant=merchant, order=order, language="en")
    assert smtp.received == []


def _requested_event(ret) -> Event:
    return Event.objects.get(name="ReturnRequested", aggregate_id=str(ret.pk))


def test_the_return_requested_event_sends_one_confirmation_however_often_it_is_dispatched(
    smtp, merchant
):
    order = factories.order(merchant)
    ret = _return(merchant, order)
    event = _requested_event(ret)

    dispatch(str(event.pk), HANDLERS)
    Event.objects.filter(pk=event.pk).update(dispatched_at=None)  # as if the ack was lost
    dispatch(str(event.pk), HANDLERS)
    dispatch(str(event.pk), HANDLERS)

    assert smtp.only().message["Subject"].startswith(f"Your return {ret.number}")


def test_a_customer_without_an_email_address_gets_no_mail(smtp, merchant):
    order = factories.order(merchant, email="")
    ret = _return(merchant, order)

    assert dispatch(str(_requested_event(ret).pk), HANDLERS).complete
    send_order_link(merchant=merchant, order=order, language="en")

    assert smtp.received == []


def test_a_return_cancelled_before_its_confirmation_went_out_gets_none(smtp, merchant):
    order = factories.order(merchant)
    ret = _return(merchant, order)
    cancel_return(merchant=merchant, number=ret.number, actor="shopper")

    assert dispatch(str(_requested_event(ret).pk), HANDLERS).complete

    assert smtp.received == []


def test_a_mail_server_that_is_down_fails_the_handler_and_the_retry_sends_the_mail(
    smtp, merchant, settings
):
    order = factories.order(merchant)
    ret = _return(merchant, order)
    event_id = str(_requested_event(ret).pk)
    working_port = settings.EMAIL_PORT
    with socket.socket() as s:  # a port nobody listens on: the connection is refused
        s.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = s.getsockname()[1]
        assert not dispatch(event_id, HANDLERS).complete
    settings.EMAIL_PORT = working_port

    assert dispatch(event_id, HANDLERS).complete
    assert smtp.only().rcpt_tos == ["shopper@example.com"]


def test_a_requested_order_link_is_mailed_by_the_worker_from_its_event(smtp, merchant):
    order = factories.order(merchant)

    request_order_link(merchant=merchant, order=order, language="en")
    assert smtp.received == []  # the page never waits for the mail server
    event = Event.objects.get(name="OrderLinkRequested", aggregate_id=str(order.pk))
    assert dispatch(str(event.pk), HANDLERS).complete

    mail = smtp.only()
    assert mail.rcpt_tos == ["shopper@example.com"]
    assert '<html lang="en" dir="ltr">' in mail.html
