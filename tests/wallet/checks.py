"""Ledger invariants the wallet tests hold every state against."""

from __future__ import annotations

import itertools

from django.db.models import Sum

from awda.merchants.models import Merchant
from awda.orders.models import Customer
from awda.orders.services import CustomerData, OrderData, upsert_order
from awda.wallet.models import CreditAccount, LedgerEntry
from awda.wallet.selectors import trial_balance
from tests import factories

_phones = itertools.count(500000001)


def customer(
    m: Merchant, *, email: str = "shopper@example.com", external_id: str | None = None
) -> Customer:
    """A customer of ``m``, made the way customers are made: with an order."""
    order, _created = upsert_order(
        merchant=m,
        data=OrderData(
            number=f"W{next(_phones)}",
            currency=m.currency,
            placed_at=factories.days_ago(5),
            delivered_at=factories.days_ago(3),
            customer=CustomerData(
                external_id=external_id, email=email, phone=f"+966{next(_phones)}"
            ),
            lines=[factories.line()],
            payment_method="card",
        ),
    )
    return Customer.objects.get(pk=order.customer_id)


def assert_ledger_consistent(m: Merchant) -> None:
    """For every account of ``m``: the stored balance is the sum of its entries and of
    what is left unspent; each entry's running balance is the sum so far and never below
    zero; and the customers' side plus the merchant's books sum to zero per currency."""
    accounts = list(CreditAccount.objects.for_merchant(m))
    for account in accounts:
        entries = list(
            LedgerEntry.objects.filter(account=account)
            .order_by("pk")
            .values_list("amount_minor", "balance_after_minor", "remaining_minor")
        )
        running = 0
        for amount, balance_after, _remaining in entries:
            running += amount
            assert balance_after == running >= 0
        assert account.balance_minor == running
        remaining = LedgerEntry.objects.filter(account=account).aggregate(s=Sum("remaining_minor"))
        assert account.balance_minor == (remaining["s"] or 0)
    for currency in {a.currency for a in accounts}:
        assert trial_balance(merchant=m, currency=currency).total().minor == 0
