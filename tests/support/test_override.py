"""Overriding the policy (issue 7): an agent or an owner opens a return the policy refuses
(out of its window, final sale, a method it doesn't offer) with a written reason. The return
is approved at once and priced by the policy's terms; the reason and what was set aside are
on its timeline and in the audit log. Units that were never delivered stay refused."""

from __future__ import annotations

import pytest

from awda.core.errors import InvalidInput, PermissionDenied
from awda.core.models import AuditEntry, Event
from awda.merchants.models import StaffMembership, StaffRole
from awda.orders.models import OrderLine
from awda.returns import errors
from awda.returns.models import Return, ReturnStatus, TimelineEntry
from awda.returns.services import ItemRequest, request_return
from awda.support import services
from tests import factories

pytestmark = pytest.mark.django_db

WHY = "Customer was abroad; the parcel sat at customs"


def staff(merchant, role: str) -> StaffMembership:
    return factories.staff(merchant, f"{role}-{merchant.pk}", role)


@pytest.fixture
def agent(merchant) -> StaffMembership:
    return staff(merchant, StaffRole.AGENT)


def late_order(merchant, **line_options):
    # Delivered 45 days ago: the default policy's 30-day window has closed.
    return factories.order(
        merchant, lines=[factories.line("1", quantity=2, **line_options)], delivered_days_ago=45
    )


def item(quantity: int = 1, reason: str = "too_small", **kw) -> ItemRequest:
    return ItemRequest(line_ref="1", quantity=quantity, reason=reason, **kw)


def override(merchant, actor, order, *, items=None, method="label", reason=WHY) -> Return:
    return services.open_return_with_override(
        merchant=merchant,
        actor=actor,
        order_number=order.number,
        items=items or [item()],
        method=method,
        reason=reason,
    )


def nothing_saved(merchant) -> None:
    assert not Return.objects.filter(merchant=merchant).exists()
    assert not AuditEntry.objects.filter(merchant_id=merchant.pk).exists()
    assert not Event.objects.filter(merchant_id=merchant.pk, name="ReturnRequested").exists()
    assert not OrderLine.objects.filter(merchant=merchant, returned_quantity__gt=0).exists()


def test_a_line_past_the_window_is_refused_without_an_override(merchant):
    order = late_order(merchant)

    with pytest.raises(errors.WindowExpired):
        request_return(merchant=merchant, order_number=order.number, items=[item()], method="label")
    nothing_saved(merchant)


def test_an_agent_opens_a_return_past_the_window_with_a_reason_and_it_is_approved_at_once(
    merchant, agent
):
    order = late_order(merchant)

    ret = override(merchant, agent, order)

    assert ret.status == ReturnStatus.APPROVED and ret.approved_at is not None
    assert ret.channel == "staff"
    assert OrderLine.objects.get(order=order, line_ref="1").returned_quantity == 1


def test_a_final_sale_line_is_refused_without_an_override_and_opened_with_one(merchant, agent):
    order = factories.order(merchant, lines=[factories.line("1", final_sale=True)])

    with pytest.raises(errors.FinalSale):
        request_return(merchant=merchant, order_number=order.number, items=[item()], method="label")
    ret = override(merchant, agent, order)

    assert ret.status == ReturnStatus.APPROVED
    entry = TimelineEntry.objects.get(return_request=ret, kind="policy_overridden")
    assert entry.data == {"lines": [{"line_ref": "1", "codes": ["final_sale"]}]}


def test_an_override_never_returns_more_units_than_were_delivered(merchant, agent):
    order = late_order(merchant)

    with pytest.raises(errors.QuantityExceedsReturnable) as refused:
        override(merchant, agent, order, items=[item(quantity=3)])

    assert refused.value.field == "items.0.quantity"
    nothing_saved(merchant)


def test_an_override_still_needs_a_known_reason_and_line(merchant, agent):
    order = late_order(merchant)

    with pytest.raises(errors.UnknownReason):
        override(merchant, agent, order, items=[item(reason="no_such_reason")])
    with pytest.raises(errors.ExchangeNotAllowed):
        override(merchant, agent, order, items=[item(resolution="exchange", exchange_sku="NOPE")])
    nothing_saved(merchant)


