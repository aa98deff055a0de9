"""Store credit use cases. Each is one transaction: it locks the customer's account row
(``SELECT … FOR UPDATE``), writes ledger entries and the account's balance, and records an
outbox event. Only ``grant_store_credits`` touches several accounts, locked together in
primary-key order (after the order lines, as every grant), so no two transactions can wait
on each other's rows; the expiry job takes one account per transaction.

Idempotency: a key names one request of one merchant. A repeat with the same request gets
the first result (``replayed=True``); the same key with another amount, code or customer is
refused (``IdempotencyKeyReused``). The key is checked before the transaction (the common
retry costs one read), again under the account's lock (repeats racing on one account queue
there), and a unique constraint catches the rest (one key raced across two accounts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from awda.core import clock
from awda.core.db import lock_in_order, lock_keys
from awda.core.errors import InvalidInput, NotFound
from awda.core.money import Money
from awda.core.outbox import NewEvent, record_event, record_many
from awda.merchants.models import Merchant
from awda.orders.models import Customer
from awda.wallet.errors import (
    CreditCurrencyMismatch,
    IdempotencyKeyReused,
    InsufficientCredit,
    UnknownCode,
)
from awda.wallet.models import (
    BOOK_OF_KIND,
    CreditAccount,
    EntryKind,
    LedgerEntry,
    LedgerTransaction,
    TransactionKind,
)
from awda.wallet.rules import (
    code_prefix,
    hash_code,
    new_code,
    normalise_code,
    spending_order,
    take_from,
)
from awda.wallet.selectors import account_by_code, open_credits

T = TypeVar("T")


@dataclass(frozen=True)
class Grant:
    account: CreditAccount
    transaction_id: int
    credited: Money
    bonus: Money
    balance: Money  # right after this grant
    code: str | None  # the plaintext code, only from the grant that opened the account
    replayed: bool = False


@dataclass(frozen=True)
class Redemption:
    transaction_id: int
    amount: Money
    balance: Money  # right after this redemption
    reference: str
    created_at: datetime
    replayed: bool = False


@dataclass(frozen=True)
class ClawbackResult:
    transaction_id: int | None  # None: the customer never had credit in this currency
    requested: Money
    clawed_back: Money
    not_recovered: Money  # already spent (or expired): for a person to follow up
    balance: Money
    replayed: bool = False


@dataclass(frozen=True)
class Adjustment:
    account: CreditAccount
    transaction_id: int
    amount: Money
    balance: Money
    code: str | None  # when this adjustment opened the account
    replayed: bool = False


@dataclass(frozen=True)
class IssuedCode:
    account: CreditAccount
    code: str  # shown once, never stored


# -- helpers ----------------------------------------------------------------------------------


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def _require_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > 80:
        raise InvalidInput(
            _("An idempotency key of 1 to 80 characters is required."), field="idempotency_key"
        )
    return key


def _require_positive(amount: Money, field: str = "amount") -> None:
    if amount.minor <= 0:
        raise InvalidInput(_("The amount must be more than zero."), field=field)


def _require_own_customer(merchant: Merchant, customer: Customer) -> None:
    if customer.merchant_id != merchant.pk:
        raise NotFound(details={"customer": customer.pk})


def _require_future(expires_at: datetime | None, now: datetime) -> None:
    if expires_at is not None and expires_at <= now:
        raise InvalidInput(_("The expiry must be in the future."), field="expires_at")


def _previous(merchant: Merchant, key: str | None, digest: str) -> LedgerTransaction | None:
    """The transaction an idempotency key already made, if the request is the same."""
    if not key:
        return None
    txn = (
        LedgerTransaction.objects.for_merchant(merchant)
        .select_related("account")
        .filter(idempotency_key=key)
        .first()
    )
    if txn is not None and txn.request_digest != digest:
        raise IdempotencyKeyReused(details={"idempotency_key": key})
    return txn


def _once(
    merchant: Merchant,
    key: str | None,
    digest: str,
    run: Callable[[], T],
    replay: Callable[[LedgerTransaction], T],
) -> T:
    previous = _previous(merchant, key, digest)
    if previous is not None:
        return replay(previous)
    try:
        return run()
    except IntegrityError:
        # One key raced on two accounts: PostgreSQL made the loser wait for the winner's
        # commit before refusing its row, so the winner's transaction is there to read.
        previous = _previous(merchant, key, digest)
        if previous is None:
            raise
        return replay(previous)


def _lock_account(merchant: Merchant, customer_id: int, currency: str) -> CreditAccount | None:
    return (
        CreditAccount.objects.for_merchant(merchant)
        .select_for_update()
        .filter(customer_id=customer_id, currency=currency)
        .first()
    )


def lock_credit_accounts(*, customer_ids: Sequence[int]) -> None:
    """Lock the customers' credit accounts in primary-key order (several grants in one
    transaction: after the payments and lines, as every grant takes them)."""
    if customer_ids:
        lock_in_order(CreditAccount.objects.filter(customer_id__in=sorted(set(customer_ids))))


def _new_code_fields() -> tuple[str, dict[str, str]]:
    code = new_code()
    normalised = normalise_code(code)
    assert normalised is not None
    return code, {"code_prefix": code_prefix(normalised), "code_hash": hash_code(normalised)}


def _with_fresh_codes(count: int, write: Callable[[list[dict[str, str]]], None]) -> list[str]:
    """Run ``write`` with ``count`` new codes' columns; a prefix another account of the
    merchant already has (about one in 887 million) is retried with other codes."""
    for attempt in range(3):
        made = [_new_code_fields() for _ in range(count)]
        try:
            with transaction.atomic():  # a savepoint: a collision leaves the outer one intact
                write([fields for _code, fields in made])
            return [code for code, _fields in made]
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _lock_or_open_account(
    merchant: Merchant, customer: Customer, currency: str
) -> tuple[CreditAccount, str | None]:
    """The customer's account, locked; opened first if they have none (then with its code)."""
    return _lock_or_open_accounts(merchant, [(customer, currency)])[customer.pk, currency]


