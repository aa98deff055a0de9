"""The support agent's and the owner's pages (issue 7): a customer found by what the agent
has at hand, the whole history on one page, goodwill within the agent's budget (refused over
it next to the amount, or sent to an owner), notes, the returns queue with bulk decisions, a
return's page with its photos, the owner's budgets and approvals, and the audit log whose
CSV holds exactly the rows on the page. Roles and stores are enforced on every page and
action, and every POST needs its CSRF token."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.utils import translation
from PIL import Image

from awda.core import clock
from awda.core.errors import InvalidInput
from awda.core.models import AuditEntry
from awda.core.money import Money
from awda.dashboard.support_views import parse_amount
from awda.merchants.models import Merchant, StaffMembership, StaffRole
from awda.orders.models import Customer
from awda.returns.models import Return, ReturnItem, ReturnPhoto, ReturnStatus
from awda.returns.photos import store_photo
from awda.returns.services import ItemRequest, request_return
from awda.support import services
from awda.support.models import CustomerNote, GoodwillGrant, GoodwillStatus
from awda.wallet.models import CreditAccount
from tests import factories
from tests.dashboard import helpers as d

pytestmark = pytest.mark.django_db


# -- the shop every test starts from --------------------------------------------------------


def member(m: Merchant, user) -> StaffMembership:  # type: ignore[no-untyped-def]
    return StaffMembership.objects.select_related("user").get(merchant=m, user=user)


class Shop:
    """A store with an owner, an agent with a budget of SAR 50 a month, and a customer with
    one order and one return waiting for review."""

    def __init__(self, budget_minor: int = 5000) -> None:
        self.m = factories.merchant()
        self.owner = d.staff(self.m, StaffRole.OWNER)
        self.agent = d.staff(self.m, StaffRole.AGENT)
        services.set_goodwill_allowance(
            merchant=self.m,
            actor=member(self.m, self.owner),
            agent_user_id=self.agent.pk,
            monthly=Money(budget_minor, "SAR"),
        )
        self.order = factories.order(self.m, email="huda@example.com")
        self.customer = Customer.objects.get(pk=self.order.customer_id)
        self.customer.phone = "+966512345678"
        self.customer.name = "Huda Al-Harbi"
        self.customer.tags = ["vip"]
        self.customer.save()
        self.ret = new_return(self.m, self.order.number, status=ReturnStatus.PENDING_REVIEW)

    def url(self, path: str = "", lang: str = "en") -> str:
        return f"/{lang}/staff/{self.m.slug}/{path}"

    def customer_url(self, lang: str = "en") -> str:
        return self.url(f"customers/{self.customer.pk}/", lang)

    def grant_url(self) -> str:
        return self.url(f"customers/{self.customer.pk}/goodwill/")


def new_return(m: Merchant, order_number: str, *, status: str | None = None) -> Return:
    ret = request_return(
        merchant=m,
        order_number=order_number,
        items=[ItemRequest(line_ref="1", quantity=1, reason="too_small")],
        method="label",
    )
    if status:
        Return.objects.filter(pk=ret.pk).update(status=status)
    return Return.objects.get(pk=ret.pk)


def goodwill_form(**changes: str) -> dict[str, str]:
    data = {"kind": "store_credit", "amount": "20", "reason": "Parcel late", "key": "form-1"}
    data.update(changes)
    return data


def page(answer) -> str:  # type: ignore[no-untyped-def]
    return answer.content.decode()


def arabic(msgid: str) -> str:
    with translation.override("ar"):
        text = translation.gettext(msgid)
    assert text != msgid, f"not translated: {msgid!r}"
    return text


@pytest.fixture
def shop() -> Shop:
    return Shop()


# -- amounts ------------------------------------------------------------------------------------


def test_an_amount_is_read_exactly_in_the_currencys_minor_units_and_never_rounded():
    assert parse_amount("25", "SAR") == Money(2500, "SAR")
    assert parse_amount(" 25.5 ", "SAR") == Money(2550, "SAR")
    assert parse_amount("٢٥٫٥٠", "SAR") == Money(2550, "SAR")
    assert parse_amount("1.125", "KWD") == Money(1125, "KWD")
    for typed in ("10.005", "abc", "", "0", "-5", "NaN", "Infinity", "1e9"):
        with pytest.raises(InvalidInput):
            parse_amount(typed, "SAR")


# -- finding the customer and the history ------------------------------------------------------


def test_an_agent_finds_a_customer_by_a_phone_typed_locally_and_opens_the_whole_history(shop):
    services.add_customer_note(
        merchant=shop.m,
        actor=member(shop.m, shop.owner),
        customer_id=shop.customer.pk,
        text="Prefers WhatsApp",
    )
    client = d.signed_in(shop.agent)

    found = client.get(shop.url("customers/"), {"q": "051 234 5678"})
    history = client.get(shop.customer_url())

    assert found.status_code == 200
    assert f'href="{shop.customer_url()}"' in page(found)
    assert history.status_code == 200
    text = page(history)
    for shown in (shop.order.number, shop.ret.number, "Prefers WhatsApp", "vip", "SKU-1"):
        assert shown in text, shown
    assert 'id="budget"' in text and "SAR" in text


def test_a_search_that_finds_nobody_says_so(shop):
    answer = d.signed_in(shop.agent).get(shop.url("customers/"), {"q": "0599999999"})
    assert answer.status_code == 200 and "No customer matches" in page(answer)


def test_a_customer_who_returns_a_lot_is_flagged_on_the_page(shop):
    Customer.objects.filter(pk=shop.customer.pk).update(
        returns_count=6, units_bought=8, units_returned=6
    )
    text = page(d.signed_in(shop.agent).get(shop.customer_url()))
    assert 'id="risk-flags"' in text
    assert "Many returns" in text and "High return rate" in text and "75%" in text


# -- goodwill -----------------------------------------------------------------------------------


def test_goodwill_within_the_budget_is_granted_once_even_when_the_form_is_sent_twice(shop):
    client = d.signed_in(shop.agent)

    first = client.post(shop.grant_url(), goodwill_form(amount="20.50"))
    again = client.post(shop.grant_url(), goodwill_form(amount="20.50"))

    (grant,) = GoodwillGrant.objects.filter(merchant=shop.m)
    assert (grant.status, grant.amount_minor) == (GoodwillStatus.GRANTED, 2050)
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"] == f"{shop.customer_url()}?granted={grant.pk}"
    assert CreditAccount.objects.get(customer=shop.customer).balance_minor == 2050
    shown = page(client.get(first["Location"]))
    assert "Store credit of" in shown and 'id="notice"' in shown
    assert "29.50" in shown  # the budget left: SAR 50 − 20.50


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_goodwill_over_the_budget_is_refused_next_to_the_amount_and_nothing_is_saved(shop, lang):
    client = d.signed_in(shop.agent)

    answer = client.post(
        shop.url(f"customers/{shop.customer.pk}/goodwill/", lang), goodwill_form(amount="60")
    )

    assert answer.status_code == 422
    text = page(answer)
    message = re.search(r'<p class="error" id="amount-error">([^<]*)', text)
    assert message is not None
    start = "This goes over your goodwill budget"
    assert (arabic(start + ": %(left)s left this month of %(monthly)s. Ask an owner to "
                   "approve it, or grant less.").split("%(left)s")[0] if lang == "ar" else start
            ) in message.group(1)  # fmt: skip
    assert 'aria-invalid="true" aria-describedby="amount-error"' in text
    assert 'value="60"' in text  # what the agent typed stays in the field
    assert not GoodwillGrant.objects.exists()
    assert not CreditAccount.objects.filter(customer=shop.customer).exists()


def test_goodwill_over_the_budget_with_the_box_ticked_waits_for_an_owner_who_approves_it(shop):
    agent = d.signed_in(shop.agent)
    owner = d.signed_in(shop.owner)

    asked = agent.post(shop.grant_url(), goodwill_form(amount="60", ask_owner="1"))
    (grant,) = GoodwillGrant.objects.all()
    listed = owner.get(shop.url("goodwill/"))
    approved = owner.post(
        shop.url(f"goodwill/{grant.pk}/decide/"), {"decision": "approve", "note": "ok"}
    )

    assert asked.status_code == 302
    assert f'id="request-{grant.pk}"' in page(listed)
    assert approved.status_code == 302
    grant.refresh_from_db()
    assert grant.status == GoodwillStatus.GRANTED
    assert CreditAccount.objects.get(customer=shop.customer).balance_minor == 6000
    assert "Request approved" in page(owner.get(approved["Location"]))
    again = owner.post(shop.url(f"goodwill/{grant.pk}/decide/"), {"decision": "refuse"})
    assert again.status_code == 409
    assert CreditAccount.objects.get(customer=shop.customer).balance_minor == 6000


def test_an_owner_refuses_a_request_and_no_money_moves(shop):
    services.grant_goodwill(
        merchant=shop.m, actor=member(shop.m, shop.agent), customer_id=shop.customer.pk,
        kind="store_credit", amount=Money(9000, "SAR"), reason="late", idempotency_key="k",
        ask_owner=True,
    )  # fmt: skip
    (grant,) = GoodwillGrant.objects.all()

    answer = d.signed_in(shop.owner).post(
        shop.url(f"goodwill/{grant.pk}/decide/"), {"decision": "refuse", "note": "too much"}
    )

    assert answer.status_code == 302
    grant.refresh_from_db()
    assert (grant.status, grant.decision_note) == (GoodwillStatus.REFUSED, "too much")
    assert not CreditAccount.objects.exists()


def test_bad_goodwill_input_comes_back_next_to_each_field(shop):
    client = d.signed_in(shop.agent)

    answer = client.post(
        shop.grant_url(),
        goodwill_form(kind="partial_refund", amount="10.005", reason="", order=""),
    )

    assert answer.status_code == 422
    text = page(answer)
    for name in ("amount", "reason", "order"):
        assert f'id="{name}-error"' in text, name
    assert not GoodwillGrant.objects.exists()


def test_a_partial_refund_goes_to_the_chosen_order_of_this_customer_only(shop):
    other = factories.order(shop.m, email="someone@example.com")
    client = d.signed_in(shop.owner)

    wrong = client.post(
        shop.grant_url(), goodwill_form(kind="partial_refund", amount="5", order=str(other.pk))
    )
    right = client.post(
        shop.grant_url(),
        goodwill_form(kind="partial_refund", amount="5", order=str(shop.order.pk), key="k2"),
    )

    assert wrong.status_code == 404 and 'id="order-error"' in page(wrong)
    assert right.status_code == 302
    (grant,) = GoodwillGrant.objects.all()
    assert (grant.order_id, grant.amount_minor) == (shop.order.pk, 500)


def test_a_note_is_added_and_an_empty_one_is_refused(shop):
    client = d.signed_in(shop.agent)
    url = shop.url(f"customers/{shop.customer.pk}/notes/")

    empty = client.post(url, {"text": "   "})
    added = client.post(url, {"text": "Called about the late parcel"})

    assert empty.status_code == 422 and 'id="text-error"' in page(empty)
    assert added.status_code == 302
    assert [n.text for n in CustomerNote.objects.all()] == ["Called about the late parcel"]
    assert "Called about the late parcel" in page(client.get(added["Location"]))


# -- the returns queue --------------------------------------------------------------------------


def test_the_queue_filters_and_searches_and_links_each_return(shop):
    other_order = factories.order(shop.m, email="other@example.com")
    approved = new_return(shop.m, other_order.number, status=ReturnStatus.APPROVED)
    Return.objects.filter(pk=shop.ret.pk).update(requested_at=clock.now() - timedelta(days=9))
    client = d.signed_in(shop.agent)

    waiting = page(client.get(shop.url("returns/"), {"status": "pending_review"}))
    old = page(client.get(shop.url("returns/"), {"older": "7"}))
    by_phone = page(client.get(shop.url("returns/"), {"q": "0512345678"}))
    everything = page(client.get(shop.url("returns/")))

    assert shop.ret.number in waiting and approved.number not in waiting
    assert shop.ret.number in old and approved.number not in old
    assert shop.ret.number in by_phone and approved.number not in by_phone
    assert shop.url(f"returns/{shop.ret.number}/") in everything
    assert approved.number in everything


def test_bulk_approve_shows_each_returns_outcome_and_reject_needs_a_reason(shop):
    second = new_return(shop.m, factories.order(shop.m).number, status=ReturnStatus.PENDING_REVIEW)
    done = new_return(shop.m, factories.order(shop.m).number, status=ReturnStatus.APPROVED)
    client = d.signed_in(shop.agent)
    url = shop.url("returns/decide/")

    no_reason = client.post(url, {"numbers": [shop.ret.number], "decision": "reject"})
    answer = client.post(
        url, {"numbers": [shop.ret.number, second.number, done.number], "decision": "approve"}
    )

    assert no_reason.status_code == 422 and 'id="reason-error"' in page(no_reason)
    assert answer.status_code == 200
    outcomes = page(answer).split('id="outcomes"')[1].split("</section>")[0]
    assert outcomes.count('class="ok"') == 2 and outcomes.count('class="error"') == 1
    statuses = dict(Return.objects.values_list("number", "status"))
    assert statuses[shop.ret.number] == statuses[second.number] == ReturnStatus.APPROVED
    assert AuditEntry.objects.filter(action="return_approved").count() == 2


# -- a return's page ----------------------------------------------------------------------------


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def attach_photo(ret: Return) -> ReturnPhoto:
    photo = store_photo(merchant=ret.merchant, order=ret.order, data=png())
    photo.return_item = ReturnItem.objects.get(return_request=ret)
    photo.attached_at = clock.now()
    photo.save()
    return photo


def test_a_returns_page_shows_items_photos_money_and_timeline_and_approves_it(shop):
    photo = attach_photo(shop.ret)
    client = d.signed_in(shop.agent)
    url = shop.url(f"returns/{shop.ret.number}/")

    shown = client.get(url)
    picture = client.get(f"{url}photos/{photo.pk}/")
    approved = client.post(f"{url}decide/", {"decision": "approve"})
    again = client.post(f"{url}decide/", {"decision": "approve"})

    text = page(shown)
    assert shown.status_code == 200
    for part in ('id="items"', 'id="money"', 'id="timeline"', 'id="parcels"', 'id="approve"'):
        assert part in text, part
    assert f"photos/{photo.pk}/" in text
    assert picture.status_code == 200 and picture["Content-Type"] == photo.content_type
    assert picture["Cache-Control"] == "private, max-age=3600"
    assert approved.status_code == 302 and approved["Location"] == f"{url}?done=approved"
    assert again.status_code == 409
    assert Return.objects.get(pk=shop.ret.pk).status == ReturnStatus.APPROVED
    assert 'id="approve"' not in page(client.get(url))


def test_a_photo_of_another_return_or_store_is_not_served(shop):
    photo = attach_photo(shop.ret)
    other = Shop()
    client = d.signed_in(other.agent)

    assert (
        client.get(other.url(f"returns/{other.ret.number}/photos/{photo.pk}/")).status_code == 404
    )
    assert client.get(other.url(f"returns/{shop.ret.number}/photos/{photo.pk}/")).status_code == 404


# -- the owner's pages --------------------------------------------------------------------------


def test_an_owner_sets_an_agents_budget_and_sees_what_is_used_and_left(shop):
    client = d.signed_in(shop.owner)
    url = shop.url("goodwill/")

    bad = client.post(url, {"agent": str(shop.agent.pk), "monthly": "12.345"})
    saved = client.post(url, {"agent": str(shop.agent.pk), "monthly": "120"})
    services.grant_goodwill(
        merchant=shop.m, actor=member(shop.m, shop.agent), customer_id=shop.customer.pk,
        kind="store_credit", amount=Money(2000, "SAR"), reason="late", idempotency_key="k",
    )  # fmt: skip
    row = page(client.get(url)).split(f'id="agent-{shop.agent.pk}"')[1].split("</tr>")[0]

    assert bad.status_code == 422 and f'id="monthly-{shop.agent.pk}-error"' in page(bad)
    assert saved.status_code == 302
    # A digit int() can't read ("²" is a digit to str.isdigit): refused, not a 500.
    assert client.post(url, {"agent": "²", "monthly": "120"}).status_code == 422
    assert "20.00" in row and "100.00" in row  # used, left of SAR 120


class _Table(HTMLParser):
    """The audit table's rows: each row's data attributes and cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, object]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "tr" and "data-at" in values:
            self.rows.append({**values, "cells": []})
        elif tag == "td" and self.rows:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            cells = self.rows[-1]["cells"]
            assert isinstance(cells, list)
            cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_the_audit_log_is_searchable_and_its_csv_holds_exactly_the_rows_shown(shop):
    agent = member(shop.m, shop.agent)
    services.add_customer_note(
        merchant=shop.m, actor=agent, customer_id=shop.customer.pk, text="=HYPERLINK(1)"
    )
    services.grant_goodwill(
        merchant=shop.m, actor=agent, customer_id=shop.customer.pk, kind="store_credit",
        amount=Money(1000, "SAR"), reason="late", idempotency_key="k",
    )  # fmt: skip
    client = d.signed_in(shop.owner)

    for query in ({}, {"q": shop.agent.username}, {"action": "goodwill_granted"}):
        shown = client.get(shop.url("audit/"), query)
        exported = client.get(shop.url("audit.csv"), query)
        table = _Table()
        table.feed(page(shown))
        rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))

        assert shown.status_code == exported.status_code == 200
        assert exported["Content-Type"].startswith("text/csv")
        assert rows[0] == ["at", "actor", "role", "action", "subject", "summary"]
        assert len(rows) - 1 == len(table.rows) > 0, query
        for line, row in zip(rows[1:], table.rows, strict=True):
            cells = row["cells"]
            assert isinstance(cells, list)
            _at, actor, _role, _action, subject, summary = cells
            assert line[0] == row["data-at"] and line[2] == row["data-role"]
            assert line[3] == row["data-action"]
            assert [line[1], line[4]] == [actor, subject]
            # A formula is defused in the file, not on the page.
            assert line[5] == (f"'{summary}" if summary.startswith("=") else summary)
    only_grants = client.get(shop.url("audit/"), {"action": "goodwill_granted"})
    table = _Table()
    table.feed(page(only_grants))
    assert {r["data-action"] for r in table.rows} == {"goodwill_granted"}


