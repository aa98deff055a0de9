"""Store credit: an account per customer and currency, and its double-entry ledger.

Each ``LedgerEntry`` is one movement between two accounts: the customer's ``CreditAccount``
(``amount_minor``, signed from the customer's side) and one of the merchant's books
(``book``, which moves by ``-amount_minor``). Both legs live in one row, so the ledger
can't hold a one-legged or unbalanced movement: for every merchant and currency,
Σ customer balances + Σ book balances = 0 by construction. The books carry no stored
balance (``selectors.trial_balance`` sums them), so a redemption locks only its customer's
account, never a merchant-wide row every checkout would queue on.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from awda.merchants.models import MerchantOwned
from awda.orders.models import Customer


class CreditAccount(MerchantOwned):
    """A customer's store credit in one currency, spendable in the store with its code."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    # The sum of the account's entries, kept by the services under the row's lock.
    balance_minor = models.BigIntegerField(default=0)
    # The shopper's code is shown once; like an API key only its hash is kept, and the
    # prefix (its first characters) finds the row.
    code_prefix = models.CharField(max_length=12)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "customer", "currency"],
                name="credit_account_per_customer_currency",
            ),
            models.UniqueConstraint(
                fields=["merchant", "code_prefix"], name="credit_code_prefix_per_merchant"
            ),
            models.CheckConstraint(
                condition=Q(balance_minor__gte=0), name="credit_balance_never_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"credit {self.customer_id} {self.currency} ({self.code_prefix}…)"


class TransactionKind(models.TextChoices):
    GRANT = "grant", _("Store credit granted")
    REDEMPTION = "redemption", _("Spent in the store")
    EXPIRY = "expiry", _("Store credit expired")
    CLAWBACK = "clawback", _("Store credit taken back")
    ADJUSTMENT = "adjustment", _("Adjusted by staff")


class LedgerTransaction(MerchantOwned):
    """One use case's movement on one account: what was asked, by whom, under which key.

    It holds the idempotency key, so a retried request finds its first result, also when
    that result moved nothing (a clawback against an empty balance).
    """

    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=TransactionKind.choices)
    # NULL, not "": unique only when present (a conditional constraint).
    idempotency_key = models.CharField(max_length=80, null=True, blank=True)  # noqa: DJ001
    # A digest of the money-relevant request (kind, target, amounts, currency): the same
    # key with another request is refused rather than answered with the first result.
    request_digest = models.CharField(max_length=64, blank=True)
    requested_minor = models.BigIntegerField(default=0)  # as asked (a clawback may get less)
    reference = models.CharField(max_length=120, blank=True)
    actor = models.CharField(max_length=120, blank=True)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="ledger_idempotency_key_per_merchant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} on account {self.account_id}"


class EntryKind(models.TextChoices):
    CREDIT = "credit", _("Credit")
    BONUS = "bonus", _("Bonus")
    DEBIT = "debit", _("Spent")
    EXPIRY = "expiry", _("Expired")
    ADJUSTMENT = "adjustment", _("Adjustment")
    CLAWBACK = "clawback", _("Taken back")


class Book(models.TextChoices):
    """The merchant's side of a movement (the contra account)."""

    ISSUED = "issued", _("Credit issued for returns")  # in place of refunds
    BONUS = "bonus", _("Bonus given")  # an expense: credit beyond the refund value
    REDEEMED = "redeemed", _("Spent in the store")
    EXPIRED = "expired", _("Expired unspent")  # breakage
    CLAWED_BACK = "clawed_back", _("Taken back after inspection")
    ADJUSTED = "adjusted", _("Staff adjustments")


# The chart of accounts: the book each kind of entry moves against (also a CHECK below).
BOOK_OF_KIND: dict[str, str] = {
    EntryKind.CREDIT: Book.ISSUED,
    EntryKind.BONUS: Book.BONUS,
    EntryKind.DEBIT: Book.REDEEMED,
    EntryKind.EXPIRY: Book.EXPIRED,
    EntryKind.CLAWBACK: Book.CLAWED_BACK,
    EntryKind.ADJUSTMENT: Book.ADJUSTED,
}
_ADDS = [EntryKind.CREDIT, EntryKind.BONUS]
_TAKES = [EntryKind.DEBIT, EntryKind.EXPIRY, EntryKind.CLAWBACK]


def _book_matches_kind() -> Q:
    condition = Q()
    for kind, book in BOOK_OF_KIND.items():
        condition |= Q(kind=kind, book=book)
    return condition


class LedgerEntry(MerchantOwned):
    """One movement between the customer's account and one of the merchant's books."""

    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    book = models.CharField(max_length=20, choices=Book.choices)
    amount_minor = models.BigIntegerField()  # + to the customer, − from them
    balance_after_minor = models.BigIntegerField()
    # The unspent part of a positive entry. Spending takes from the entry that expires
    # first (FIFO by expiry, then by age), so Σ remaining = balance at every commit.
    remaining_minor = models.BigIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    # An expiry entry names the entry whose remainder it expired; one-to-one, so the
    # database itself refuses to expire an entry twice.
    expired_entry = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="expiry"
    )
    created_at = models.DateTimeField()
    # When the shopper was told this credit expires soon: each lot at most once.
    expiry_reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount_minor=0), name="ledger_entry_amount_not_zero"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=_ADDS, amount_minor__gt=0)
                | Q(kind__in=_TAKES, amount_minor__lt=0)
                | Q(kind=EntryKind.ADJUSTMENT),
                name="ledger_entry_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=_book_matches_kind(), name="ledger_entry_book_matches_kind"
            ),
            models.CheckConstraint(
                condition=Q(balance_after_minor__gte=0),
                name="ledger_entry_balance_never_negative",
            ),
            models.CheckConstraint(
                condition=Q(remaining_minor=0)
                | Q(remaining_minor__gt=0, remaining_minor__lte=F("amount_minor")),
                name="ledger_entry_remaining_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(amount_minor__gt=0),
                name="ledger_entry_only_credit_expires",
            ),
            models.CheckConstraint(
                condition=Q(kind=EntryKind.EXPIRY, expired_entry__isnull=False)
                | (~Q(kind=EntryKind.EXPIRY) & Q(expired_entry__isnull=True)),
                name="ledger_entry_expiry_names_its_entry",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "id"], name="ledger_entry_account_idx"),
            # What is left to spend, in FIFO order, and what the expiry job looks at.
            models.Index(
                fields=["account", "expires_at"],
                condition=Q(remaining_minor__gt=0),
                name="ledger_entry_open_idx",
            ),
            models.Index(
                fields=["expires_at"],
                condition=Q(remaining_minor__gt=0, expires_at__isnull=False),
                name="ledger_entry_expiring_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_minor} on account {self.account_id}"