def _lock_or_open_accounts(
    merchant: Merchant, wanted: Sequence[tuple[Customer, str]]
) -> dict[tuple[int, str], tuple[CreditAccount, str | None]]:
    """The customers' accounts in those currencies, locked in primary-key order; those
    they have none of are opened first (then with their codes), by (customer, currency)."""
    customers = {customer.pk: customer for customer, _currency in wanted}
    pairs = sorted({(customer.pk, currency) for customer, currency in wanted})
    found = _lock_accounts(merchant, pairs)
    missing = [pair for pair in pairs if pair not in found]
    if not missing:
        return {pair: (found[pair], None) for pair in pairs}
    # No row to lock yet: two first grants would both find none and open two accounts (or
    # one would fail on the unique constraint). The advisory lock makes the second wait,
    # then find the first's account.
    lock_keys([f"wallet.account:{merchant.pk}:{pk}:{currency}" for pk, currency in missing])
    found.update(_lock_accounts(merchant, missing))
    missing = [pair for pair in missing if pair not in found]
    opened: list[CreditAccount] = []

    def write(fields: list[dict[str, str]]) -> None:
        opened[:] = CreditAccount.objects.bulk_create(
            [
                CreditAccount(
                    merchant=merchant, customer=customers[pk], currency=currency, **columns
                )
                for (pk, currency), columns in zip(missing, fields, strict=True)
            ]
        )

    codes = _with_fresh_codes(len(missing), write) if missing else []
    accounts: dict[tuple[int, str], tuple[CreditAccount, str | None]] = {
        pair: (account, None) for pair, account in found.items()
    }
    for pair, account, code in zip(missing, opened, codes, strict=True):
        accounts[pair] = (account, code)
    return accounts


