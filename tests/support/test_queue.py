"""The staff's returns queue: filters, search by whatever the agent has at hand, and bulk
approve / reject where one return that can't be decided doesn't stop the others."""

from __future__ import annotations

from datetime import timedelta

import pytest

from awda.core.errors import InvalidInput, PermissionDenied
from awda.core.models import AuditEntry
from awda.merchants.models import StaffRole
from awda.returns.models import Return, ReturnStatus
from awda.returns.services import ItemRequest, request_return
from awda.support import selectors, services
from awda.support.selectors import QueueFilters
from tests import factories
from tests.support.test_goodwill import staff

pytestmark = pytest.mark.django_db


def new_return(merchant, *, reason="too_small", method="label", status=None, email=None):
    order = factories.order(merchant, **({"email": email} if email else {}))
    ret = request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref="1", quantity=1, reason=reason)],
        method=method,
    )
    if status:
        Return.objects.filter(pk=ret.pk).update(status=status)
        ret.refresh_from_db()
    return ret


@pytest.fixture
def merchant():
    return factories.merchant()


def numbers(qs):
    return [r.number for r in qs]


def test_the_queue_filters_by_status_reason_method_and_age_oldest_first(merchant):
    old = new_return(merchant, status=ReturnStatus.PENDING_REVIEW)
    Return.objects.filter(pk=old.pk).update(requested_at=old.requested_at - timedelta(days=9))
    damaged = new_return(merchant, reason="defective", status=ReturnStatus.PENDING_REVIEW)
    kept = new_return(merchant, method="qr_dropoff")

    pending = QueueFilters(statuses=[ReturnStatus.PENDING_REVIEW])
    assert numbers(selectors.returns_queue(merchant=merchant, filters=pending)) == [
        old.number,
        damaged.number,
    ]
    by_reason = QueueFilters(reason="defective")
    assert numbers(selectors.returns_queue(merchant=merchant, filters=by_reason)) == [
        damaged.number
    ]
    by_method = QueueFilters(method="qr_dropoff")
    assert numbers(selectors.returns_queue(merchant=merchant, filters=by_method)) == [kept.number]
    aged = QueueFilters(older_than_days=7)
    assert numbers(selectors.returns_queue(merchant=merchant, filters=aged)) == [old.number]


def test_the_queue_finds_a_return_by_its_number_order_number_or_email(merchant):
    ret = new_return(merchant, email="Sara@Example.com")
    new_return(factories.merchant())  # another store's return is never in this queue
    for typed in (ret.number, ret.order.number, "sara@example.com"):
        found = selectors.returns_queue(merchant=merchant, filters=QueueFilters(search=typed))
        assert numbers(found) == [ret.number], typed
    other = factories.merchant()
    assert not selectors.returns_queue(merchant=other, filters=QueueFilters(search=ret.number))


def test_bulk_approval_decides_what_it_can_and_says_why_for_the_rest(merchant):
    agent = staff(merchant, "agent", StaffRole.AGENT)
    waiting = new_return(merchant, status=ReturnStatus.PENDING_REVIEW)
    done = new_return(merchant, status=ReturnStatus.COMPLETED)
    outcomes = services.decide_returns(
        merchant=merchant,
        actor=agent,
        numbers=[waiting.number, done.number, waiting.number],
        approve=True,
    )
    assert [(o.number, o.ok) for o in outcomes] == [(waiting.number, True), (done.number, False)]
    assert outcomes[1].message
    waiting.refresh_from_db()
    assert waiting.status == ReturnStatus.APPROVED
    assert (
        AuditEntry.objects.filter(action="return_approved", subject_id=waiting.number).count() == 1
    )


def test_bulk_rejection_needs_a_reason_and_a_warehouse_role_cannot_decide(merchant):
    agent = staff(merchant, "agent", StaffRole.AGENT)
    ret = new_return(merchant, status=ReturnStatus.PENDING_REVIEW)
    with pytest.raises(InvalidInput) as error:
        services.decide_returns(merchant=merchant, actor=agent, numbers=[ret.number], approve=False)
    assert error.value.field == "reason"
    packer = staff(merchant, "packer", StaffRole.WAREHOUSE)
    with pytest.raises(PermissionDenied):
        services.decide_returns(merchant=merchant, actor=packer, numbers=[ret.number], approve=True)