@pytest.mark.parametrize("reason", ["", "   \n "])
def test_an_override_without_a_reason_is_refused_and_nothing_is_saved(merchant, agent, reason):
    order = late_order(merchant)

    with pytest.raises(InvalidInput) as refused:
        override(merchant, agent, order, reason=reason)

    assert refused.value.field == "override_reason"
    nothing_saved(merchant)


def test_the_timeline_says_who_set_the_policy_aside_why_and_what_was_set_aside(merchant, agent):
    order = late_order(merchant)

    ret = override(merchant, agent, order, reason=f"  {WHY} ")

    entries = list(TimelineEntry.objects.filter(return_request=ret).order_by("at", "pk"))
    assert [(e.kind, e.to_status) for e in entries] == [
        ("status_changed", ReturnStatus.REQUESTED),
        ("policy_overridden", ""),
        ("status_changed", ReturnStatus.APPROVED),
    ]
    overridden = entries[1]
    assert overridden.actor == f"staff:{agent.user_id}"
    assert overridden.note == WHY
    assert overridden.data == {"lines": [{"line_ref": "1", "codes": ["window_expired"]}]}
    assert entries[2].actor == f"staff:{agent.user_id}"  # a person approved it, not the policy


def test_the_override_is_audited_in_the_same_transaction_with_the_reason(merchant, agent):
    order = late_order(merchant)

    ret = override(merchant, agent, order)

    audit = AuditEntry.objects.get(merchant_id=merchant.pk, action="policy_override")
    assert (audit.actor, audit.role) == (agent.user.username, StaffRole.AGENT)
    assert (audit.subject_type, audit.subject_id) == ("return", ret.number)
    assert audit.summary == WHY
    assert audit.data == {
        "order": order.number,
        "lines": [{"line_ref": "1", "codes": ["window_expired"]}],
        "overridden": ["window_expired"],
    }


def test_the_return_requested_event_says_it_was_an_override(merchant, agent):
    normal = factories.order(merchant)
    plain = request_return(
        merchant=merchant, order_number=normal.number, items=[item()], method="label"
    )
    forced = override(merchant, agent, late_order(merchant))

    def payload(ret: Return) -> dict:
        return Event.objects.get(name="ReturnRequested", aggregate_id=str(ret.pk)).payload

    assert payload(forced)["override"] is True
    assert payload(plain)["override"] is False
    assert Event.objects.filter(name="ReturnApproved", aggregate_id=str(forced.pk)).exists()


def test_an_override_is_priced_by_the_policys_terms(merchant, agent):
    # Electronics returned for a change of mind: a 14-day window and a 15% restocking fee.
    order = factories.order(
        merchant,
        lines=[factories.line("1", price=10000, category="electronics")],
        delivered_days_ago=20,
    )

    ret = override(merchant, agent, order, items=[item(reason="changed_my_mind")])

    assert ret.quote["items"][0]["restocking_fee"] == 1500
    assert ret.quote["shipping_fee"] > 0  # the customer still pays for the return label


def test_a_method_the_policy_doesnt_offer_is_set_aside_and_named(merchant, agent):
    order = factories.order(merchant, lines=[factories.line("1", final_sale=True)])

    ret = override(merchant, agent, order, method="keep_item")

    entry = TimelineEntry.objects.get(return_request=ret, kind="policy_overridden")
    assert entry.data["lines"] == [{"line_ref": "1", "codes": ["final_sale", "method_not_allowed"]}]
    assert AuditEntry.objects.get(action="policy_override").data["overridden"] == [
        "final_sale",
        "method_not_allowed",
    ]


def test_an_owner_may_override_the_policy_too(merchant):
    owner = staff(merchant, StaffRole.OWNER)

    ret = override(merchant, owner, late_order(merchant))

    assert AuditEntry.objects.get(action="policy_override").role == StaffRole.OWNER
    assert ret.status == ReturnStatus.APPROVED


@pytest.mark.parametrize("role", [StaffRole.WAREHOUSE, StaffRole.ANALYST])
def test_warehouse_staff_and_analysts_may_not_override_the_policy(merchant, role):
    member = staff(merchant, role)
    order = late_order(merchant)

    with pytest.raises(PermissionDenied):
        override(merchant, member, order)
    nothing_saved(merchant)


def test_staff_of_another_store_may_not_override_this_stores_policy(merchant):
    outsider = staff(factories.merchant(), StaffRole.OWNER)

    with pytest.raises(PermissionDenied):
        override(merchant, outsider, late_order(merchant))
    nothing_saved(merchant)
