"""Goodwill: agents compensate customers within a monthly budget set by an owner; over it
the grant is refused with what is left, or waits for an owner; every action is audited."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from awda.core import clock
from awda.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from awda.core.models import AuditEntry, Event
from awda.core.money import Money
from awda.merchants.models import StaffRole
from awda.orders.models import Customer, Order, Payment
from awda.payments.models import Refund
from awda.support import selectors, services
from awda.support.models import GoodwillGrant, GoodwillStatus
from awda.support.rules import budget_month
from awda.wallet.models import CreditAccount
from tests import factories

pytestmark = pytest.mark.django_db


staff = factories.staff


@pytest.fixture
def shop():
    merchant = factories.merchant()
    owner = staff(merchant, f"owner-{merchant.pk}", StaffRole.OWNER)
    agent = staff(merchant, f"agent-{merchant.pk}", StaffRole.AGENT)
    order = factories.order(merchant, lines=[factories.line("1", price=20000)])
    services.set_goodwill_allowance(
        merchant=merchant, actor=owner, agent_user_id=agent.user_id, monthly=Money(5000, "SAR")
    )
    return merchant, owner, agent, order


def grant(merchant, actor, order, amount, *, key="k1", kind="store_credit", **kw):
    return services.grant_goodwill(
        merchant=merchant,
        actor=actor,
        customer_id=order.customer_id,
        kind=kind,
        amount=Money(amount, "SAR"),
        reason="Parcel arrived late",
        idempotency_key=key,
        order_id=kw.pop("order_id", order.pk if kind == "partial_refund" else None),
        **kw,
    )


def test_an_agent_grants_store_credit_within_budget_and_the_wallet_holds_it(shop):
    merchant, _owner, agent, order = shop
    result = grant(merchant, agent, order, 3000)
    assert result.grant.status == GoodwillStatus.GRANTED
    assert result.remaining == Money(2000, "SAR")
    account = CreditAccount.objects.get(merchant=merchant, customer_id=order.customer_id)
    assert account.balance_minor == 3000
    assert Event.objects.filter(name="GoodwillGranted", aggregate_id=str(result.grant.pk)).exists()
    entry = AuditEntry.objects.get(merchant_id=merchant.pk, action="goodwill_granted")
    assert entry.actor == agent.user.username and entry.subject_id == str(order.customer_id)


def test_a_grant_over_the_budget_is_refused_with_what_is_left_and_nothing_is_saved(shop):
    merchant, _owner, agent, order = shop
    grant(merchant, agent, order, 3000)
    with pytest.raises(services.BudgetExceeded) as refused:
        grant(merchant, agent, order, 2500, key="k2")
    assert refused.value.field == "amount"
    assert refused.value.details["remaining_minor"] == 2000
    assert "20.00" in str(refused.value.message) or "٢٠" in str(refused.value.message)
    assert GoodwillGrant.objects.filter(merchant=merchant).count() == 1
    assert CreditAccount.objects.get(customer_id=order.customer_id).balance_minor == 3000
    assert not AuditEntry.objects.filter(action="goodwill_requested").exists()


def test_over_budget_with_ask_owner_waits_and_the_owner_approval_moves_the_money(shop):
    merchant, owner, agent, order = shop
    result = grant(merchant, agent, order, 9000, ask_owner=True)
    assert result.grant.status == GoodwillStatus.PENDING
    assert not CreditAccount.objects.filter(customer_id=order.customer_id).exists()
    assert list(selectors.pending_goodwill(merchant=merchant)) == [result.grant]
    # The pending request holds its share: nothing is left this month.
    assert selectors.goodwill_budget(merchant=merchant, membership=agent).used == Money(9000, "SAR")
    decided = services.decide_goodwill(
        merchant=merchant, actor=owner, grant_id=result.grant.pk, approve=True, note="ok"
    )
    assert decided.status == GoodwillStatus.GRANTED and decided.decided_by == owner.user.username
    assert CreditAccount.objects.get(customer_id=order.customer_id).balance_minor == 9000
    with pytest.raises(Conflict):
        services.decide_goodwill(
            merchant=merchant, actor=owner, grant_id=result.grant.pk, approve=True
        )


def test_a_refused_request_frees_the_budget_it_held(shop):
    merchant, owner, agent, order = shop
    result = grant(merchant, agent, order, 9000, ask_owner=True)
    services.decide_goodwill(
        merchant=merchant, actor=owner, grant_id=result.grant.pk, approve=False, note="no"
    )
    budget = selectors.goodwill_budget(merchant=merchant, membership=agent)
    assert budget.used == Money(0, "SAR") and budget.remaining == Money(5000, "SAR")
    assert AuditEntry.objects.filter(action="goodwill_refused").count() == 1


def test_only_an_owner_decides_and_sets_budgets(shop):
    merchant, _owner, agent, order = shop
    pending = grant(merchant, agent, order, 9000, ask_owner=True).grant
    with pytest.raises(PermissionDenied):
        services.decide_goodwill(merchant=merchant, actor=agent, grant_id=pending.pk, approve=True)
    with pytest.raises(PermissionDenied):
        services.set_goodwill_allowance(
            merchant=merchant, actor=agent, agent_user_id=agent.user_id, monthly=Money(10**6, "SAR")
        )


def test_warehouse_and_analyst_staff_cannot_grant_goodwill(shop):
    merchant, _owner, _agent, order = shop
    for role in (StaffRole.WAREHOUSE, StaffRole.ANALYST):
        member = staff(merchant, f"{role}-{merchant.pk}", role)
        with pytest.raises(PermissionDenied):
            grant(merchant, member, order, 100, key=f"k-{role}")


def test_staff_of_another_store_can_neither_grant_nor_see_its_customers(shop):
    merchant, _owner, _agent, order = shop
    other = factories.merchant()
    outsider = staff(other, f"owner-{other.pk}", StaffRole.OWNER)
    with pytest.raises(PermissionDenied):
        grant(merchant, outsider, order, 100)
    with pytest.raises(NotFound):
        grant(other, outsider, order, 100)  # the customer is not the other store's
    assert selectors.customer_history(merchant=other, customer_id=order.customer_id) is None


def test_an_owner_has_no_budget(shop):
    merchant, owner, _agent, order = shop
    result = grant(merchant, owner, order, 10**6)
    assert result.grant.status == GoodwillStatus.GRANTED and result.remaining is None


def test_a_repeated_key_replays_the_grant_once(shop):
    merchant, _owner, agent, order = shop
    first = grant(merchant, agent, order, 1000)
    again = grant(merchant, agent, order, 1000)
    assert again.replayed and again.grant.pk == first.grant.pk
    assert CreditAccount.objects.get(customer_id=order.customer_id).balance_minor == 1000
    with pytest.raises(Conflict):
        grant(merchant, agent, order, 1200)  # the same key for another amount


def test_a_partial_refund_is_reserved_on_the_payment_and_sent_by_a_job(shop):
    merchant, _owner, agent, order = shop
    result = grant(merchant, agent, order, 1500, kind="partial_refund")
    refund = Refund.objects.get(request_key=f"goodwill-{result.grant.pk}")
    assert refund.amount_minor == 1500
    assert Payment.objects.get(order=order).refunded_minor == 1500


def test_a_free_shipping_grant_gets_a_code_for_the_store(shop):
    merchant, _owner, agent, order = shop
    result = grant(merchant, agent, order, 2000, kind="free_shipping")
    assert result.grant.code.startswith("FREESHIP-")
    event = Event.objects.get(name="GoodwillGranted", aggregate_id=str(result.grant.pk))
    assert event.payload["code"] == result.grant.code


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": Money(0, "SAR")}, "amount"),
        ({"amount": Money(100, "USD")}, "currency"),
        ({"reason": "  "}, "reason"),
        ({"kind": "cash"}, "kind"),
        ({"kind": "partial_refund", "order_id": None}, "order"),
        ({"idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(shop, changes, field):
    merchant, _owner, agent, order = shop
    values = {
        "merchant": merchant,
        "actor": agent,
        "customer_id": order.customer_id,
        "kind": "store_credit",
        "amount": Money(100, "SAR"),
        "reason": "late",
        "idempotency_key": "k",
        "order_id": None,
    }
    values.update(changes)
    with pytest.raises(InvalidInput) as error:
        services.grant_goodwill(**values)
    assert error.value.field == field
    assert not GoodwillGrant.objects.exists()


def test_a_partial_refund_of_someone_elses_order_is_not_found(shop):
    merchant, _owner, agent, order = shop
    stranger = factories.order(merchant)
    someone = Customer.objects.create(merchant=merchant, email="someone.else@example.com")
    Order.objects.filter(pk=stranger.pk).update(customer=someone)
    with pytest.raises(NotFound) as error:
        grant(merchant, agent, order, 100, kind="partial_refund", order_id=stranger.pk)
    assert error.value.field == "order"


def test_the_budget_month_is_the_merchants_not_utcs():
    # 22:30 UTC on 31 Jan is 01:30 on 1 Feb in Riyadh.
    assert budget_month(datetime(2026, 1, 31, 22, 30, tzinfo=UTC), "Asia/Riyadh") == date(
        2026, 2, 1
    )


def test_last_months_grants_do_not_count_against_this_month(shop, monkeypatch):
    merchant, _owner, agent, order = shop
    grant(merchant, agent, order, 5000)
    later = clock.now().replace(day=1) + __import__("datetime").timedelta(days=40)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert grant(merchant, agent, order, 5000, key="k2").grant.status == GoodwillStatus.GRANTED
