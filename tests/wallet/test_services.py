"""Store credit use cases on a real database (SQLite and PostgreSQL): rows, events, rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import translation

from awda.core import clock
from awda.core.errors import DomainError
from awda.core.models import Event
from awda.core.money import Money
from awda.wallet.errors import InsufficientCredit
from awda.wallet.models import (
    Book,
    CreditAccount,
    EntryKind,
    LedgerEntry,
    LedgerTransaction,
)
from awda.wallet.selectors import check_balance, store_credit_expiring, trial_balance
from awda.wallet.services import (
    adjust_store_credit,
    claw_back_store_credit,
    expire_store_credit,
    grant_store_credit,
    redeem_store_credit,
    rotate_code,
)
from tests import factories
from tests.wallet.checks import assert_ledger_consistent, customer

pytestmark = pytest.mark.django_db


def sar(minor: int) -> Money:
    return Money(minor, "SAR")


def grant(m, c, minor=10000, *, key=None, bonus=None, days=None, reference="R-AAAA-22"):
    return grant_store_credit(
        merchant=m,
        customer=c,
        amount=sar(minor),
        bonus=bonus,
        idempotency_key=key or f"grant-{minor}-{reference}-{days}",
        reference=reference,
        actor="agent:1",
        expires_at=clock.now() + timedelta(days=days) if days else None,
    )


def redeem(m, code, minor, *, key="order-5001", currency="SAR"):
    return redeem_store_credit(
        merchant=m,
        code=code,
        amount=Money(minor, currency),
        idempotency_key=key,
        reference="order 5001",
    )


def code_of(error: pytest.ExceptionInfo[DomainError]) -> str:
    return error.value.code


def events(name: str) -> list[Event]:
    return list(Event.objects.filter(name=name).order_by("created_at"))


@pytest.fixture
def shopper(merchant):
    return customer(merchant)


# -- grant -----------------------------------------------------------------------------------


def test_a_first_grant_opens_the_account_and_shows_its_code_once(merchant, shopper):
    first = grant(merchant, shopper, 10000, key="grant-1")
    second = grant(merchant, shopper, 2500, key="grant-2")
    assert first.code is not None
    assert second.code is None
    assert first.account.pk == second.account.pk
    assert second.balance == sar(12500)
    assert CreditAccount.objects.get().balance_minor == 12500
    assert check_balance(merchant=merchant, code=first.code).balance == sar(12500)
    assert_ledger_consistent(merchant)


def test_the_code_is_stored_only_as_a_hash_never_in_plain_text(merchant, shopper):
    code = grant(merchant, shopper).code
    assert code is not None
    plain = code.replace("-", "")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {CreditAccount._meta.db_table}")
        row = cursor.fetchone()
    stored = " ".join(str(v) for v in row)
    assert plain not in stored and code not in stored
    assert plain[:6] in stored  # the prefix, which finds the row, is all that is kept
    payloads = " ".join(str(e.payload) for e in Event.objects.all())
    assert plain not in payloads and code not in payloads


def test_a_grant_with_a_bonus_moves_each_part_against_its_own_book(merchant, shopper):
    result = grant(merchant, shopper, 10000, bonus=sar(1000))
    assert result.balance == sar(11000)
    entries = list(LedgerEntry.objects.order_by("pk").values_list("kind", "book", "amount_minor"))
    assert entries == [
        (EntryKind.CREDIT, Book.ISSUED, 10000),
        (EntryKind.BONUS, Book.BONUS, 1000),
    ]
    books = trial_balance(merchant=merchant, currency="SAR")
    assert books.customers == sar(11000)
    assert books.books[Book.ISSUED] == sar(-10000)
    assert books.books[Book.BONUS] == sar(-1000)
    assert books.total() == sar(0)


def test_a_grant_records_store_credit_granted_with_its_amounts(merchant, shopper):
    result = grant(merchant, shopper, 10000, bonus=sar(1500))
    (event,) = events("StoreCreditGranted")
    assert event.merchant_id == merchant.pk
    assert event.aggregate_id == str(result.account.pk)
    assert event.payload["amount_minor"] == 10000
    assert event.payload["bonus_minor"] == 1500
    assert event.payload["balance_minor"] == 11500
    assert event.payload["currency"] == "SAR"
    assert event.payload["account_opened"] is True


def test_the_same_idempotency_key_returns_the_first_grant_and_credits_once(merchant, shopper):
    first = grant(merchant, shopper, 10000, key="refund-R-1")
    again = grant(merchant, shopper, 10000, key="refund-R-1")
    assert again.replayed and not first.replayed
    assert again.transaction_id == first.transaction_id
    assert again.code is None  # shown once: a lost answer means a new code (rotate_code)
    assert again.balance == sar(10000)
    assert CreditAccount.objects.get().balance_minor == 10000
    assert LedgerEntry.objects.count() == 1
    assert len(events("StoreCreditGranted")) == 1


def test_a_grant_key_reused_with_another_amount_is_refused(merchant, shopper):
    grant(merchant, shopper, 10000, key="refund-R-1")
    with pytest.raises(DomainError) as error:
        grant(merchant, shopper, 9000, key="refund-R-1")
    assert code_of(error) == "idempotency_key_reused"
    assert error.value.status == 409
    assert CreditAccount.objects.get().balance_minor == 10000


def test_a_grant_key_reused_for_another_customer_is_refused(merchant, shopper):
    other = customer(merchant, email="other@example.com")
    grant(merchant, shopper, 10000, key="refund-R-1")
    with pytest.raises(DomainError) as error:
        grant(merchant, other, 10000, key="refund-R-1")
    assert code_of(error) == "idempotency_key_reused"


def test_one_idempotency_key_may_serve_two_merchants(merchant, shopper):
    other_store = factories.merchant()
    grant(merchant, shopper, 10000, key="refund-R-1")
    grant(other_store, customer(other_store), 10000, key="refund-R-1")
    assert LedgerTransaction.objects.count() == 2


def test_a_grant_for_another_merchants_customer_is_not_found(merchant):
    other_store = factories.merchant()
    with pytest.raises(DomainError) as error:
        grant(merchant, customer(other_store))
    assert code_of(error) == "not_found"
    assert not CreditAccount.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount": sar(0)}, "amount"),
        ({"amount": sar(-100)}, "amount"),
        ({"bonus": Money(100, "AED")}, "bonus"),
        ({"bonus": sar(-1)}, "bonus"),
        ({"expires_at": factories.days_ago(1)}, "expires_at"),
        ({"idempotency_key": " "}, "idempotency_key"),
    ],
)
def test_a_grant_that_makes_no_sense_is_refused_naming_the_field(merchant, shopper, kwargs, field):
    args = {
        "merchant": merchant,
        "customer": shopper,
        "amount": sar(10000),
        "idempotency_key": "grant-1",
        "reference": "R-1",
        "actor": "agent:1",
        **kwargs,
    }
    with pytest.raises(DomainError) as error:
        grant_store_credit(**args)
    assert code_of(error) == "invalid_input"
    assert error.value.field == field
    assert not LedgerEntry.objects.exists()


def test_credit_in_two_currencies_lives_in_two_accounts_with_two_codes(merchant, shopper):
    sar_grant = grant(merchant, shopper, 10000)
    aed_grant = grant_store_credit(
        merchant=merchant,
        customer=shopper,
        amount=Money(5000, "AED"),
        idempotency_key="grant-aed",
        reference="R-2",
        actor="agent:1",
    )
    assert sar_grant.account.pk != aed_grant.account.pk
    assert sar_grant.code and aed_grant.code and sar_grant.code != aed_grant.code
    assert_ledger_consistent(merchant)


# -- redeem ----------------------------------------------------------------------------------


def test_redeeming_spends_the_amount_and_records_store_credit_redeemed(merchant, shopper):
    code = grant(merchant, shopper, 10000).code
    result = redeem(merchant, code, 2500)
    assert not result.replayed
    assert result.amount == sar(2500)
    assert result.balance == sar(7500)
    debit = LedgerEntry.objects.get(kind=EntryKind.DEBIT)
    assert (debit.amount_minor, debit.book, debit.balance_after_minor) == (
        -2500,
        Book.REDEEMED,
        7500,
    )
    (event,) = events("StoreCreditRedeemed")
    assert event.payload["amount_minor"] == 2500
    assert event.payload["balance_minor"] == 7500
    assert event.payload["reference"] == "order 5001"
    assert_ledger_consistent(merchant)


def test_a_redemption_repeated_with_its_key_returns_the_first_result(merchant, shopper):
    code = grant(merchant, shopper, 10000).code
    first = redeem(merchant, code, 2500, key="checkout-77")
    again = redeem(merchant, code, 2500, key="checkout-77")
    assert again.replayed
    assert (again.transaction_id, again.balance) == (first.transaction_id, sar(7500))
    assert CreditAccount.objects.get().balance_minor == 7500
    assert len(events("StoreCreditRedeemed")) == 1


def test_a_redemption_key_reused_with_another_amount_is_refused(merchant, shopper):
    code = grant(merchant, shopper, 10000).code
    redeem(merchant, code, 2500, key="checkout-77")
    with pytest.raises(DomainError) as error:
        redeem(merchant, code, 3000, key="checkout-77")
    assert code_of(error) == "idempotency_key_reused"
    assert CreditAccount.objects.get().balance_minor == 7500


def test_a_redemption_key_reused_with_another_shoppers_code_is_refused(merchant, shopper):
    code = grant(merchant, shopper, 10000).code
    other = customer(merchant, email="b@example.com")
    other_code = grant(merchant, other, 10000, key="grant-b").code
    redeem(merchant, code, 2500, key="checkout-77")
    with pytest.raises(DomainError) as error:
        redeem(merchant, other_code, 2500, key="checkout-77")
    assert code_of(error) == "idempotency_key_reused"


def test_redeeming_more_than_the_balance_is_insufficient_credit_with_what_is_available(
    merchant, shopper
):
    code = grant(merchant, shopper, 10000).code
    with pytest.raises(InsufficientCredit) as error:
        redeem(merchant, code, 10001)
    assert error.value.code == "insufficient_credit"
    assert error.value.details == {"available_minor": 10000, "currency": "SAR"}
    assert CreditAccount.objects.get().balance_minor == 10000
    assert not LedgerEntry.objects.filter(kind=EntryKind.DEBIT).exists()


def test_the_whole_balance_can_be_spent_down_to_zero(merchant, shopper):
    code = grant(merchant, shopper, 10000).code
    assert redeem(merchant, code, 10000).balance == sar(0)
    with pytest.raises(InsufficientCredit):
        redeem(merchant, code, 1, key="order-5002")


def test_redeeming_in_another_currency_is_refused(merchant, shopper):
    code = grant(merchant, shopper, 10000).code
    with pytest.raises(DomainError) as error:
        redeem(merchant, code, 100, currency="AED")
    assert code_of(error) == "currency_mismatch"
    assert error.value.details == {"currency": "SAR"}


@pytest.mark.parametrize("code", ["nope", "2345-6789-ABCD-EFGH-JKMN", ""])
def test_an_unknown_code_is_not_found(merchant, shopper, code):
    grant(merchant, shopper, 10000)
    with pytest.raises(DomainError) as error:
        redeem(merchant, code, 100)
    assert code_of(error) == "not_found"
    with pytest.raises(DomainError):
        check_balance(merchant=merchant, code=code)


def test_a_code_with_the_right_prefix_and_a_wrong_rest_is_not_found(merchant, shopper):
    code = grant(merchant, shopper, 10000).code
    plain = code.replace("-", "")
    wrong = plain[:6] + ("2" if plain[6] != "2" else "3") + plain[7:]
    with pytest.raises(DomainError) as error:
        redeem(merchant, wrong, 100)
    assert code_of(error) == "not_found"


def test_another_merchants_code_is_not_found(merchant, shopper):
    other_store = factories.merchant()
    code = grant(other_store, customer(other_store), 10000).code
    with pytest.raises(DomainError) as error:
        redeem(merchant, code, 100)
    assert code_of(error) == "not_found"
    with pytest.raises(DomainError):
        check_balance(merchant=merchant, code=code)


def test_a_code_is_accepted_as_a_shopper_types_it(merchant, shopper):
    code = grant(merchant, shopper, 10000).code
    typed = code.replace("-", " ").lower()
    assert redeem(merchant, typed, 100).balance == sar(9900)


def test_a_rotated_code_replaces_the_old_one_at_once(merchant, shopper):
    old = grant(merchant, shopper, 10000).code
    issued = rotate_code(merchant=merchant, customer=shopper, currency="SAR", actor="agent:1")
    assert issued.code != old
    assert check_balance(merchant=merchant, code=issued.code).balance == sar(10000)
    with pytest.raises(DomainError) as error:
        redeem(merchant, old, 100)
    assert code_of(error) == "not_found"
    assert len(events("StoreCreditCodeRotated")) == 1


def test_a_redemption_retried_after_the_code_was_rotated_still_gets_its_first_answer(
    merchant, shopper
):
    old = grant(merchant, shopper, 10000).code
    first = redeem(merchant, old, 2500, key="checkout-77")
    rotate_code(merchant=merchant, customer=shopper, currency="SAR", actor="agent:1")
    assert redeem(merchant, old, 2500, key="checkout-77").transaction_id == first.transaction_id


def test_rotating_the_code_of_a_customer_without_credit_is_not_found(merchant, shopper):
    with pytest.raises(DomainError) as error:
        rotate_code(merchant=merchant, customer=shopper, currency="SAR", actor="agent:1")
    assert code_of(error) == "not_found"


def test_wallet_errors_speak_arabic(merchant, shopper):
    code = grant(merchant, shopper, 100).code
    with pytest.raises(InsufficientCredit) as error:
        redeem(merchant, code, 101)
    with translation.override("ar"):
        assert str(error.value.message) == "رصيد المتجر لا يكفي لهذا المبلغ."


# -- expiry (FIFO) ---------------------------------------------------------------------------


def test_spending_uses_the_credit_that_expires_first(merchant, shopper):
    code = grant(merchant, shopper, 5000, days=90, reference="R-late").code
    grant(merchant, shopper, 3000, days=10, reference="R-soon")
    grant(merchant, shopper, 2000, reference="R-never")
    redeem(merchant, code, 4000)
    remaining = dict(
        LedgerEntry.objects.filter(kind=EntryKind.CREDIT).values_list(
            "transaction__reference", "remaining_minor"
        )
    )
    assert remaining == {"R-soon": 0, "R-late": 4000, "R-never": 2000}
    assert_ledger_consistent(merchant)


def test_only_the_unspent_part_of_a_credit_expires(merchant, shopper):
    code = grant(merchant, shopper, 10000, days=30, bonus=sar(1000)).code
    grant(merchant, shopper, 5000, reference="R-never")
    redeem(merchant, code, 6000)
    later = clock.now() + timedelta(days=31)
    assert expire_store_credit(now=later) == 2  # the credit's rest and the whole bonus
    assert CreditAccount.objects.get().balance_minor == 5000
    expired = LedgerEntry.objects.filter(kind=EntryKind.EXPIRY)
    assert sorted(expired.values_list("amount_minor", flat=True)) == [-4000, -1000]
    assert set(expired.values_list("book", flat=True)) == {Book.EXPIRED}
    (event,) = events("StoreCreditExpired")
    assert event.payload["amount_minor"] == 5000
    assert event.payload["balance_minor"] == 5000
    assert_ledger_consistent(merchant)


def test_an_entry_expires_once_however_often_the_job_runs(merchant, shopper):
    grant(merchant, shopper, 10000, days=5)
    later = clock.now() + timedelta(days=6)
    assert expire_store_credit(now=later) == 1
    assert expire_store_credit(now=later) == 0
    assert expire_store_credit(now=later + timedelta(days=1)) == 0
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRY).count() == 1
    assert CreditAccount.objects.get().balance_minor == 0
    assert_ledger_consistent(merchant)


def test_the_expiry_job_leaves_credit_before_its_date_alone(merchant, shopper):
    grant(merchant, shopper, 10000, days=5)
    assert expire_store_credit(now=clock.now() + timedelta(days=4)) == 0
    assert CreditAccount.objects.get().balance_minor == 10000


def test_credit_past_its_expiry_cannot_be_spent_even_before_the_job_runs(merchant, shopper):
    code = grant(merchant, shopper, 10000, days=5).code
    grant(merchant, shopper, 2000, reference="R-never")
    with clock.frozen_at(clock.now() + timedelta(days=6)):
        assert check_balance(merchant=merchant, code=code).balance == sar(2000)
        with pytest.raises(InsufficientCredit) as error:
            redeem(merchant, code, 3000)
        assert error.value.details["available_minor"] == 2000
        assert redeem(merchant, code, 2000, key="order-5002").balance == sar(0)
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRY).count() == 1
    assert_ledger_consistent(merchant)


def test_check_balance_shows_the_balance_its_currency_and_the_next_expiry(merchant, shopper):
    first = grant(merchant, shopper, 3000, days=10, bonus=sar(300), reference="R-1")
    grant(merchant, shopper, 5000, days=40, reference="R-2")
    balance = check_balance(merchant=merchant, code=first.code)
    assert balance.balance == sar(8300)
    assert balance.next_expiry == sar(3300)
    assert balance.next_expiry_at is not None
    assert balance.next_expiry_at.date() == (clock.now() + timedelta(days=10)).date()


def test_credit_expiring_soon_is_listed_for_the_reminder(merchant, shopper):
    grant(merchant, shopper, 3000, days=3, reference="R-1")
    grant(merchant, shopper, 5000, days=30, reference="R-2")
    other = customer(merchant, email="b@example.com")
    spent = grant(merchant, other, 1000, days=2, reference="R-3", key="grant-b")
    redeem(merchant, spent.code, 1000)
    (soon,) = store_credit_expiring(within=timedelta(days=7))
    assert (soon.customer_id, soon.amount) == (shopper.pk, sar(3000))
    assert len(store_credit_expiring(within=timedelta(days=31))) == 1
    assert store_credit_expiring(within=timedelta(days=31))[0].amount == sar(8000)


# -- clawback --------------------------------------------------------------------------------


def claw_back(m, c, minor, *, key="clawback-R-1", reference="R-AAAA-22"):
    return claw_back_store_credit(
        merchant=m,
        customer=c,
        amount=sar(minor),
        idempotency_key=key,
        reference=reference,
        actor="warehouse:3",
    )


def test_a_clawback_takes_back_at_most_the_balance_and_reports_the_rest(merchant, shopper):
    code = grant(merchant, shopper, 10000).code
    redeem(merchant, code, 7000)
    result = claw_back(merchant, shopper, 10000)
    assert result.clawed_back == sar(3000)
    assert result.not_recovered == sar(7000)
    assert result.balance == sar(0)
    assert CreditAccount.objects.get().balance_minor == 0
    (event,) = events("StoreCreditClawedBack")
    assert event.payload["clawed_back_minor"] == 3000
    assert event.payload["not_recovered_minor"] == 7000
    assert_ledger_consistent(merchant)


def test_a_clawback_within_the_balance_takes_it_all(merchant, shopper):
    grant(merchant, shopper, 10000)
    result = claw_back(merchant, shopper, 4000)
    assert (result.clawed_back, result.not_recovered, result.balance) == (
        sar(4000),
        sar(0),
        sar(6000),
    )
    assert LedgerEntry.objects.get(kind=EntryKind.CLAWBACK).book == Book.CLAWED_BACK


def test_a_clawback_takes_the_credit_of_its_own_return_first(merchant, shopper):
    grant(merchant, shopper, 5000, days=10, reference="R-OTHER")
    grant(merchant, shopper, 5000, days=90, reference="R-BAD")
    claw_back(merchant, shopper, 5000, reference="R-BAD")
    remaining = dict(
        LedgerEntry.objects.filter(kind=EntryKind.CREDIT).values_list(
            "transaction__reference", "remaining_minor"
        )
    )
    assert remaining == {"R-OTHER": 5000, "R-BAD": 0}


def test_a_repeated_clawback_returns_the_first_result_even_after_new_credit(merchant, shopper):
    code = grant(merchant, shopper, 10000).code
    redeem(merchant, code, 10000)
    first = claw_back(merchant, shopper, 5000)
    grant(merchant, shopper, 8000, key="grant-later")
    again = claw_back(merchant, shopper, 5000)
    assert again.replayed
    assert (again.clawed_back, again.not_recovered) == (first.clawed_back, first.not_recovered)
    assert CreditAccount.objects.get().balance_minor == 8000


def test_a_clawback_from_a_customer_without_credit_recovers_nothing(merchant, shopper):
    result = claw_back(merchant, shopper, 5000)
    assert (result.clawed_back, result.not_recovered) == (sar(0), sar(5000))
    assert not CreditAccount.objects.exists()


# -- staff adjustment ------------------------------------------------------------------------


def adjust(m, c, minor, *, reason="goodwill", key=None, expires_at=None):
    return adjust_store_credit(
        merchant=m,
        customer=c,
        amount=sar(minor),
        reason=reason,
        actor="agent:1",
        idempotency_key=key,
        expires_at=expires_at,
    )


def test_an_adjustment_up_opens_the_account_and_keeps_its_reason(merchant, shopper):
    result = adjust(merchant, shopper, 1500, reason="Late delivery")
    assert result.code is not None
    assert result.balance == sar(1500)
    txn = LedgerTransaction.objects.get()
    assert (txn.note, txn.actor) == ("Late delivery", "agent:1")
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.book, entry.remaining_minor) == (
        EntryKind.ADJUSTMENT,
        Book.ADJUSTED,
        1500,
    )
    assert events("StoreCreditAdjusted")[0].payload["reason"] == "Late delivery"


def test_an_adjustment_down_takes_credit_but_never_below_zero(merchant, shopper):
    grant(merchant, shopper, 3000)
    assert adjust(merchant, shopper, -1000).balance == sar(2000)
    with pytest.raises(InsufficientCredit) as error:
        adjust(merchant, shopper, -2001)
    assert error.value.details["available_minor"] == 2000
    assert_ledger_consistent(merchant)


def test_an_adjustment_down_without_an_account_is_insufficient_credit(merchant, shopper):
    with pytest.raises(InsufficientCredit):
        adjust(merchant, shopper, -1)


@pytest.mark.parametrize(
    ("minor", "reason", "field"),
    [(0, "x", "amount"), (100, "  ", "reason")],
)
def test_an_adjustment_needs_an_amount_and_a_reason(merchant, shopper, minor, reason, field):
    with pytest.raises(DomainError) as error:
        adjust(merchant, shopper, minor, reason=reason)
    assert error.value.field == field


def test_an_adjustment_with_a_key_is_applied_once(merchant, shopper):
    adjust(merchant, shopper, 1500, key="ticket-991")
    again = adjust(merchant, shopper, 1500, key="ticket-991")
    assert again.replayed
    assert CreditAccount.objects.get().balance_minor == 1500