def test_a_bad_date_in_the_audit_search_is_shown_next_to_its_field(shop):
    answer = d.signed_in(shop.owner).get(shop.url("audit/"), {"since": "31/01/2026"})
    assert answer.status_code == 422 and 'id="since-error"' in page(answer)


# -- who may open what ------------------------------------------------------------------------


def support_pages(shop: Shop) -> list[str]:
    return [
        shop.url("customers/"),
        shop.url("customers/?q=huda@example.com"),
        shop.customer_url(),
        shop.url("returns/"),
        shop.url(f"returns/{shop.ret.number}/"),
    ]


def support_posts(shop: Shop) -> list[tuple[str, dict[str, object]]]:
    return [
        (shop.grant_url(), goodwill_form()),
        (shop.url(f"customers/{shop.customer.pk}/notes/"), {"text": "hello"}),
        (shop.url("returns/decide/"), {"numbers": [shop.ret.number], "decision": "approve"}),
        (shop.url(f"returns/{shop.ret.number}/decide/"), {"decision": "approve"}),
    ]


def owner_pages(shop: Shop) -> list[str]:
    return [shop.url("goodwill/"), shop.url("audit/"), shop.url("audit.csv")]


def owner_posts(shop: Shop) -> list[tuple[str, dict[str, object]]]:
    return [
        (shop.url("goodwill/"), {"agent": str(shop.agent.pk), "monthly": "999"}),
        (shop.url("goodwill/1/decide/"), {"decision": "approve"}),
    ]


