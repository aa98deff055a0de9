"""A store's policy may say how long store credit from a return lasts: the grant carries the
expiry, and the wallet's expiry job (and its reminder) take it from there."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from awda.core import clock
from awda.core.models import Event
from awda.core.money import Money
from awda.policies.document import PolicyInvalid, default_policy, parse_policy
from awda.policies.public import public_policy
from awda.returns.models import Return
from awda.returns.services import ItemRequest, issue_resolutions, request_return
from awda.wallet.models import CreditAccount, EntryKind, LedgerEntry
from awda.wallet.services import expire_store_credit, grant_store_credit
from tests import factories

pytestmark = pytest.mark.django_db


def _policy_data(**document: Any) -> dict[str, Any]:
    data = default_policy(currency="SAR", country="SA").to_data()
    data["defaults"].update(refund_timing="immediate")
    data.update(document)
    return data


def _credit_return(merchant) -> Return:
    order = factories.order(merchant, lines=[factories.line("1", price=20000)])
    ret = request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref="1", quantity=1, reason="size", resolution="store_credit")],
        method="label",
    )
    factories.run_jobs()  # approved at once: the credit is granted with ReturnApproved
    return ret


def _lots() -> list[LedgerEntry]:
    return list(
        LedgerEntry.objects.filter(kind__in=[EntryKind.CREDIT, EntryKind.BONUS]).order_by("pk")
    )


# -- the policy field ------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [0, 7, 29, 3651, True, "90"])
def test_a_credit_expiry_outside_30_days_to_10_years_is_refused_on_its_field(days):
    with pytest.raises(PolicyInvalid) as refused:
        parse_policy(_policy_data(store_credit_expiry_days=days))

    (error,) = refused.value.errors
    assert error.field == "store_credit_expiry_days"
    assert str(days) in error.reason or "integer" in error.reason


@pytest.mark.parametrize("days", [30, 365, 3650])
def test_a_credit_expiry_of_30_days_to_10_years_is_kept(days):
    document = parse_policy(_policy_data(store_credit_expiry_days=days))

    assert document.store_credit_expiry_days == days
    assert parse_policy(document.to_data()) == document  # round-trips (API, YAML)


def test_store_credit_never_expires_unless_the_policy_says_so():
    assert parse_policy(_policy_data()).store_credit_expiry_days is None
    assert "store_credit_expiry_days" not in parse_policy(_policy_data()).to_data()


# -- the grant -------------------------------------------------------------------------------------


def test_credit_from_a_return_expires_the_policys_days_after_it_is_granted():
    merchant = factories.merchant(policy=parse_policy(_policy_data(store_credit_expiry_days=90)))
    granted_at = clock.now().replace(microsecond=0)

    with clock.frozen_at(granted_at):
        ret = _credit_return(merchant)

    lots = _lots()
    assert lots and {lot.expires_at for lot in lots} == {granted_at + timedelta(days=90)}
    (granted,) = Event.objects.filter(name="StoreCreditGranted")
    assert granted.payload["expires_at"] == (granted_at + timedelta(days=90)).isoformat()
    balance = CreditAccount.objects.get().balance_minor
    assert balance == sum(lot.amount_minor for lot in lots) > 0

    # A job replayed weeks later asks for the same grant: nothing new, nothing refused.
    with clock.frozen_at(granted_at + timedelta(days=20)):
        assert issue_resolutions(return_id=ret.pk, trigger="ReturnApproved") == ["store_credit"]
    assert len(_lots()) == len(lots)

    # The wallet's hourly job: nothing before the day, all of it after.
    assert expire_store_credit(now=granted_at + timedelta(days=89, hours=23)) == 0
    assert CreditAccount.objects.get().balance_minor == balance
    assert expire_store_credit(now=granted_at + timedelta(days=90, minutes=1)) == len(lots)
    assert CreditAccount.objects.get().balance_minor == 0


def test_without_a_term_credit_from_a_return_never_expires():
    merchant = factories.merchant(policy=parse_policy(_policy_data()))

    _credit_return(merchant)

    assert _lots() and all(lot.expires_at is None for lot in _lots())
    assert expire_store_credit(now=clock.now() + timedelta(days=3650)) == 0


def test_a_grant_for_a_term_is_once_per_key_however_late_it_is_retried():
    merchant = factories.merchant()
    customer = factories.order(merchant, lines=[factories.line("1")]).customer

    def grant():
        return grant_store_credit(
            merchant=merchant,
            customer=customer,
            amount=Money(5000, "SAR"),
            idempotency_key="term-1",
            reference="R-1",
            actor="test",
            valid_for=timedelta(days=60),
        )

    first = grant()
    with clock.frozen_at(clock.now() + timedelta(days=3)):
        again = grant()

    assert again.replayed and again.transaction_id == first.transaction_id
    (lot,) = _lots()
    assert lot.expires_at == lot.created_at + timedelta(days=60)


# -- the public policy page ------------------------------------------------------------------------


def test_the_policy_page_says_how_long_store_credit_lasts_in_both_languages():
    document = parse_policy(_policy_data(store_credit_expiry_days=180))

    english = public_policy(document, language="en").section("money")
    arabic = public_policy(document, language="ar").section("money")

    assert english is not None and arabic is not None
    sentence = "Store credit from a return can be spent for 180 days after it is issued."
    assert sentence in english.points
    assert sentence not in arabic.points and len(arabic.points) == len(english.points)
    assert any("١٨٠" in p or "180" in p for p in arabic.points)


def test_the_page_says_nothing_of_credit_expiry_when_there_is_none_or_no_credit():
    without_term = parse_policy(_policy_data())
    data = _policy_data(store_credit_expiry_days=180)
    data["defaults"]["resolutions"] = ["refund"]
    without_credit = parse_policy(data)

    for document in (without_term, without_credit):
        money = public_policy(document, language="en").section("money")
        assert money is None or not any("can be spent for" in p for p in money.points)
