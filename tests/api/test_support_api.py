"""The support pages through the API: find a customer, read their history, add a note,
grant goodwill for a named member of staff (their role and budget apply), read the audit log;
always the key's store only, and only with the `support` scope."""

from __future__ import annotations

import pytest

from awda.core.models import AuditEntry
from awda.core.money import Money
from awda.merchants.models import StaffRole
from awda.support import services
from awda.support.models import CustomerNote, GoodwillGrant, GoodwillStatus
from awda.wallet.models import CreditAccount
from tests import factories

pytestmark = pytest.mark.django_db


staff = factories.staff


@pytest.fixture
def shop():
    merchant = factories.merchant()
    owner = staff(merchant, f"owner-{merchant.pk}", StaffRole.OWNER)
    agent = staff(merchant, f"agent-{merchant.pk}", StaffRole.AGENT)
    order = factories.order(merchant, number="1001", email="noura@example.com")
    services.set_goodwill_allowance(
        merchant=merchant, actor=owner, agent_user_id=agent.user_id, monthly=Money(5000, "SAR")
    )
    api = factories.ApiClient(factories.api_key(merchant, scopes=["support:write"]))
    return merchant, owner, agent, order, api


def goodwill(agent, amount: int, key: str = "k1", **extra):
    return {
        "staff": agent.user.username,
        "kind": "store_credit",
        "amount_minor": amount,
        "currency": "SAR",
        "reason": "Parcel arrived late",
        "idempotency_key": key,
        **extra,
    }


def test_a_customer_is_found_by_email_or_order_number_in_a_page(shop):
    _merchant, _owner, _agent, order, api = shop

    for q in ("noura@example.com", "1001"):
        response = api.get(f"/customers?q={q}")
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 1
        assert body["items"][0]["id"] == order.customer_id
        assert body["items"][0]["email"] == "noura@example.com"


def test_the_history_lists_the_orders_notes_and_statistics(shop):
    merchant, _owner, agent, order, api = shop
    services.add_customer_note(
        merchant=merchant, actor=agent, customer_id=order.customer_id, text="Prefers calls"
    )

    response = api.get(f"/customers/{order.customer_id}")

    assert response.status_code == 200
    body = response.json()
    assert body["customer"]["id"] == order.customer_id
    assert [o["number"] for o in body["orders"]] == ["1001"]
    assert [n["text"] for n in body["notes"]] == ["Prefers calls"]
    assert body["stats"]["orders"] == 1
    assert body["stats"]["currency"] == "SAR"
    assert body["risk_flags"] == []


def test_another_stores_customer_is_not_found_and_never_shown(shop):
    _merchant, _owner, agent, _order, api = shop
    other = factories.merchant()
    theirs = factories.order(other, number="2002", email="theirs@example.com")

    assert api.get(f"/customers/{theirs.customer_id}").status_code == 404
    assert api.get("/customers?q=theirs@example.com").json()["count"] == 0
    assert api.get("/customers?q=2002").json()["count"] == 0
    note = api.post(
        f"/customers/{theirs.customer_id}/notes", {"staff": agent.user.username, "text": "hi"}
    )
    assert note.status_code == 404
    grant = api.post(f"/customers/{theirs.customer_id}/goodwill", goodwill(agent, 100))
    assert grant.status_code == 404
    assert not CustomerNote.objects.filter(customer_id=theirs.customer_id).exists()
    assert not GoodwillGrant.objects.filter(customer_id=theirs.customer_id).exists()


def test_a_note_is_written_by_the_named_member_of_staff_and_audited(shop):
    merchant, _owner, agent, order, api = shop

    response = api.post(
        f"/customers/{order.customer_id}/notes",
        {"staff": agent.user.username, "text": "Called about the late parcel"},
    )

    assert response.status_code == 201
    assert response.json()["author"] == agent.user.username
    entry = AuditEntry.objects.get(merchant_id=merchant.pk, action="customer_note_added")
    assert entry.actor == agent.user.username
    assert entry.subject_id == str(order.customer_id)


def test_an_agent_grants_goodwill_within_budget_once_per_key(shop):
    merchant, _owner, agent, order, api = shop
    path = f"/customers/{order.customer_id}/goodwill"

    first = api.post(path, goodwill(agent, 3000))
    again = api.post(path, goodwill(agent, 3000))

    assert first.status_code == 201
    body = first.json()
    assert body["grant"]["status"] == GoodwillStatus.GRANTED
    assert body["grant"]["agent"] == agent.user.username
    assert body["remaining_minor"] == 2000
    assert again.status_code == 200 and again.json()["replayed"] is True
    account = CreditAccount.objects.get(merchant=merchant, customer_id=order.customer_id)
    assert account.balance_minor == 3000
    entry = AuditEntry.objects.get(merchant_id=merchant.pk, action="goodwill_granted")
    assert entry.actor == agent.user.username


