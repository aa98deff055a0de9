"""A dearer replacement is paid by link: the shopper gets the link by e-mail, once, in their
language, with the amount written the way that language writes it."""

from __future__ import annotations

import pytest

from awda import tasks
from awda.core import outbox
from awda.core.formatting import format_money
from awda.core.models import Event
from awda.exchanges import services as exchanges
from awda.exchanges.models import ExchangePayment, PaymentStatus
from awda.merchants.models import Merchant
from awda.notifications.services import send_payment_link
from awda.payments.gateways import sandbox as sandbox_gateway
from awda.returns.models import Return
from tests import factories
from tests.exchanges.helpers import deliver, exchange, shop, status_page, tee_order
from tests.notifications.journey import ARABIC, assert_opens_the_status_page, translated

pytestmark = pytest.mark.django_db

DIFFERENCE = 6000  # TEE-XL (SAR 260.00) for TEE-M (SAR 200.00)
SUBJECT = "Pay the difference for your exchange (return %(number)s at %(store)s)"


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox_gateway.reset_sandbox()
    yield
    sandbox_gateway.reset_sandbox()


def _link_sent(merchant, *, language: str = "en") -> tuple[Return, ExchangePayment]:
    order = tee_order(merchant)
    ret = exchange(merchant, order, "TEE-XL")
    Return.objects.filter(pk=ret.pk).update(language=language)
    factories.run_jobs()
    deliver(ret)  # the default timing: the exchange is issued, its link made and mailed
    payment = ExchangePayment.objects.get()
    assert payment.status == PaymentStatus.SENT
    return ret, payment


def _pay_mails(smtp, ret: Return, lang: str = "en") -> list:
    store = ret.merchant.name_ar if lang == "ar" else ret.merchant.name
    subject = translated(lang, SUBJECT, number=ret.number, store=store)
    return [m for m in smtp.received if m.subject == subject]


def test_the_shopper_gets_the_payment_link_with_the_amount_once(smtp):
    merchant = shop()
    ret, payment = _link_sent(merchant)

    (mail,) = _pay_mails(smtp, ret)
    amount = format_money(DIFFERENCE, "SAR", "en")
    text = mail.text.replace("\r\n", "\n")
    assert mail.rcpt_tos == ["shopper@example.com"]
    assert f"Pay the difference of {amount} with the secure link below" in text
    assert f"Pay {amount}:\n{payment.url}\n" in text
    assert f'href="{payment.url}"' in mail.html
    assert '<html lang="en" dir="ltr">' in mail.html
    follow = text.split("Follow your return:\n", 1)[1].split()[0]
    assert_opens_the_status_page(follow, ret)
    # The status page offers the same link while it is unpaid.
    assert f'href="{payment.url}"' in status_page(merchant, ret.order, ret)

    # A replayed link job, and a replayed event, mail nothing more.
    exchanges.send_payment_link(payment_id=payment.pk)
    sent = Event.objects.get(name="ExchangePaymentLinkSent")
    outbox.dispatch(str(sent.pk), tasks.HANDLERS)
    factories.run_jobs()
    assert len(_pay_mails(smtp, ret)) == 1
    assert Event.objects.filter(name="ExchangePaymentLinkSent").count() == 1


def test_an_arabic_shopper_gets_it_in_arabic_with_the_stores_digits(smtp):
    merchant = shop()
    Merchant.objects.filter(pk=merchant.pk).update(arabic_digits=True)
    ret, payment = _link_sent(merchant, language="ar")

    (mail,) = _pay_mails(smtp, ret, "ar")
    amount = format_money(DIFFERENCE, "SAR", "ar", arabic_digits=True)
    assert "٦٠" in amount
    sentence = translated(
        "ar",
        "Your new item costs more than the one you are returning. Pay the difference of "
        "%(amount)s with the secure link below, and we will send your replacement as soon "
        "as it is paid.",
        amount=amount,
    )
    assert ARABIC.search(sentence) and sentence in mail.text
    assert payment.url in mail.text and "SAR" not in mail.text
    assert "Pay the difference" not in mail.text  # not left in English
    assert '<html lang="ar" dir="rtl">' in mail.html


def test_items_never_returned_are_asked_for_in_other_words(smtp):
    merchant = shop()
    ret, payment = _link_sent(merchant)

    send_payment_link(
        return_id=ret.pk,
        purpose="unreturned",
        amount_minor=20000,
        currency="SAR",
        url="https://pay.example/abc",
    )

    (mail,) = [m for m in smtp.received if "Payment for items not returned" in m.subject]
    assert "did not come back to us" in mail.text
    assert format_money(20000, "SAR", "en") in mail.text and "https://pay.example/abc" in mail.text
    with pytest.raises(ValueError, match="unknown payment purpose"):
        send_payment_link(
            return_id=ret.pk, purpose="tip", amount_minor=1, currency="SAR", url=payment.url
        )


def test_no_mail_without_an_email_address(smtp):
    merchant = shop()
    ret, payment = _link_sent(merchant)
    before = len(smtp.received)
    ret.customer.email = ""
    ret.customer.save(update_fields=["email"])

    send_payment_link(
        return_id=ret.pk,
        purpose="difference",
        amount_minor=DIFFERENCE,
        currency="SAR",
        url=payment.url,
    )

    assert len(smtp.received) == before
