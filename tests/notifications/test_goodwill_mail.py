"""Goodwill reaches the customer: a mail in their language saying what the store gave, with
the wallet code when the grant opened their wallet, or the free-shipping code."""

from __future__ import annotations

import pytest

from awda.core.money import Money
from awda.merchants.models import StaffRole
from awda.orders.models import Customer
from awda.support import services
from awda.wallet.selectors import check_balance
from tests import factories
from tests.support.test_goodwill import staff

pytestmark = pytest.mark.django_db


def _grant(merchant, owner, order, kind: str, amount: int, key: str):
    return services.grant_goodwill(
        merchant=merchant, actor=owner, customer_id=order.customer_id, kind=kind,
        amount=Money(amount, "SAR"), reason="late parcel", idempotency_key=key,
    )  # fmt: skip


def _mails(smtp, subject: str) -> list:
    return [m for m in smtp.received if m.subject == subject]


def test_store_credit_goodwill_mails_a_code_that_spends_the_credit(smtp):
    merchant = factories.merchant()
    owner = staff(merchant, "owner", StaffRole.OWNER)
    order = factories.order(merchant)
    Customer.objects.filter(pk=order.customer_id).update(language="en")
    _grant(merchant, owner, order, "store_credit", 2500, "g1")
    factories.run_jobs()

    (mail,) = _mails(smtp, f"A gesture from {merchant.name}")
    text = mail.text.replace("\r\n", "\n")
    assert "has added SAR 25.00 of store credit" in text.replace("\xa0", " ")
    code = text.split("Your store credit code, to enter at checkout: ", 1)[1].split()[0]
    assert check_balance(merchant=merchant, code=code).balance.minor == 2500
    assert '<html lang="en" dir="ltr">' in mail.html


def test_free_shipping_goodwill_mails_its_code_in_arabic_for_an_arabic_customer(smtp):
    merchant = factories.merchant()
    owner = staff(merchant, "owner", StaffRole.OWNER)
    order = factories.order(merchant)
    Customer.objects.filter(pk=order.customer_id).update(language="ar")
    result = _grant(merchant, owner, order, "free_shipping", 1500, "g2")
    factories.run_jobs()

    (mail,) = [m for m in smtp.received if result.grant.code in m.text]
    assert '<html lang="ar" dir="rtl">' in mail.html
    assert "شحن" in mail.text


def test_no_mail_without_an_email_address(smtp):
    merchant = factories.merchant()
    owner = staff(merchant, "owner", StaffRole.OWNER)
    order = factories.order(merchant)
    Customer.objects.filter(pk=order.customer_id).update(email="")
    _grant(merchant, owner, order, "free_shipping", 1500, "g3")
    factories.run_jobs()
    assert smtp.received == []
