"""The database itself refuses ledger states the services must never write (SQLite and
PostgreSQL): each write below skips the services and must fail with IntegrityError."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from awda.core import clock
from awda.core.money import Money
from awda.wallet.models import (
    Book,
    CreditAccount,
    EntryKind,
    LedgerEntry,
    LedgerTransaction,
)
from awda.wallet.services import expire_store_credit, grant_store_credit
from tests import factories
from tests.wallet.checks import customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def granted(merchant):
    shopper = customer(merchant)
    result = grant_store_credit(
        merchant=merchant,
        customer=shopper,
        amount=Money(10000, "SAR"),
        idempotency_key="grant-1",
        reference="R-1",
        actor="agent:1",
    )
    return result


def refused(write: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


def entry(granted, **fields: Any) -> LedgerEntry:
    values = {
        "merchant_id": granted.account.merchant_id,
        "transaction_id": granted.transaction_id,
        "account": granted.account,
        "kind": EntryKind.CREDIT,
        "book": Book.ISSUED,
        "amount_minor": 100,
        "balance_after_minor": 10100,
        "created_at": clock.now(),
        **fields,
    }
    return LedgerEntry.objects.create(**values)


def test_the_database_refuses_a_negative_balance(granted):
    account = CreditAccount.objects.filter(pk=granted.account.pk)
    refused(lambda: account.update(balance_minor=-1))
    refused(lambda: account.update(balance_minor=F("balance_minor") - 10001))
    assert account.get().balance_minor == 10000


def test_the_database_refuses_an_entry_leaving_a_negative_running_balance(granted):
    refused(lambda: entry(granted, kind=EntryKind.DEBIT, book=Book.REDEEMED,
                          amount_minor=-10001, balance_after_minor=-1))  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "book", "amount"),
    [
        (EntryKind.CREDIT, Book.ISSUED, -100),  # a credit that takes
        (EntryKind.BONUS, Book.BONUS, -100),
        (EntryKind.DEBIT, Book.REDEEMED, 100),  # a spend that gives
        (EntryKind.CLAWBACK, Book.CLAWED_BACK, 100),
        (EntryKind.ADJUSTMENT, Book.ADJUSTED, 0),  # a movement of nothing
    ],
)
def test_the_database_refuses_an_entry_whose_sign_contradicts_its_kind(granted, kind, book, amount):
    refused(lambda: entry(granted, kind=kind, book=book, amount_minor=amount))


@pytest.mark.parametrize(
    ("kind", "book"),
    [(EntryKind.CREDIT, Book.BONUS), (EntryKind.BONUS, Book.ISSUED), (EntryKind.CREDIT, "x")],
)
def test_the_database_refuses_an_entry_against_the_wrong_book(granted, kind, book):
    refused(lambda: entry(granted, kind=kind, book=book))


def test_the_database_refuses_more_left_to_spend_than_was_credited(granted):
    refused(lambda: entry(granted, amount_minor=100, remaining_minor=101))
    refused(lambda: entry(granted, amount_minor=100, remaining_minor=-1))
    refused(lambda: entry(granted, kind=EntryKind.DEBIT, book=Book.REDEEMED,
                          amount_minor=-100, remaining_minor=50))  # fmt: skip


def test_the_database_refuses_an_expiry_on_what_takes_credit(granted):
    refused(lambda: entry(granted, kind=EntryKind.DEBIT, book=Book.REDEEMED,
                          amount_minor=-100, expires_at=clock.now()))  # fmt: skip


def test_the_database_refuses_expiring_an_entry_twice(merchant):
    shopper = customer(merchant)
    grant_store_credit(
        merchant=merchant,
        customer=shopper,
        amount=Money(10000, "SAR"),
        idempotency_key="grant-1",
        reference="R-1",
        actor="agent:1",
        expires_at=factories.days_ago(-1),
    )
    assert expire_store_credit(now=factories.days_ago(-2)) == 1
    expiry = LedgerEntry.objects.get(kind=EntryKind.EXPIRY)
    credit = LedgerEntry.objects.get(kind=EntryKind.CREDIT)
    refused(
        lambda: LedgerEntry.objects.create(
            merchant_id=merchant.pk,
            transaction_id=expiry.transaction_id,
            account_id=expiry.account_id,
            kind=EntryKind.EXPIRY,
            book=Book.EXPIRED,
            amount_minor=-1,
            balance_after_minor=0,
            expired_entry=credit,
            created_at=clock.now(),
        )
    )
    # …and an expiry that names no entry at all.
    refused(lambda: entry_for(expiry, expired_entry=None))


def entry_for(like: LedgerEntry, **fields: Any) -> LedgerEntry:
    return LedgerEntry.objects.create(
        merchant_id=like.merchant_id,
        transaction_id=like.transaction_id,
        account_id=like.account_id,
        kind=like.kind,
        book=like.book,
        amount_minor=like.amount_minor,
        balance_after_minor=like.balance_after_minor,
        created_at=clock.now(),
        **fields,
    )


def test_the_database_refuses_a_second_account_for_one_customer_and_currency(granted):
    refused(
        lambda: CreditAccount.objects.create(
            merchant_id=granted.account.merchant_id,
            customer_id=granted.account.customer_id,
            currency="SAR",
            code_prefix="ZZZZZZ",
            code_hash="0" * 64,
        )
    )


def test_the_database_refuses_two_accounts_with_one_code_prefix_in_a_store(granted):
    other = customer(factories.merchant())
    CreditAccount.objects.create(  # another store may have the same prefix
        merchant_id=other.merchant_id,
        customer=other,
        currency="SAR",
        code_prefix=granted.account.code_prefix,
        code_hash="0" * 64,
    )
    refused(
        lambda: CreditAccount.objects.create(
            merchant_id=granted.account.merchant_id,
            customer=customer(granted.account.merchant, email="b@example.com"),
            currency="SAR",
            code_prefix=granted.account.code_prefix,
            code_hash="0" * 64,
        )
    )


def test_the_database_refuses_one_idempotency_key_twice_in_a_store(granted):
    refused(
        lambda: LedgerTransaction.objects.create(
            merchant_id=granted.account.merchant_id,
            account=granted.account,
            kind="grant",
            idempotency_key="grant-1",
            created_at=clock.now(),
        )
    )