def _lock_accounts(
    merchant: Merchant, pairs: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], CreditAccount]:
    """The accounts of those (customer, currency) pairs that exist, locked in primary-key
    order."""
    wanted = set(pairs)
    return {
        (account.customer_id, account.currency): account
        for account in CreditAccount.objects.for_merchant(merchant)
        .select_for_update()
        .filter(
            customer_id__in=sorted({pk for pk, _c in wanted}),
            currency__in=sorted({c for _pk, c in wanted}),
        )
        .order_by("pk")
        if (account.customer_id, account.currency) in wanted
    }


def _transaction(
    account: CreditAccount,
    kind: str,
    *,
    now: datetime,
    key: str | None = None,
    digest: str = "",
    requested_minor: int = 0,
    reference: str = "",
    actor: str = "",
    note: str = "",
) -> LedgerTransaction:
    return LedgerTransaction.objects.create(
        merchant_id=account.merchant_id,
        account=account,
        kind=kind,
        idempotency_key=key or None,
        request_digest=digest,
        requested_minor=requested_minor,
        reference=reference[:120],
        actor=actor[:120],
        note=note[:500],
        created_at=now,
    )


def _post(
    account: CreditAccount,
    txn: LedgerTransaction,
    kind: str,
    amount_minor: int,
    *,
    now: datetime,
    expires_at: datetime | None = None,
    expired_entry_id: int | None = None,
    save: bool = True,
) -> LedgerEntry:
    """One movement between the customer's account and the kind's book; the account's
    balance in memory moves by the amount. The caller holds the account's lock and saves
    its balance (``_save_balance``) before committing. ``save=False`` leaves the entry
    unsaved, for several to be written in one statement."""
    account.balance_minor += amount_minor
    entry = LedgerEntry(
        merchant_id=account.merchant_id,
        transaction=txn,
        account=account,
        kind=kind,
        book=BOOK_OF_KIND[kind],
        amount_minor=amount_minor,
        balance_after_minor=account.balance_minor,
        remaining_minor=max(amount_minor, 0),
        expires_at=expires_at,
        expired_entry_id=expired_entry_id,
        created_at=now,
    )
    if save:
        entry.save(force_insert=True)
    return entry


def _save_balance(account: CreditAccount, now: datetime) -> None:
    CreditAccount.objects.filter(pk=account.pk).update(
        balance_minor=account.balance_minor, updated_at=now
    )


def _use_up(account: CreditAccount, amount_minor: int, *, prefer_reference: str = "") -> None:
    """Take ``amount_minor`` from the account's open credit, soonest expiring first."""
    order = spending_order(open_credits(account), prefer_reference=prefer_reference)
    for entry_id, taken in take_from(order, amount_minor):
        LedgerEntry.objects.filter(pk=entry_id).update(remaining_minor=F("remaining_minor") - taken)


def _expire_due(account: CreditAccount, now: datetime) -> int:
    """Write off what is left of the account's credit past its expiry (the caller holds
    the account's lock). Returns the number of entries expired."""
    due = list(
        LedgerEntry.objects.filter(
            account_id=account.pk, remaining_minor__gt=0, expires_at__lte=now
        )
        .order_by("expires_at", "pk")
        .values_list("pk", "remaining_minor")
    )
    if not due:
        return 0
    total = sum(remaining for _, remaining in due)
    txn = _transaction(
        account, TransactionKind.EXPIRY, now=now, requested_minor=total, actor="system"
    )
    for entry_id, remaining in due:
        LedgerEntry.objects.filter(pk=entry_id).update(remaining_minor=0)
        _post(account, txn, EntryKind.EXPIRY, -remaining, now=now, expired_entry_id=entry_id)
    _save_balance(account, now)
    record_event(
        "StoreCreditExpired",
        {
            **_account_payload(account),
            "transaction_id": txn.pk,
            "amount_minor": total,
            "entries": [entry_id for entry_id, _ in due],
        },
        merchant_id=account.merchant_id,
        aggregate_type="credit_account",
        aggregate_id=account.pk,
    )
    return len(due)


def _account_payload(account: CreditAccount) -> dict[str, Any]:
    return {
        "account_id": account.pk,
        "customer_id": account.customer_id,
        "currency": account.currency,
        "balance_minor": account.balance_minor,
    }


