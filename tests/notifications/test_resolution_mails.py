"""The shopper is told when their money or exchange is issued, with the amount written the
way their language writes it."""

from __future__ import annotations

import pytest

from awda.core.formatting import format_money
from awda.merchants.models import Merchant
from awda.notifications.services import send_resolution_issued, text_resolution_issued
from tests.notifications.journey import (
    ARABIC,
    assert_fits_one_sms,
    assert_opens_the_status_page,
    link_in,
    new_return,
    translated,
)

pytestmark = pytest.mark.django_db


def test_a_refund_to_a_card_names_the_amount_and_the_card(smtp, merchant):
    ret = new_return(merchant)

    send_resolution_issued(
        return_id=ret.pk, kind="refund", amount_minor=24000, currency="SAR", detail="4242"
    )

    mail = smtp.only()
    assert mail.subject == f"Your refund for return {ret.number} at {merchant.name}"
    amount = format_money(24000, "SAR", "en")
    assert amount == "SAR\u00a0240.00"
    assert f"Your refund of {amount} was issued to the card ending 4242." in mail.text
    assert f"Your refund of {amount} was issued to the card ending 4242." in mail.html
    assert '<html lang="en" dir="ltr">' in mail.html
    assert_opens_the_status_page(link_in(mail.text), ret)


def test_an_arabic_refund_is_written_in_arabic_with_the_arabic_amount(smtp, merchant):
    ret = new_return(merchant, language="ar")

    send_resolution_issued(
        return_id=ret.pk, kind="refund", amount_minor=24000, currency="SAR", detail="4242"
    )

    mail = smtp.only()
    assert mail.subject == translated(
        "ar",
        "Your refund for return %(number)s at %(store)s",
        number=ret.number,
        store=merchant.name_ar,
    )
    sentence = translated(
        "ar",
        "Your refund of %(amount)s was issued to the card ending %(detail)s.",
        amount=format_money(24000, "SAR", "ar"),
        detail="4242",
    )
    assert ARABIC.search(sentence) and sentence in mail.text
    assert "ر.س" in mail.text and "SAR" not in mail.text
    assert '<html lang="ar" dir="rtl">' in mail.html
    assert_opens_the_status_page(link_in(mail.text), ret)


def test_a_store_that_writes_arabic_digits_gets_them_in_the_amount(smtp, merchant):
    Merchant.objects.filter(pk=merchant.pk).update(arabic_digits=True)
    ret = new_return(merchant, language="ar")

    send_resolution_issued(
        return_id=ret.pk, kind="store_credit", amount_minor=26400, currency="SAR"
    )

    assert format_money(26400, "SAR", "ar", arabic_digits=True) in smtp.only().text
    assert "٢٦٤" in smtp.only().text


@pytest.mark.parametrize(
    ("kind", "detail", "expected"),
    [
        (
            "refund",
            "",
            "Your refund of SAR\u00a0240.00 was issued to your original payment method.",
        ),
        (
            "bank_transfer",
            "0123",
            "Your refund of SAR\u00a0240.00 was sent by bank transfer to the account ending 0123.",
        ),
        ("store_credit", "CREDIT-7K3M", "Store credit code: CREDIT-7K3M"),
        ("exchange", "1042-X", "Replacement order: 1042-X"),
    ],
)
def test_each_kind_of_resolution_says_where_the_money_or_the_goods_went(
    smtp, merchant, kind, detail, expected
):
    ret = new_return(merchant)

    send_resolution_issued(
        return_id=ret.pk, kind=kind, amount_minor=24000, currency="SAR", detail=detail
    )

    mail = smtp.only()
    assert ret.number in mail.subject and merchant.name in mail.subject
    assert expected in mail.text


def test_an_unknown_kind_of_resolution_is_refused(smtp, merchant):
    ret = new_return(merchant)

    with pytest.raises(ValueError, match="unknown resolution kind"):
        send_resolution_issued(return_id=ret.pk, kind="cash", amount_minor=1, currency="SAR")
    assert smtp.received == []


def test_no_mail_but_a_text_when_the_customer_has_no_email_address(smtp, texts, merchant):
    ret = new_return(merchant, email="")

    send_resolution_issued(return_id=ret.pk, kind="refund", amount_minor=24000, currency="SAR")
    text_resolution_issued(return_id=ret.pk, kind="refund", amount_minor=24000, currency="SAR")

    assert smtp.received == []
    [message] = texts
    assert message.to == "+966500000001"
    assert f"your refund of SAR 240.00 for return {ret.number} was issued" in message.text
    assert_fits_one_sms(message.text, "en")
    assert_opens_the_status_page(link_in(message.text), ret)