def nothing_changed(shop: Shop) -> None:
    assert not GoodwillGrant.objects.exists()
    assert not CustomerNote.objects.exists()
    assert Return.objects.get(pk=shop.ret.pk).status == ReturnStatus.PENDING_REVIEW
    assert (
        AuditEntry.objects.filter(merchant_id=shop.m.pk)
        .exclude(action="goodwill_budget_set")
        .count()
        == 0
    )


@pytest.mark.parametrize("role", [StaffRole.WAREHOUSE, StaffRole.ANALYST])
def test_warehouse_staff_and_analysts_may_not_open_or_use_the_support_pages(shop, role):
    client = d.signed_in(d.staff(shop.m, role))

    for url in support_pages(shop) + owner_pages(shop):
        assert client.get(url).status_code == 403, url
    for url, data in support_posts(shop) + owner_posts(shop):
        assert client.post(url, data).status_code == 403, url
    nothing_changed(shop)


def test_an_agent_may_not_open_or_use_the_owners_pages(shop):
    client = d.signed_in(shop.agent)

    for url in owner_pages(shop):
        assert client.get(url).status_code == 403, url
    for url, data in owner_posts(shop):
        assert client.post(url, data).status_code == 403, url
    assert GoodwillGrant.objects.count() == 0
    assert AuditEntry.objects.filter(action="goodwill_budget_set").count() == 1