def _balance_after(txn: LedgerTransaction) -> int:
    last = txn.entries.order_by("-pk").values_list("balance_after_minor", flat=True).first()
    # A transaction that moved nothing (a clawback of an empty balance) left it at zero.
    return int(last) if last is not None else 0


# -- grant ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantAsk:
    """One grant of store credit (``grant_store_credits``); see ``grant_store_credit``."""

    customer: Customer
    amount: Money
    idempotency_key: str
    reference: str
    actor: str
    bonus: Money | None = None
    expires_at: datetime | None = None
    valid_for: timedelta | None = None


def grant_store_credit(
    *,
    merchant: Merchant,
    customer: Customer,
    amount: Money,
    bonus: Money | None = None,
    idempotency_key: str,
    reference: str,
    actor: str,
    expires_at: datetime | None = None,
    valid_for: timedelta | None = None,
) -> Grant:
    """Credit a customer (plus an optional bonus), opening their account on first use.

    The credit expires at ``expires_at``, or ``valid_for`` after the grant is made (a term,
    such as the policy's: a retry later on is still the same request), or never.
    The plaintext code comes back only from the grant that opened the account; a retry of
    that grant gets ``code=None`` (issue a new one with ``rotate_code``).
    """
    ask = GrantAsk(
        customer, amount, idempotency_key, reference, actor, bonus, expires_at, valid_for
    )
    return grant_store_credits(merchant=merchant, asks=[ask])[0]


@dataclass(frozen=True)
class _CheckedGrant:
    ask: GrantAsk
    key: str
    bonus: Money
    digest: str

    def replay(self, txn: LedgerTransaction) -> Grant:
        return Grant(
            account=txn.account,
            transaction_id=txn.pk,
            credited=self.ask.amount,
            bonus=self.bonus,
            balance=Money(_balance_after(txn), self.ask.amount.currency),
            code=None,
            replayed=True,
        )


def _check_grant(merchant: Merchant, ask: GrantAsk, now: datetime) -> _CheckedGrant:
    key = _require_key(ask.idempotency_key)
    amount = ask.amount
    _require_positive(amount)
    bonus = ask.bonus if ask.bonus is not None else Money.zero(amount.currency)
    if bonus.currency != amount.currency:
        raise InvalidInput(_("The bonus must be in the credit's currency."), field="bonus")
    if bonus.minor < 0:
        raise InvalidInput(_("The bonus must not be negative."), field="bonus")
    _require_own_customer(merchant, ask.customer)
    _require_future(ask.expires_at, now)
    if ask.valid_for is not None and (ask.expires_at is not None or ask.valid_for <= timedelta(0)):
        raise ValueError("valid_for is a positive term, and not given with expires_at")
    digest = _digest(
        TransactionKind.GRANT,
        ask.customer.pk,
        amount.currency,
        amount.minor,
        bonus.minor,
        ask.expires_at.isoformat() if ask.expires_at else "",
        # Only when given, so the keys of grants made before the term existed still match.
        *([f"valid_for={int(ask.valid_for.total_seconds())}s"] if ask.valid_for else []),
    )
    return _CheckedGrant(ask, key, bonus, digest)


def _previous_of(
    merchant: Merchant, checked: Sequence[_CheckedGrant]
) -> dict[str, LedgerTransaction]:
    """``_previous`` for several keys in one query: the transactions they already made."""
    found: dict[str, LedgerTransaction] = {
        str(txn.idempotency_key): txn
        for txn in LedgerTransaction.objects.for_merchant(merchant)
        .select_related("account")
        .filter(idempotency_key__in=sorted({c.key for c in checked}))
    }
    for c in checked:
        if c.key in found and found[c.key].request_digest != c.digest:
            raise IdempotencyKeyReused(details={"idempotency_key": c.key})
    return found


