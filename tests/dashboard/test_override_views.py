"""The customer's page lets an agent open a return the policy refuses, with a written reason
(issue 7): one small form per order; bad input comes back next to its field with a 422 and
the form as typed, nothing saved; the return's page and the audit log show the override.
Only support roles of this store reach it, and only with the CSRF token."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from awda.core.models import AuditEntry
from awda.merchants.models import Merchant, StaffRole
from awda.orders.models import Customer, Order, OrderLine
from awda.returns.models import Return, ReturnStatus, TimelineEntry
from tests import factories
from tests.dashboard import helpers as d

pytestmark = pytest.mark.django_db

WHY = "Customer was in hospital; agreed by phone"


class Shop:
    """A store with an owner and an agent, and a customer whose order arrived 45 days ago
    (past the default policy's 30-day window)."""

    def __init__(self) -> None:
        self.m: Merchant = factories.merchant()
        self.owner = d.staff(self.m, StaffRole.OWNER)
        self.agent = d.staff(self.m, StaffRole.AGENT)
        self.order: Order = factories.order(
            self.m,
            lines=[factories.line("1", quantity=2), factories.line("2", final_sale=True)],
            delivered_days_ago=45,
        )
        self.line = OrderLine.objects.get(order=self.order, line_ref="1")
        self.final = OrderLine.objects.get(order=self.order, line_ref="2")

    def url(self, path: str = "", lang: str = "en") -> str:
        return f"/{lang}/staff/{self.m.slug}/{path}"

    def customer_url(self, lang: str = "en") -> str:
        return self.url(f"customers/{self.order.customer_id}/", lang)

    def override_url(self, lang: str = "en") -> str:
        return self.url(f"customers/{self.order.customer_id}/override/", lang)

    def form(self, **changes: str | list[str]) -> dict[str, str | list[str]]:
        pk = self.line.pk
        data: dict[str, str | list[str]] = {
            "order": str(self.order.pk),
            "line": [str(pk)],
            f"qty-{pk}": "1",
            f"reason-{pk}": "too_small",
            f"resolution-{pk}": "refund",
            f"sku-{pk}": "",
            "method": "label",
            "why": WHY,
        }
        data.update(changes)
        return data


@pytest.fixture
def shop() -> Shop:
    return Shop()


def page(answer) -> str:  # type: ignore[no-untyped-def]
    return answer.content.decode()


def arabic(msgid: str) -> str:
    with translation.override("ar"):
        text = translation.gettext(msgid)
    assert text != msgid, f"not translated: {msgid!r}"
    return text


def nothing_saved(shop: Shop) -> None:
    assert not Return.objects.filter(merchant=shop.m).exists()
    assert not AuditEntry.objects.filter(merchant_id=shop.m.pk, action="policy_override").exists()
    assert not OrderLine.objects.filter(order=shop.order, returned_quantity__gt=0).exists()


def test_the_customers_page_has_a_form_per_order_to_open_a_return_despite_the_policy(shop):
    answer = d.signed_in(shop.agent).get(shop.customer_url())

    assert answer.status_code == 200
    html = page(answer)
    assert f'id="override-form-{shop.order.pk}"' in html
    assert f'action="{shop.override_url()}"' in html
    assert f'name="qty-{shop.line.pk}"' in html and f'name="reason-{shop.final.pk}"' in html
    assert 'name="why"' in html and "csrfmiddlewaretoken" in html


def test_the_form_is_in_arabic_on_the_arabic_page(shop):
    answer = d.signed_in(shop.agent).get(shop.customer_url("ar"))

    assert answer.status_code == 200
    assert arabic("Open a return despite the policy") in page(answer)
    assert 'dir="rtl"' in page(answer)


def test_an_agent_opens_a_return_past_the_window_and_is_sent_back_with_a_link_to_it(shop):
    client = d.signed_in(shop.agent)

    answer = client.post(shop.override_url(), shop.form())

    ret = Return.objects.get(merchant=shop.m)
    assert answer.status_code == 302
    assert answer["Location"] == f"{shop.customer_url()}?opened={ret.number}"
    assert ret.status == ReturnStatus.APPROVED and ret.channel == "staff"
    audit = AuditEntry.objects.get(merchant_id=shop.m.pk, action="policy_override")
    assert (audit.actor, audit.role, audit.subject_id) == (
        shop.agent.username,
        StaffRole.AGENT,
        ret.number,
    )
    assert audit.summary == WHY and audit.data["overridden"] == ["window_expired"]
    back = client.get(answer["Location"])
    assert 'id="opened-notice"' in page(back)
    assert shop.url(f"returns/{ret.number}/") in page(back)


def test_several_lines_at_once_each_set_aside_for_its_own_reason(shop):
    client = d.signed_in(shop.owner)
    two = shop.final.pk
    form = shop.form(
        line=[str(shop.line.pk), str(two)],
        **{f"qty-{two}": "١", f"reason-{two}": "changed_my_mind", f"resolution-{two}": "refund"},
    )

    assert client.post(shop.override_url(), form).status_code == 302

    entry = TimelineEntry.objects.get(return_request__merchant=shop.m, kind="policy_overridden")
    assert entry.data["lines"] == [
        {"line_ref": "1", "codes": ["window_expired"]},
        {"line_ref": "2", "codes": ["final_sale"]},
    ]


def test_the_returns_page_shows_the_override_with_its_reason_and_what_was_set_aside(shop):
    client = d.signed_in(shop.agent)
    client.post(shop.override_url(), shop.form())
    ret = Return.objects.get(merchant=shop.m)

    html = page(client.get(shop.url(f"returns/{ret.number}/")))

    assert "Opened despite the policy" in html
    assert WHY in html
    assert "the return window had closed" in html
    arabic_html = page(client.get(shop.url(f"returns/{ret.number}/", "ar")))
    assert arabic("Opened despite the policy") in arabic_html
    assert arabic("the return window had closed") in arabic_html


def test_the_audit_log_names_the_override_in_the_owners_language(shop):
    d.signed_in(shop.agent).post(shop.override_url(), shop.form())
    owner = d.signed_in(shop.owner)

    english = page(owner.get(shop.url("audit/")))
    assert 'data-action="policy_override"' in english
    assert "Return opened despite the policy" in english
    assert arabic("Return opened despite the policy") in page(owner.get(shop.url("audit/", "ar")))


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"why": "   "}, "why", "Say why the policy is set aside."),
        ({"line": []}, "lines", "Choose at least one item to return."),
        ({"qty-{pk}": "0"}, "qty-{pk}", "Quantity must be at least 1."),
        ({"qty-{pk}": "²"}, "qty-{pk}", "Quantity must be at least 1."),  # a digit, not a number
        ({"reason-{pk}": ""}, "reason-{pk}", "Choose a reason."),
        ({"method": "teleport"}, "method", "Unknown return method."),
        # The service's refusal, next to the line's quantity: only 2 were delivered.
        ({"qty-{pk}": "3"}, "qty-{pk}", "The quantity is more than can still be returned"),
    ],
)
def test_bad_input_comes_back_next_to_its_field_with_the_form_as_typed(
    shop, changes, field, message
):
    pk = shop.line.pk
    form = shop.form(**{k.format(pk=pk): v for k, v in changes.items()})

    answer = d.signed_in(shop.agent).post(shop.override_url(), form)

    assert answer.status_code == 422
    html = page(answer)
    name = field.format(pk=pk)
    error = re.search(rf'<p class="error" id="{re.escape(name)}-error">([^<]*)</p>', html)
    assert error is not None and message in error.group(1).replace("&#x27;", "'"), html
    assert f'id="override-{shop.order.pk}" open' in html
    if name != "why":
        assert f">{WHY}</textarea>" in html  # the reason typed stays
    nothing_saved(shop)