def test_goodwill_over_the_agents_budget_is_refused_with_what_is_left_and_nothing_granted(shop):
    merchant, _owner, agent, order, api = shop
    api.post(f"/customers/{order.customer_id}/goodwill", goodwill(agent, 3000))

    response = api.post(f"/customers/{order.customer_id}/goodwill", goodwill(agent, 2500, "k2"))

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "goodwill_budget_exceeded"
    assert body["field"] == "amount"
    assert "budget" in body["message"]
    assert body["details"] == {"remaining_minor": 2000, "monthly_minor": 5000}
    assert GoodwillGrant.objects.filter(merchant=merchant).count() == 1
    account = CreditAccount.objects.get(merchant=merchant, customer_id=order.customer_id)
    assert account.balance_minor == 3000
    assert not AuditEntry.objects.filter(
        merchant_id=merchant.pk, action="goodwill_requested"
    ).exists()


def test_over_budget_with_ask_owner_waits_for_an_owner_and_moves_no_money(shop):
    merchant, _owner, agent, order, api = shop

    response = api.post(
        f"/customers/{order.customer_id}/goodwill", goodwill(agent, 9000, ask_owner=True)
    )

    assert response.status_code == 201
    assert response.json()["grant"]["status"] == GoodwillStatus.PENDING
    assert not CreditAccount.objects.filter(merchant=merchant).exists()
    assert AuditEntry.objects.filter(merchant_id=merchant.pk, action="goodwill_requested").exists()


def test_an_owner_has_no_budget(shop):
    _merchant, owner, _agent, order, api = shop

    response = api.post(f"/customers/{order.customer_id}/goodwill", goodwill(owner, 90000))

    assert response.status_code == 201
    assert response.json()["remaining_minor"] is None


def test_goodwill_needs_a_member_of_this_store_whose_role_may_grant_it(shop):
    merchant, _owner, _agent, order, api = shop
    packer = staff(merchant, f"packer-{merchant.pk}", StaffRole.WAREHOUSE)
    stranger = staff(factories.merchant(), "stranger", StaffRole.OWNER)
    path = f"/customers/{order.customer_id}/goodwill"

    forbidden = api.post(path, goodwill(packer, 100))
    unknown = api.post(path, goodwill(stranger, 100, "k2"))

    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
    assert unknown.status_code == 422 and unknown.json()["field"] == "staff"
    assert not GoodwillGrant.objects.filter(merchant=merchant).exists()


def test_a_partial_refund_names_one_of_the_customers_orders(shop):
    _merchant, _owner, agent, order, api = shop
    path = f"/customers/{order.customer_id}/goodwill"

    missing = api.post(path, goodwill(agent, 100, kind="partial_refund"))
    unknown = api.post(path, goodwill(agent, 100, kind="partial_refund", order_number="nope"))

    assert missing.status_code == 422 and missing.json()["field"] == "order"
    assert unknown.status_code == 404 and unknown.json()["field"] == "order_number"


def test_the_support_scope_is_needed_and_read_does_not_write(shop):
    merchant, _owner, agent, order, _api = shop
    other_areas = factories.ApiClient(factories.api_key(merchant, scopes=["returns:write"]))
    reader = factories.ApiClient(factories.api_key(merchant, scopes=["support:read"]))

    refused = other_areas.get(f"/customers/{order.customer_id}")
    assert refused.status_code == 403 and refused.json()["needed"] == "support:read"
    assert other_areas.get("/audit").json()["needed"] == "support:read"
    assert reader.get(f"/customers/{order.customer_id}").status_code == 200
    write = reader.post(f"/customers/{order.customer_id}/goodwill", goodwill(agent, 100))
    assert write.status_code == 403 and write.json()["needed"] == "support:write"
    assert not GoodwillGrant.objects.filter(merchant=merchant).exists()


def test_the_audit_log_shows_the_apis_actions_by_person_and_action(shop):
    merchant, owner, agent, order, api = shop
    api.post(f"/customers/{order.customer_id}/notes", {"staff": agent.user.username, "text": "x"})
    api.post(f"/customers/{order.customer_id}/goodwill", goodwill(agent, 1000))

    by_agent = api.get(f"/audit?actor={agent.user.username}").json()
    notes = api.get("/audit?action=customer_note_added").json()
    by_owner = api.get(f"/audit?actor={owner.user.username}").json()

    assert {r["action"] for r in by_agent["items"]} == {"customer_note_added", "goodwill_granted"}
    assert {r["actor"] for r in by_agent["items"]} == {agent.user.username}
    assert [r["action"] for r in notes["items"]] == ["customer_note_added"]
    # The owner set the budget (the fixture): their row only.
    assert [r["action"] for r in by_owner["items"]] == ["goodwill_budget_set"]
    assert AuditEntry.objects.filter(merchant_id=merchant.pk).count() == 3


def test_the_audit_csv_holds_the_same_rows(shop):
    _merchant, _owner, agent, order, api = shop
    api.post(
        f"/customers/{order.customer_id}/notes", {"staff": agent.user.username, "text": "=1+1"}
    )

    response = api.get("/audit.csv?action=customer_note_added")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == "at,actor,role,action,subject,summary"
    assert len(lines) == 2
    # A typed summary that looks like a formula is kept as text for spreadsheets.
    assert lines[1].endswith(
        f"{agent.user.username},agent,customer_note_added,customer:{order.customer_id},'=1+1"
    )


def test_audit_dates_must_be_in_order(shop):
    api = shop[-1]

    response = api.get("/audit?from=2026-02-01&to=2026-01-01")

    assert response.status_code == 422
    assert response.json()["field"] == "to"
    assert api.get("/audit?from=not-a-date").status_code == 422