def grant_store_credits(*, merchant: Merchant, asks: Sequence[GrantAsk]) -> list[Grant]:
    """``grant_store_credit`` for several grants at once, all or nothing: each ask's
    ``Grant``, in order. The accounts are locked (or opened) together in primary-key order;
    two grants to one account follow one another. About ten statements however many asks.
    """
    checked = [_check_grant(merchant, ask, clock.now()) for ask in asks]
    if not checked:
        return []
    previous = _previous_of(merchant, checked)
    if all(c.key in previous for c in checked):
        return [c.replay(previous[c.key]) for c in checked]
    try:
        return _grant(merchant, checked)
    except IntegrityError:
        # One key raced on two accounts: PostgreSQL made the loser wait for the winner's
        # commit before refusing its row, so the winner's transaction is there to read.
        previous = _previous_of(merchant, checked)
        if not all(c.key in previous for c in checked):
            raise
        return [c.replay(previous[c.key]) for c in checked]


def _grant(merchant: Merchant, checked: Sequence[_CheckedGrant]) -> list[Grant]:
    with transaction.atomic():
        accounts = _lock_or_open_accounts(
            merchant, [(c.ask.customer, c.ask.amount.currency) for c in checked]
        )
        previous = _previous_of(merchant, checked)  # again, under the accounts' locks
        now = clock.now()
        new = [c for c in checked if c.key not in previous]
        _expire_due_of([accounts[_account_key(c)][0] for c in new], now)
        txns = LedgerTransaction.objects.bulk_create(
            [
                LedgerTransaction(
                    merchant_id=merchant.pk,
                    account=accounts[_account_key(c)][0],
                    kind=TransactionKind.GRANT,
                    idempotency_key=c.key,
                    request_digest=c.digest,
                    requested_minor=c.ask.amount.minor,
                    reference=c.ask.reference[:120],
                    actor=c.ask.actor[:120],
                    created_at=now,
                )
                for c in new
            ]
        )
        entries: list[LedgerEntry] = []
        events: list[NewEvent] = []
        grants: dict[str, Grant] = {}
        coded: set[tuple[int, str]] = set()
        for c, txn in zip(new, txns, strict=True):
            account, code = accounts[_account_key(c)]
            if _account_key(c) in coded:
                code = None  # only the first grant to a new account hands out its code
            coded.add(_account_key(c))
            expires = c.ask.expires_at or (now + c.ask.valid_for if c.ask.valid_for else None)
            entries += [
                _post(account, txn, kind, minor, now=now, expires_at=expires, save=False)
                for kind, minor in (
                    (EntryKind.CREDIT, c.ask.amount.minor),
                    (EntryKind.BONUS, c.bonus.minor),
                )
                if minor
            ]
            events.append(
                NewEvent(
                    "StoreCreditGranted",
                    {
                        **_account_payload(account),
                        "transaction_id": txn.pk,
                        "amount_minor": c.ask.amount.minor,
                        "bonus_minor": c.bonus.minor,
                        "reference": c.ask.reference,
                        "expires_at": expires.isoformat() if expires else None,
                        "account_opened": code is not None,
                    },
                    merchant_id=merchant.pk,
                    aggregate_type="credit_account",
                    aggregate_id=account.pk,
                )
            )
            grants[c.key] = Grant(
                account=account,
                transaction_id=txn.pk,
                credited=c.ask.amount,
                bonus=c.bonus,
                balance=Money(account.balance_minor, c.ask.amount.currency),
                code=code,
            )
        LedgerEntry.objects.bulk_create(entries)
        changed = {accounts[_account_key(c)][0].pk: accounts[_account_key(c)][0] for c in new}
        for account in changed.values():
            account.updated_at = now
        CreditAccount.objects.bulk_update(
            [changed[pk] for pk in sorted(changed)], ["balance_minor", "updated_at"]
        )
        record_many(events)
    return [grants[c.key] if c.key in grants else c.replay(previous[c.key]) for c in checked]


def _account_key(c: _CheckedGrant) -> tuple[int, str]:
    return c.ask.customer.pk, c.ask.amount.currency


