"""Reads of store credit: a code's balance, what expires soon, the merchant's books."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Min, Sum

from awda.core import clock
from awda.core.errors import NotFound
from awda.core.money import Money
from awda.merchants.models import Merchant
from awda.orders.models import Customer
from awda.wallet.errors import UnknownCode
from awda.wallet.models import Book, CreditAccount, LedgerEntry
from awda.wallet.rules import OpenCredit, code_prefix, hash_code, normalise_code


@dataclass(frozen=True)
class Balance:
    balance: Money
    next_expiry_at: datetime | None
    next_expiry: Money | None  # what expires at ``next_expiry_at`` unless spent first


@dataclass(frozen=True)
class ExpiringCredit:
    merchant_id: int
    account_id: int
    customer_id: int
    amount: Money
    expires_at: datetime  # the earliest of the account's expiring credit


@dataclass(frozen=True)
class TrialBalance:
    """A merchant's store credit in one currency: what customers hold and each book's
    balance (the merchant's side, so issued credit shows negative). They sum to zero."""

    customers: Money
    books: dict[str, Money]

    def total(self) -> Money:
        return sum(self.books.values(), start=self.customers)


def account_by_code(*, merchant: Merchant, code: str, for_update: bool = False) -> CreditAccount:
    """The account a shopper's code opens, or ``UnknownCode`` (also for another store's
    code and a replaced one). ``for_update`` locks the row (inside a transaction)."""
    normalised = normalise_code(code)
    if normalised is None:
        raise UnknownCode()
    digest = hash_code(normalised)
    qs = CreditAccount.objects.for_merchant(merchant).filter(code_prefix=code_prefix(normalised))
    if for_update:
        qs = qs.select_for_update()
    account = qs.first()
    if account is None or not hmac.compare_digest(account.code_hash, digest):
        raise UnknownCode()
    return account


def account_for(*, merchant: Merchant, customer: Customer, currency: str) -> CreditAccount | None:
    return (
        CreditAccount.objects.for_merchant(merchant)
        .filter(customer_id=customer.pk, currency=currency)
        .first()
    )


def open_credits(account: CreditAccount) -> list[OpenCredit]:
    """The account's positive entries with something left to spend."""
    rows = (
        LedgerEntry.objects.filter(account_id=account.pk, remaining_minor__gt=0)
        .order_by("pk")
        .values_list("pk", "remaining_minor", "expires_at", "transaction__reference")
    )
    return [OpenCredit(pk, remaining, expires, ref) for pk, remaining, expires, ref in rows]


def balance_of(account: CreditAccount, *, now: datetime | None = None) -> Balance:
    """What the account can spend now: credit past its expiry counts as gone even before
    the expiry job has written it off."""
    now = now or clock.now()
    credits = open_credits(account)
    gone = sum(c.remaining_minor for c in credits if c.expires_at and c.expires_at <= now)
    upcoming = [c for c in credits if c.expires_at and c.expires_at > now]
    next_at = min((c.expires_at for c in upcoming if c.expires_at), default=None)
    next_amount = sum(c.remaining_minor for c in upcoming if c.expires_at == next_at)
    return Balance(
        balance=Money(account.balance_minor - gone, account.currency),
        next_expiry_at=next_at,
        next_expiry=Money(next_amount, account.currency) if next_at else None,
    )


def check_balance(*, merchant: Merchant, code: str) -> Balance:
    """The balance behind a shopper's code, its currency and the next expiry."""
    return balance_of(account_by_code(merchant=merchant, code=code))


def store_credit_expiring(
    *, within: timedelta, now: datetime | None = None
) -> list[ExpiringCredit]:
    """Accounts (of every merchant) with unspent credit expiring within ``within``: the
    reminder job's list, soonest first."""
    now = now or clock.now()
    rows = (
        LedgerEntry.objects.filter(
            remaining_minor__gt=0, expires_at__gt=now, expires_at__lte=now + within
        )
        .values("merchant_id", "account_id", "account__customer_id", "account__currency")
        .annotate(amount=Sum("remaining_minor"), first=Min("expires_at"))
        .order_by("first", "account_id")
    )
    return [
        ExpiringCredit(
            merchant_id=r["merchant_id"],
            account_id=r["account_id"],
            customer_id=r["account__customer_id"],
            amount=Money(int(r["amount"]), r["account__currency"]),
            expires_at=r["first"],
        )
        for r in rows
    ]


def trial_balance(*, merchant: Merchant, currency: str) -> TrialBalance:
    """The customers' total and the books for one merchant and currency."""
    held = (
        CreditAccount.objects.for_merchant(merchant)
        .filter(currency=currency)
        .aggregate(total=Sum("balance_minor"))["total"]
    )
    moved = (
        LedgerEntry.objects.for_merchant(merchant)
        .filter(account__currency=currency)
        .values("book")
        .annotate(total=Sum("amount_minor"))
        .order_by("book")
    )
    # A book moves by the opposite of what the customer's side moves.
    books = {b: Money(0, currency) for b in Book.values}
    for row in moved:
        books[row["book"]] = Money(-int(row["total"]), currency)
    return TrialBalance(customers=Money(int(held or 0), currency), books=books)


def ledger_sum(account_ids: Sequence[int]) -> dict[int, int]:
    """Σ entries per account, to hold against the stored balances."""
    rows = (
        LedgerEntry.objects.filter(account_id__in=account_ids)
        .values("account_id")
        .annotate(total=Sum("amount_minor"))
        .order_by()
    )
    sums = {account_id: 0 for account_id in account_ids}
    sums.update({r["account_id"]: int(r["total"]) for r in rows})
    return sums


def customer_by_store_id(*, merchant: Merchant, external_id: str) -> Customer:
    """A customer by the store's own id for them (what an integration knows), or NotFound."""
    customer = None
    if len(external_id) <= 80 and "\x00" not in external_id:  # no such id can be stored
        customer = Customer.objects.for_merchant(merchant).filter(external_id=external_id).first()
    if customer is None:
        raise NotFound(details={"customer": external_id})
    return customer