def test_a_blank_reason_is_refused_in_arabic_on_the_arabic_page(shop):
    answer = d.signed_in(shop.agent).post(shop.override_url("ar"), shop.form(why=""))

    assert answer.status_code == 422
    assert arabic("Say why the policy is set aside.") in page(answer)
    nothing_saved(shop)


def test_an_order_of_another_customer_is_not_found(shop):
    other = factories.order(shop.m)
    someone_else = Customer.objects.create(merchant=shop.m, email="someone-else@example.com")
    Order.objects.filter(pk=other.pk).update(customer=someone_else)

    answer = d.signed_in(shop.agent).post(shop.override_url(), shop.form(order=str(other.pk)))

    assert answer.status_code == 404
    nothing_saved(shop)


@pytest.mark.parametrize("role", [StaffRole.WAREHOUSE, StaffRole.ANALYST])
def test_warehouse_staff_and_analysts_may_not_override_the_policy(shop, role):
    client = d.signed_in(d.staff(shop.m, role))

    assert client.post(shop.override_url(), shop.form()).status_code == 403
    nothing_saved(shop)


def test_another_stores_staff_find_no_such_store_or_customer(shop):
    other = Shop()
    outsider = d.signed_in(other.owner)

    assert outsider.post(shop.override_url(), shop.form()).status_code == 404
    # Through their own store's address with this store's customer: no such customer.
    theirs = other.url(f"customers/{shop.order.customer_id}/override/")
    assert outsider.post(theirs, shop.form()).status_code == 404
    nothing_saved(shop)


def test_the_form_needs_its_csrf_token(shop):
    client = d.signed_in(shop.agent, enforce_csrf_checks=True)

    assert client.post(shop.override_url(), shop.form()).status_code == 403
    nothing_saved(shop)


def test_the_override_only_accepts_posts(shop):
    assert d.signed_in(shop.agent).get(shop.override_url()).status_code == 405