def _expire_due_of(accounts: Sequence[CreditAccount], now: datetime) -> None:
    """``_expire_due`` for the accounts that have credit past its expiry (one query to
    find them; the caller holds their locks)."""
    by_pk = {account.pk: account for account in accounts}
    due = set(
        LedgerEntry.objects.filter(
            account_id__in=sorted(by_pk), remaining_minor__gt=0, expires_at__lte=now
        ).values_list("account_id", flat=True)
    )
    for pk in sorted(due):
        _expire_due(by_pk[pk], now)


# -- redeem -----------------------------------------------------------------------------------


def redeem_store_credit(
    *,
    merchant: Merchant,
    code: str,
    amount: Money,
    idempotency_key: str,
    reference: str,
    actor: str = "store",
) -> Redemption:
    """Spend credit at the store's checkout: all of ``amount`` or nothing."""
    key = _require_key(idempotency_key)
    _require_positive(amount)
    normalised = normalise_code(code)
    if normalised is None:
        raise UnknownCode()
    # The code's hash, not the account: a retry after the code was replaced is the same
    # request, and another shopper's code with the same key is not.
    digest = _digest(
        TransactionKind.REDEMPTION, hash_code(normalised), amount.currency, amount.minor
    )

    def replay(txn: LedgerTransaction) -> Redemption:
        return Redemption(
            transaction_id=txn.pk,
            amount=amount,
            balance=Money(_balance_after(txn), txn.account.currency),
            reference=txn.reference,
            created_at=txn.created_at,
            replayed=True,
        )

    def run() -> Redemption:
        with transaction.atomic():
            account = account_by_code(merchant=merchant, code=code, for_update=True)
            previous = _previous(merchant, key, digest)
            if previous is not None:
                return replay(previous)
            if account.currency != amount.currency:
                raise CreditCurrencyMismatch(details={"currency": account.currency})
            now = clock.now()
            # Credit past its expiry is not spendable, whether or not the job has run.
            _expire_due(account, now)
            if account.balance_minor < amount.minor:
                raise InsufficientCredit(
                    details={
                        "available_minor": account.balance_minor,
                        "currency": account.currency,
                    }
                )
            txn = _transaction(
                account,
                TransactionKind.REDEMPTION,
                now=now,
                key=key,
                digest=digest,
                requested_minor=amount.minor,
                reference=reference,
                actor=actor,
            )
            _use_up(account, amount.minor)
            _post(account, txn, EntryKind.DEBIT, -amount.minor, now=now)
            _save_balance(account, now)
            record_event(
                "StoreCreditRedeemed",
                {
                    **_account_payload(account),
                    "transaction_id": txn.pk,
                    "amount_minor": amount.minor,
                    "reference": reference,
                },
                merchant_id=merchant.pk,
                aggregate_type="credit_account",
                aggregate_id=account.pk,
            )
            return Redemption(
                transaction_id=txn.pk,
                amount=amount,
                balance=Money(account.balance_minor, account.currency),
                reference=txn.reference,
                created_at=now,
            )

    return _once(merchant, key, digest, run, replay)


# -- expiry -----------------------------------------------------------------------------------


def expire_store_credit(*, now: datetime | None = None, limit: int = 500) -> int:
    """Write off unspent credit past its expiry, one transaction per account (at most
    ``limit`` accounts per run). Returns the number of credit entries expired; an entry
    expires once, however often or concurrently this runs."""
    now = now or clock.now()
    account_ids = list(
        LedgerEntry.objects.filter(remaining_minor__gt=0, expires_at__lte=now)
        .order_by("account_id")
        .values_list("account_id", flat=True)
        .distinct()[:limit]
    )
    expired = 0
    for account_id in account_ids:
        with transaction.atomic():
            account = CreditAccount.objects.select_for_update().filter(pk=account_id).first()
            if account is not None:
                expired += _expire_due(account, now)
    return expired


