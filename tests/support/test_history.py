"""Support reads: finding a customer by what an agent types, the whole history on one page,
risk flags, notes and the audit log."""

from __future__ import annotations

import pytest

from awda.core.errors import InvalidInput
from awda.core.money import Money
from awda.merchants.models import StaffRole
from awda.policies.document import RiskThresholds
from awda.policies.services import replace_policy
from awda.returns.services import ItemRequest, request_return
from awda.support import selectors, services
from tests import factories
from tests.factories import run_jobs
from tests.support.test_goodwill import staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant():
    return factories.merchant()


def test_a_customer_is_found_by_phone_typed_locally_email_order_or_return_number(merchant):
    order = factories.order(merchant, email="Huda@Example.com")
    customer = order.customer
    customer.phone = "+966512345678"
    customer.name = "Huda Al-Harbi"
    customer.save()
    ret = request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref="1", quantity=1, reason="too_small")],
        method="label",
    )
    for typed in (
        "0512345678",
        "+966 51 234 5678",
        "huda@example.com",
        order.number,
        ret.number,
        "Harbi",
    ):
        assert selectors.find_customers(merchant=merchant, query=typed) == [customer], typed
    assert selectors.find_customers(merchant=merchant, query="") == []


def test_another_stores_customer_is_never_found(merchant):
    order = factories.order(merchant, email="shared@example.com")
    other = factories.merchant()
    factories.order(other, email="someone@example.com")
    assert selectors.find_customers(merchant=other, query="shared@example.com") == []
    assert selectors.find_customers(merchant=other, query=order.number) == []


def test_the_history_holds_orders_returns_money_goodwill_and_notes(merchant):
    owner = staff(merchant, f"owner-{merchant.pk}", StaffRole.OWNER)
    order = factories.order(merchant)
    request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref="1", quantity=1, reason="too_small")],
        method="label",
    )
    services.grant_goodwill(
        merchant=merchant, actor=owner, customer_id=order.customer_id, kind="store_credit",
        amount=Money(500, "SAR"), reason="sorry", idempotency_key="g1",
    )  # fmt: skip
    services.add_customer_note(
        merchant=merchant, actor=owner, customer_id=order.customer_id, text="Prefers WhatsApp"
    )
    history = selectors.customer_history(merchant=merchant, customer_id=order.customer_id)
    assert history is not None
    assert [o.pk for o in history.orders] == [order.pk]
    assert len(history.returns) == 1
    assert history.credit_accounts[0].balance_minor == 500
    assert [g.reason for g in history.goodwill] == ["sorry"]
    assert [n.text for n in history.notes] == ["Prefers WhatsApp"]
    assert history.stats.orders == 1


def test_an_empty_note_is_refused(merchant):
    owner = staff(merchant, f"owner-{merchant.pk}", StaffRole.OWNER)
    order = factories.order(merchant)
    with pytest.raises(InvalidInput) as error:
        services.add_customer_note(
            merchant=merchant, actor=owner, customer_id=order.customer_id, text="  "
        )
    assert error.value.field == "text"


def test_a_customer_returning_half_of_what_they_buy_is_flagged():
    stats = selectors.ReturnStats(
        orders=3, returns=2, units_bought=6, units_returned=3,
        return_rate=selectors.Decimal("0.5"), returns_value=Money(30000, "SAR"),
    )  # fmt: skip
    flags = selectors.risk_flags(stats, RiskThresholds())
    assert [f.code for f in flags] == ["high_return_rate"]
    assert selectors.risk_flags(stats, RiskThresholds(return_rate=selectors.Decimal("0.6"))) == []
    serial = selectors.risk_flags(stats, RiskThresholds(returns_count=2))
    assert "serial_returner" in [f.code for f in serial]


def test_the_audit_log_lists_staff_actions_and_money_newest_first_and_searches(merchant):
    owner = staff(merchant, f"owner-{merchant.pk}", StaffRole.OWNER)
    order = factories.order(merchant)
    services.add_customer_note(
        merchant=merchant, actor=owner, customer_id=order.customer_id, text="Called about size"
    )
    services.grant_goodwill(
        merchant=merchant, actor=owner, customer_id=order.customer_id, kind="store_credit",
        amount=Money(700, "SAR"), reason="late parcel", idempotency_key="g1",
    )  # fmt: skip
    rows = selectors.audit_log(merchant=merchant)
    actions = [r.action for r in rows]
    assert "goodwill_granted" in actions and "customer_note_added" in actions
    assert "StoreCreditGranted" in actions  # the money the grant moved
    assert [r.at for r in rows] == sorted((r.at for r in rows), reverse=True)
    found = selectors.audit_log(merchant=merchant, query="size", money=False)
    assert [r.action for r in found] == ["customer_note_added"]
    assert selectors.audit_log(merchant=factories.merchant()) == []


def test_the_risk_thresholds_come_from_the_merchants_policy(merchant):
    document = factories.default_policy(currency="SAR", country="SA").to_data()
    document["risk"] = {"returns_count": 1}
    replace_policy(merchant=merchant, document=document)
    order = factories.order(merchant)
    request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref="1", quantity=1, reason="too_small")],
        method="label",
    )
    run_jobs()  # the customer's counts are kept by an event handler
    history = selectors.customer_history(merchant=merchant, customer_id=order.customer_id)
    assert history is not None
    assert [f.code for f in history.flags] == ["serial_returner"]
