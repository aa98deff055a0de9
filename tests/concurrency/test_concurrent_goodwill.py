"""Goodwill under real concurrency (PostgreSQL): an agent's grants racing each other never
pass the month's budget together."""

from __future__ import annotations

from collections import Counter

import pytest

from awda.core.money import Money
from awda.merchants.models import StaffRole
from awda.support import services
from awda.support.models import GoodwillGrant
from awda.wallet.models import CreditAccount
from tests import factories
from tests.concurrency.test_concurrent_returns import ATTEMPTS, _race
from tests.support.test_goodwill import staff

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_fifty_parallel_grants_by_one_agent_stay_within_the_budget(db):
    merchant = factories.merchant()
    owner = staff(merchant, "owner", StaffRole.OWNER)
    agent = staff(merchant, "agent", StaffRole.AGENT)
    order = factories.order(merchant)
    services.set_goodwill_allowance(
        merchant=merchant, actor=owner, agent_user_id=agent.user_id, monthly=Money(10000, "SAR")
    )

    def attempt(i: int) -> str:
        services.grant_goodwill(
            merchant=merchant, actor=agent, customer_id=order.customer_id,
            kind="store_credit", amount=Money(1000, "SAR"), reason="late",
            idempotency_key=f"k{i % (ATTEMPTS - 5)}",  # a few repeats of one key too
        )  # fmt: skip
        return "granted"

    outcomes = Counter(_race(ATTEMPTS, attempt))

    granted = GoodwillGrant.objects.filter(merchant=merchant)
    assert granted.count() == 10
    assert sum(g.amount_minor for g in granted) == 10000
    assert outcomes["goodwill_budget_exceeded"] >= ATTEMPTS - 10 - 5
    balance = CreditAccount.objects.get(customer_id=order.customer_id).balance_minor
    assert balance == 10000