def remind_expiring_store_credit(
    *, within: timedelta = timedelta(days=7), now: datetime | None = None, limit: int = 500
) -> int:
    """Tell shoppers whose unspent credit expires within ``within``: one
    ``StoreCreditExpiring`` per account and run, naming its lots, each lot at most once
    however often or concurrently this runs (``expiry_reminded_at``, set under the account's
    lock). At most ``limit`` accounts per run. Returns the number of accounts reminded."""
    now = now or clock.now()
    due = LedgerEntry.objects.filter(
        remaining_minor__gt=0,
        expires_at__gt=now,
        expires_at__lte=now + within,
        expiry_reminded_at__isnull=True,
    )
    account_ids = list(
        due.order_by("account_id").values_list("account_id", flat=True).distinct()[:limit]
    )
    reminded = 0
    for account_id in account_ids:
        # One transaction per account, as the expiry job: one failure holds back no other.
        with transaction.atomic():
            account = CreditAccount.objects.select_for_update().filter(pk=account_id).first()
            if account is None:
                continue
            lots = list(
                due.filter(account_id=account.pk)
                .order_by("expires_at", "pk")
                .values_list("pk", "remaining_minor", "expires_at")
            )
            if not lots:
                continue  # another run reminded them first
            LedgerEntry.objects.filter(pk__in=[pk for pk, _r, _e in lots]).update(
                expiry_reminded_at=now
            )
            record_event(
                "StoreCreditExpiring",
                {
                    **_account_payload(account),
                    "amount_minor": sum(remaining for _pk, remaining, _e in lots),
                    "expires_at": min(e for _pk, _r, e in lots if e is not None).isoformat(),
                    "entries": [pk for pk, _r, _e in lots],
                },
                merchant_id=account.merchant_id,
                aggregate_type="credit_account",
                aggregate_id=account.pk,
            )
            reminded += 1
    return reminded


# -- clawback ---------------------------------------------------------------------------------


def claw_back_store_credit(
    *,
    merchant: Merchant,
    customer: Customer,
    amount: Money,
    idempotency_key: str,
    reference: str,
    actor: str,
) -> ClawbackResult:
    """Take back credit found undeserved (e.g. at inspection), at most what is unspent:
    the rest is reported as not recovered, never taken into a negative balance. Credit
    granted under ``reference`` goes first, then the soonest expiring."""
    key = _require_key(idempotency_key)
    _require_positive(amount)
    _require_own_customer(merchant, customer)
    currency = amount.currency
    digest = _digest(TransactionKind.CLAWBACK, customer.pk, currency, amount.minor)

    def result(
        txn: LedgerTransaction | None, taken: int, balance: int, replayed: bool
    ) -> ClawbackResult:
        return ClawbackResult(
            transaction_id=txn.pk if txn else None,
            requested=amount,
            clawed_back=Money(taken, currency),
            not_recovered=Money(amount.minor - taken, currency),
            balance=Money(balance, currency),
            replayed=replayed,
        )

    def replay(txn: LedgerTransaction) -> ClawbackResult:
        moved = sum(txn.entries.values_list("amount_minor", flat=True))
        return result(txn, -moved, _balance_after(txn), True)

    def run() -> ClawbackResult:
        with transaction.atomic():
            account = _lock_account(merchant, customer.pk, currency)
            if account is None:
                return result(None, 0, 0, False)
            previous = _previous(merchant, key, digest)
            if previous is not None:
                return replay(previous)
            now = clock.now()
            _expire_due(account, now)
            taken = min(amount.minor, account.balance_minor)
            txn = _transaction(
                account,
                TransactionKind.CLAWBACK,
                now=now,
                key=key,
                digest=digest,
                requested_minor=amount.minor,
                reference=reference,
                actor=actor,
            )
            if taken:
                _use_up(account, taken, prefer_reference=reference)
                _post(account, txn, EntryKind.CLAWBACK, -taken, now=now)
                _save_balance(account, now)
            record_event(
                "StoreCreditClawedBack",
                {
                    **_account_payload(account),
                    "transaction_id": txn.pk,
                    "requested_minor": amount.minor,
                    "clawed_back_minor": taken,
                    "not_recovered_minor": amount.minor - taken,
                    "reference": reference,
                },
                merchant_id=merchant.pk,
                aggregate_type="credit_account",
                aggregate_id=account.pk,
            )
            return result(txn, taken, account.balance_minor, False)

    return _once(merchant, key, digest, run, replay)