def test_an_owner_opens_every_support_and_owner_page(shop):
    client = d.signed_in(shop.owner)
    for url in support_pages(shop) + owner_pages(shop):
        assert client.get(url).status_code == 200, url


def test_another_stores_staff_find_nothing_of_this_stores_customers_or_returns(shop):
    other = Shop()
    outsider = d.signed_in(other.owner)

    # Through this store's address: not a member, so no such store.
    for url in support_pages(shop) + owner_pages(shop):
        assert outsider.get(url).status_code == 404, url
    # Through their own store's address with this store's ids: no such customer or return.
    for url in (
        other.url(f"customers/{shop.customer.pk}/"),
        other.url(f"returns/{shop.ret.number}/"),
    ):
        assert outsider.get(url).status_code == 404, url
    for url, data in (
        (other.url(f"customers/{shop.customer.pk}/goodwill/"), goodwill_form()),
        (other.url(f"customers/{shop.customer.pk}/notes/"), {"text": "x"}),
        (other.url(f"returns/{shop.ret.number}/decide/"), {"decision": "approve"}),
    ):
        assert outsider.post(url, data).status_code == 404, url
    bulk = outsider.post(
        other.url("returns/decide/"), {"numbers": [shop.ret.number], "decision": "approve"}
    )
    assert bulk.status_code == 200 and 'class="error"' in page(bulk)
    nothing_changed(shop)


