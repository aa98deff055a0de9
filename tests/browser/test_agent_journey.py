"""A support agent's journey in Chromium, in Arabic and in English (issue 7's "must show"):
the agent signs in, finds a customer by a phone number typed the local way (05…), opens the
history, grants store credit within the month's budget (the success message and the new
balance shown), then tries an amount over what is left and is refused next to the amount
field, with nothing granted. Sent to an owner instead, the request is approved by an owner
on the budgets page and the money moves. Every page is screenshotted and checked with axe,
the Arabic ones asserted right-to-left.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from awda.core.formatting import format_money
from awda.core.money import Money
from awda.merchants.models import StaffMembership, StaffRole
from awda.orders.models import Customer
from awda.returns.services import ItemRequest, request_return
from awda.support import services
from awda.support.models import GoodwillGrant, GoodwillStatus
from awda.wallet.models import CreditAccount
from tests import factories
from tests.browser.helpers import assert_ltr, assert_rtl, axe_check, snap
from tests.dashboard import helpers as d

TEXT = {
    "en": {
        "sign_in": "Sign in",
        "customers": "Customers",
        "granted": "Store credit of",
        "over": "This goes over your goodwill budget",
        "sent": "Sent to an owner for approval",
        "approve": "Approve",
        "approved": "Request approved",
    },
    "ar": {
        "sign_in": "تسجيل الدخول",
        "customers": "العملاء",
        "granted": "مُنح رصيد في المتجر",
        "over": "هذا يتجاوز ميزانية التعويضات لديك",
        "sent": "أُرسل إلى المالك للموافقة",
        "approve": "موافقة",
        "approved": "تمت الموافقة على الطلب",
    },
}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def check(page: Page, lang: str, name: str) -> None:
    """Direction, a screenshot and axe on every page the person reaches."""
    if lang == "ar":
        assert_rtl(page)
    else:
        assert_ltr(page)
    snap(page, f"{lang}-{name}")
    axe_check(page, f"{lang}-{name}-axe")


def sign_in(page: Page, base: str, lang: str, username: str) -> None:
    page.goto(f"{base}/{lang}/staff/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", d.PASSWORD)
    page.get_by_role("button", name=TEXT[lang]["sign_in"]).click()


def money(minor: int, lang: str, arabic_digits: bool) -> str:
    return format_money(minor, "SAR", lang, arabic_digits=arabic_digits and lang == "ar")


def balance() -> int:
    account = CreditAccount.objects.filter().first()
    return account.balance_minor if account else 0


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_an_agent_finds_a_customer_by_phone_grants_within_budget_and_is_refused_over_it(
    live_server, new_page, lang
):
    m = factories.merchant()
    owner = d.staff(m, StaffRole.OWNER, username=f"owner-{lang}")
    agent = d.staff(m, StaffRole.AGENT, username=f"agent-{lang}")
    services.set_goodwill_allowance(
        merchant=m,
        actor=StaffMembership.objects.select_related("user").get(merchant=m, user=owner),
        agent_user_id=agent.pk,
        monthly=Money(5000, "SAR"),  # SAR 50 a month
    )
    order = factories.order(m, email=f"huda-{lang}@example.com")
    Customer.objects.filter(pk=order.customer_id).update(
        phone="+966512345678", name="هدى الحربي" if lang == "ar" else "Huda Al-Harbi"
    )
    ret = request_return(
        merchant=m,
        order_number=order.number,
        items=[ItemRequest(line_ref="1", quantity=1, reason="too_small")],
        method="label",
    )
    base = live_server.url
    page = new_page(lang, desktop=True)

    # Sign in: an agent lands on the store's start page, which lists the agent's sections.
    sign_in(page, base, lang, agent.username)
    page.wait_for_url(f"**/{lang}/staff/{m.slug}/")
    check(page, lang, "home")
    page.get_by_role("link", name=TEXT[lang]["customers"], exact=True).click()
    page.wait_for_url(f"**/{lang}/staff/{m.slug}/customers/")
    assert page.evaluate("document.activeElement.id") == "q"
    check(page, lang, "search")

    # The customer's phone as they say it: the local format, no country code.
    page.keyboard.type("0512345678")
    page.keyboard.press("Enter")
    page.wait_for_url("**/customers/?q=0512345678")
    results = page.locator("#results a")
    assert results.count() == 1
    check(page, lang, "results")
    results.first.click()
    page.wait_for_url(f"**/customers/{order.customer_id}/")
    assert order.number in page.locator("#orders").inner_text()
    assert ret.number in page.locator("#returns").inner_text()
    assert money(5000, lang, m.arabic_digits) in page.locator("#budget").inner_text()
    check(page, lang, "history")

    # Store credit within the budget: granted, the message and the new balance shown.
    page.fill("#amount", "20")
    page.fill("#reason", "Parcel arrived late")
    page.locator("#grant").click()
    page.wait_for_url("**?granted=*")
    assert TEXT[lang]["granted"] in page.locator("#notice").inner_text()
    assert money(2000, lang, m.arabic_digits) in page.locator("#credit-balance").inner_text()
    assert money(3000, lang, m.arabic_digits) in page.locator("#budget").inner_text()
    assert balance() == 2000
    check(page, lang, "granted")

    # More than is left (SAR 30): refused next to the amount field, nothing granted.
    page.fill("#amount", "40")
    page.fill("#reason", "Second parcel late too")
    page.locator("#grant").click()
    error = page.locator("#amount-error")
    error.wait_for()
    assert TEXT[lang]["over"] in error.inner_text()
    assert money(3000, lang, m.arabic_digits) in error.inner_text()
    assert page.locator("#amount").get_attribute("aria-invalid") == "true"
    assert page.locator("#amount").input_value() == "40"
    assert GoodwillGrant.objects.count() == 1 and balance() == 2000
    check(page, lang, "refused")

    # The same, sent to an owner: it waits, and nothing moves until an owner approves.
    page.fill("#reason", "Second parcel late too")
    page.locator("#ask_owner").check()
    page.locator("#grant").click()
    page.wait_for_url("**?granted=*")
    assert TEXT[lang]["sent"] in page.locator("#notice").inner_text()
    (pending,) = GoodwillGrant.objects.filter(status=GoodwillStatus.PENDING)
    assert balance() == 2000
    check(page, lang, "sent-to-owner")

    owner_page = new_page(lang, desktop=True)
    sign_in(owner_page, base, lang, owner.username)
    owner_page.wait_for_url(f"**/{lang}/staff/{m.slug}/")
    owner_page.goto(f"{base}/{lang}/staff/{m.slug}/goodwill/")
    request = owner_page.locator(f"#request-{pending.pk}")
    assert money(4000, lang, m.arabic_digits) in request.inner_text()
    check(owner_page, lang, "owner-requests")
    request.get_by_role("button", name=TEXT[lang]["approve"], exact=True).click()
    owner_page.wait_for_url("**/goodwill/?decided=*")
    assert TEXT[lang]["approved"] in owner_page.locator("#notice").inner_text()
    pending.refresh_from_db()
    assert pending.status == GoodwillStatus.GRANTED and balance() == 6000
    check(owner_page, lang, "owner-approved")