# -- staff adjustment -------------------------------------------------------------------------


def adjust_store_credit(
    *,
    merchant: Merchant,
    customer: Customer,
    amount: Money,
    reason: str,
    actor: str,
    idempotency_key: str | None = None,
    expires_at: datetime | None = None,
) -> Adjustment:
    """A staff correction, up (``amount`` > 0, opening the account if needed) or down (at
    most the balance). The reason is kept with the entry."""
    if amount.minor == 0:
        raise InvalidInput(_("The amount must not be zero."), field="amount")
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("Say why the balance is adjusted."), field="reason")
    if amount.minor < 0 and expires_at is not None:
        raise InvalidInput(_("Only added credit can expire."), field="expires_at")
    key = _require_key(idempotency_key) if idempotency_key is not None else None
    _require_own_customer(merchant, customer)
    _require_future(expires_at, clock.now())
    currency = amount.currency
    digest = _digest(
        TransactionKind.ADJUSTMENT,
        customer.pk,
        currency,
        amount.minor,
        expires_at.isoformat() if expires_at else "",
    )

    def replay(txn: LedgerTransaction) -> Adjustment:
        return Adjustment(
            account=txn.account,
            transaction_id=txn.pk,
            amount=amount,
            balance=Money(_balance_after(txn), currency),
            code=None,
            replayed=True,
        )

    def run() -> Adjustment:
        with transaction.atomic():
            code = None
            if amount.minor > 0:
                account, code = _lock_or_open_account(merchant, customer, currency)
            else:
                found = _lock_account(merchant, customer.pk, currency)
                if found is None:
                    raise InsufficientCredit(details={"available_minor": 0, "currency": currency})
                account = found
            previous = _previous(merchant, key, digest)
            if previous is not None:
                return replay(previous)
            now = clock.now()
            _expire_due(account, now)
            if account.balance_minor + amount.minor < 0:
                raise InsufficientCredit(
                    details={"available_minor": account.balance_minor, "currency": currency}
                )
            txn = _transaction(
                account,
                TransactionKind.ADJUSTMENT,
                now=now,
                key=key,
                digest=digest,
                requested_minor=amount.minor,
                actor=actor,
                note=reason,
            )
            if amount.minor < 0:
                _use_up(account, -amount.minor)
            _post(account, txn, EntryKind.ADJUSTMENT, amount.minor, now=now, expires_at=expires_at)
            _save_balance(account, now)
            record_event(
                "StoreCreditAdjusted",
                {
                    **_account_payload(account),
                    "transaction_id": txn.pk,
                    "amount_minor": amount.minor,
                    "reason": reason,
                    "actor": actor,
                },
                merchant_id=merchant.pk,
                aggregate_type="credit_account",
                aggregate_id=account.pk,
            )
            return Adjustment(
                account=account,
                transaction_id=txn.pk,
                amount=amount,
                balance=Money(account.balance_minor, currency),
                code=code,
            )

    return _once(merchant, key, digest, run, replay)


# -- code -------------------------------------------------------------------------------------


def rotate_code(*, merchant: Merchant, customer: Customer, currency: str, actor: str) -> IssuedCode:
    """Give the account a new code (shown once); the old one stops working at commit."""
    _require_own_customer(merchant, customer)
    with transaction.atomic():
        account = _lock_account(merchant, customer.pk, currency)
        if account is None:
            raise NotFound(details={"customer": customer.pk, "currency": currency})
        now = clock.now()

        def write(fields: list[dict[str, str]]) -> None:
            CreditAccount.objects.filter(pk=account.pk).update(**fields[0], updated_at=now)
            account.code_prefix = fields[0]["code_prefix"]
            account.code_hash = fields[0]["code_hash"]

        (code,) = _with_fresh_codes(1, write)
        record_event(
            "StoreCreditCodeRotated",
            {**_account_payload(account), "actor": actor},
            merchant_id=merchant.pk,
            aggregate_type="credit_account",
            aggregate_id=account.pk,
        )
    return IssuedCode(account=account, code=code)
