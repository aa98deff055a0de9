"""Property-based: random sequences of return commands never reach an illegal state or
break the unit invariant (units held = units in live returns ≤ units delivered)."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from awda.core import clock
from awda.core.errors import DomainError
from awda.orders.models import OrderLine
from awda.returns.models import Return, ReturnItem, TimelineEntry
from awda.returns.rules import RELEASES_UNITS, TRANSITIONS
from awda.returns.services import (
    ItemRequest,
    approve_return,
    cancel_return,
    expire_unshipped_returns,
    record_receipt,
    reject_return,
    request_return,
)
from tests import factories

LEGAL_MOVES = {(src, dst) for moves in TRANSITIONS.values() for src, dst in moves.items()}


class ReturnLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        data = factories.default_policy().to_data()
        data["rules"] = [
            *data["rules"],
            {
                "id": "review-big",
                "name": "Review big returns",
                "when": {"price_min_minor": 30000},
                "then": {"manual_review": True},
            },
        ]
        from awda.policies.document import parse_policy

        self.merchant = factories.merchant(policy=parse_policy(data))
        self.order = factories.order(
            self.merchant,
            lines=[
                factories.line("1", quantity=3, price=10000),
                factories.line("2", quantity=2, price=40000),  # goes to review
            ],
        )
        self.offset = timedelta(0)

    def _numbers(self) -> list[str]:
        # In creation order: the numbers are random, so ordering by them (as the unique
        # index on (merchant, number) may) would differ when hypothesis replays an example.
        return list(
            Return.objects.for_merchant(self.merchant)
            .order_by("pk")
            .values_list("number", flat=True)
        )

    def _do(self, action, *args, **kwargs) -> None:
        # Refusals are fine; the invariants must hold either way.
        with clock.frozen_at(clock.now() + self.offset), contextlib.suppress(DomainError):
            action(*args, **kwargs)

    @rule(ref=st.sampled_from(["1", "2"]), qty=st.integers(1, 4), both=st.booleans())
    def request(self, ref: str, qty: int, both: bool) -> None:
        refs = ["1", "2"] if both else [ref]
        self._do(
            request_return,
            merchant=self.merchant,
            order_number=self.order.number,
            items=[ItemRequest(line_ref=r, quantity=qty, reason="too_small") for r in refs],
            method="label",
        )

    @precondition(lambda self: Return.objects.for_merchant(self.merchant).exists())
    @rule(data=st.data(), action=st.sampled_from(["approve", "reject", "cancel", "receive"]))
    def act(self, data: st.DataObject, action: str) -> None:
        number = data.draw(st.sampled_from(self._numbers()))
        m = self.merchant
        if action == "approve":
            self._do(approve_return, merchant=m, number=number, actor="staff:1")
        elif action == "reject":
            self._do(reject_return, merchant=m, number=number, actor="staff:1", reason="no")
        elif action == "cancel":
            self._do(cancel_return, merchant=m, number=number, actor="shopper")
        else:
            self._do(record_receipt, merchant=m, number=number, actor="staff:2")

    @rule(days=st.integers(1, 30))
    def time_passes(self, days: int) -> None:
        self.offset += timedelta(days=days)
        self._do(expire_unshipped_returns)

    @invariant()
    def units_held_match_live_returns(self) -> None:
        for line in OrderLine.objects.filter(order=self.order):
            live = sum(
                ReturnItem.objects.filter(order_line=line)
                .exclude(return_request__status__in=RELEASES_UNITS)
                .values_list("quantity", flat=True)
            )
            assert line.returned_quantity == live
            assert 0 <= line.returned_quantity <= line.delivered_quantity

    @invariant()
    def every_status_change_is_in_the_table(self) -> None:
        for entry in TimelineEntry.objects.filter(
            return_request__merchant=self.merchant, kind="status_changed"
        ).exclude(from_status=""):
            assert (entry.from_status, entry.to_status) in LEGAL_MOVES

    @invariant()
    def each_return_ends_where_its_timeline_ends(self) -> None:
        for ret in Return.objects.for_merchant(self.merchant):
            last = ret.timeline.order_by("at", "pk").last()
            assert last is not None and last.to_status == ret.status
            assert ret.refund_total_minor >= 0


@pytest.mark.django_db
def test_random_command_sequences_keep_the_return_invariants():
    ReturnLifecycle.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    ReturnLifecycle.TestCase().runTest()
