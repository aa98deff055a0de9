"""Store credit expires on time, and the shopper is told once, in their language, a week
before: the reminder job and the expiry job are periodic, idempotent and batched."""

from __future__ import annotations

from datetime import timedelta

import pytest

from awda import tasks
from awda.core import clock
from awda.core.formatting import format_money
from awda.core.models import Event
from awda.core.money import Money
from awda.orders.models import Customer
from awda.wallet.models import EntryKind, LedgerEntry
from awda.wallet.services import (
    grant_store_credit,
    redeem_store_credit,
    remind_expiring_store_credit,
)
from tests import factories
from tests.notifications.journey import ARABIC, translated
from tests.wallet.checks import assert_ledger_consistent, customer

pytestmark = pytest.mark.django_db


def _grant(merchant, shopper, minor: int, *, days: int, key: str):
    return grant_store_credit(
        merchant=merchant,
        customer=shopper,
        amount=Money(minor, "SAR"),
        idempotency_key=key,
        reference="R-AAAA-22",
        actor="agent:1",
        expires_at=clock.now() + timedelta(days=days),
    )


def _remind_and_mail() -> int:
    tasks.remind_expiring_store_credit.call_local()
    reminded = Event.objects.filter(name="StoreCreditExpiring", dispatched_at__isnull=True).count()
    factories.run_jobs()
    return reminded


def _local_day(moment, merchant) -> str:
    from awda.notifications.services import _local_date

    return _local_date(moment, merchant)


def test_the_shopper_is_reminded_once_in_arabic_a_week_before_the_credit_expires(smtp, merchant):
    shopper = customer(merchant)
    Customer.objects.filter(pk=shopper.pk).update(language="ar")
    grant = _grant(merchant, shopper, 15000, days=5, key="goodwill-1")
    _grant(merchant, shopper, 5000, days=60, key="goodwill-2")  # not due yet
    smtp.received.clear()  # the grants' own mails are another test's

    assert _remind_and_mail() == 1
    assert _remind_and_mail() == 0  # the next hour's run: nothing new

    mail = smtp.only()
    assert mail.rcpt_tos == ["shopper@example.com"]
    expires_at = LedgerEntry.objects.get(transaction_id=grant.transaction_id).expires_at
    from django.utils import translation

    with translation.override("ar"):
        day = _local_day(expires_at, merchant)
    assert mail.subject == translated(
        "ar",
        "Your store credit at %(store)s expires on %(date)s",
        store=merchant.name_ar,
        date=day,
    )
    assert ARABIC.search(mail.subject)
    sentence = translated(
        "ar",
        "%(amount)s of your store credit at %(store)s expires on %(date)s. Spend it before "
        "then: enter your store credit code at checkout.",
        amount=format_money(15000, "SAR", "ar"),
        store=merchant.name_ar,
        date=day,
    )
    assert ARABIC.search(sentence) and sentence in mail.text and sentence in mail.html
    assert format_money(20000, "SAR", "ar") in mail.text  # the balance, both lots
    assert '<html lang="ar" dir="rtl">' in mail.html


def test_credit_coming_into_the_window_later_gets_its_own_reminder(smtp, merchant):
    shopper = customer(merchant)
    Customer.objects.filter(pk=shopper.pk).update(language="en")
    _grant(merchant, shopper, 1000, days=3, key="lot-1")
    _grant(merchant, shopper, 2000, days=20, key="lot-2")
    smtp.received.clear()
    assert _remind_and_mail() == 1

    with clock.frozen_at(clock.now() + timedelta(days=14)):
        assert _remind_and_mail() == 1

    _first, second = smtp.received
    amount = format_money(2000, "SAR", "en")
    assert f"{amount} of your store credit at {merchant.name} expires on" in second.text
    assert format_money(1000, "SAR", "en") not in second.text.split("expires on")[0]


def test_credit_spent_before_the_mail_goes_out_is_not_reminded(smtp, merchant):
    shopper = customer(merchant)
    grant = _grant(merchant, shopper, 1000, days=3, key="lot-1")
    smtp.received.clear()
    assert remind_expiring_store_credit(within=timedelta(days=7)) == 1
    redeem_store_credit(
        merchant=merchant,
        code=grant.code or "",
        amount=Money(1000, "SAR"),
        idempotency_key="order-1",
        reference="order-1",
    )

    factories.run_jobs()

    assert smtp.received == []


def test_due_credit_expires_once_however_often_the_job_runs(merchant):
    shopper = customer(merchant)
    _grant(merchant, shopper, 3000, days=1, key="soon")
    _grant(merchant, shopper, 4000, days=30, key="later")

    with clock.frozen_at(clock.now() + timedelta(days=2)):
        tasks.expire_store_credit.call_local()
        tasks.expire_store_credit.call_local()

    (expiry,) = LedgerEntry.objects.filter(kind=EntryKind.EXPIRY)
    assert expiry.amount_minor == -3000
    assert Event.objects.filter(name="StoreCreditExpired").count() == 1
    assert_ledger_consistent(merchant)


def test_the_expiry_job_works_through_a_backlog_in_batches(merchant, monkeypatch):
    monkeypatch.setattr(tasks, "_CREDIT_BATCH", 2)
    for i in range(5):
        shopper = customer(merchant, email=f"shopper{i}@example.com")
        _grant(merchant, shopper, 1000 + i, days=1, key=f"lot-{i}")

    with clock.frozen_at(clock.now() + timedelta(days=2)):
        tasks.expire_store_credit.call_local()

    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRY).count() == 5
    assert not LedgerEntry.objects.filter(remaining_minor__gt=0).exists()