def test_anonymous_visitors_are_sent_to_sign_in(shop):
    client = Client()
    for url in support_pages(shop) + owner_pages(shop):
        answer = client.get(url)
        assert answer.status_code == 302 and "/staff/login/?next=" in answer["Location"], url


def test_every_post_needs_the_csrf_token(shop):
    agent = d.signed_in(shop.agent, enforce_csrf_checks=True)
    owner = d.signed_in(shop.owner, enforce_csrf_checks=True)

    for url, data in support_posts(shop):
        assert agent.post(url, data).status_code == 403, url
    for url, data in owner_posts(shop):
        assert owner.post(url, data).status_code == 403, url
    nothing_changed(shop)
    assert GoodwillGrant.objects.count() == 0


@pytest.mark.parametrize(
    ("role", "sections", "hidden"),
    [
        (StaffRole.AGENT, ["customers/", "returns/"], ["goodwill/", "audit/", "warehouse/"]),
        (StaffRole.OWNER, ["customers/", "returns/", "goodwill/", "audit/", "warehouse/"], []),
        (StaffRole.ANALYST, [], ["customers/", "returns/", "goodwill/", "audit/"]),
    ],
)
def test_the_stores_start_page_lists_the_sections_the_role_opens(shop, role, sections, hidden):
    user = {StaffRole.AGENT: shop.agent, StaffRole.OWNER: shop.owner}.get(role) or d.staff(
        shop.m, role
    )
    text = page(d.signed_in(user).get(shop.url()))
    for section in sections:
        assert f'href="{shop.url(section)}"' in text, section
    for section in hidden:
        assert f'href="{shop.url(section)}"' not in text, section
