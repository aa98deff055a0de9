"""An exchange for another size in stock, and the whole return by keyboard alone."""

from __future__ import annotations

from awda.catalog.models import Location, Product, Stock, Variant
from awda.returns.models import Return
from tests import factories
from tests.browser.helpers import assert_ltr, assert_rtl, axe_check, snap


def _sizes_in_stock(merchant) -> None:
    product = Product.objects.get(merchant=merchant, external_id="P-SKU-1")
    here = Location.objects.create(merchant=merchant, code="main", name="Main", is_default=True)
    for sku, size, on_hand in (("SKU-1-L", "L", 3), ("SKU-1-XL", "XL", 0)):
        variant = Variant.objects.create(
            merchant=merchant,
            product=product,
            sku=sku,
            options={"size": size},
            price_minor=10000,
            currency=merchant.currency,
        )
        Stock.objects.create(merchant=merchant, variant=variant, location=here, on_hand=on_hand)


def _find_order(page, base: str, slug: str, number: str) -> None:
    page.goto(f"{base}/r/{slug}/")
    page.fill("#id_order_number", number)
    page.fill("#id_contact", "shopper@example.com")
    page.press("#id_contact", "Enter")
    page.wait_for_url(f"**/orders/{number}/")


def test_an_exchange_offers_only_sizes_in_stock_and_records_the_choice(live_server, new_page):
    m = factories.merchant()
    order = factories.order(m)
    _sizes_in_stock(m)
    page = new_page("en")
    _find_order(page, f"{live_server.url}/en", m.slug, order.number)
    page.check('input[name="sel-1"]')
    page.select_option("#reason-1", "too_small")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/resolution/")
    page.check('input[value="exchange"]')
    options = page.locator("#exchange-1 option").all_inner_texts()
    assert any(o.strip() == "L" for o in options) and not any("XL" in o for o in options)
    page.select_option("#exchange-1", "SKU-1-L")
    assert_ltr(page, page.locator("main"))
    snap(page, "01-exchange-choice")
    axe_check(page, "01-exchange-axe")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/method/")
    page.check('input[value="label"]')
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/review/")
    snap(page, "02-exchange-review")
    page.get_by_role("button", name="Confirm the return").click()
    page.wait_for_url("**/returns/**")

    item = Return.objects.get(order=order).items.get()
    assert item.resolution == "exchange" and item.exchange_variant.sku == "SKU-1-L"


def _tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until ``selector`` has the focus: it is reachable by keyboard."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} can't be reached with the Tab key")


def test_the_whole_return_works_by_keyboard_alone_in_arabic(live_server, new_page):
    m = factories.merchant()
    order = factories.order(m)
    page = new_page("ar")
    page.goto(f"{live_server.url}/ar/r/{m.slug}/")
    assert_rtl(page, page.locator("main"))

    _tab_to(page, "#id_order_number")
    page.keyboard.type(order.number)
    _tab_to(page, "#id_contact")
    page.keyboard.type("shopper@example.com")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/orders/{order.number}/")

    _tab_to(page, 'input[name="sel-1"]')
    page.keyboard.press("Space")
    _tab_to(page, "#reason-1")
    page.keyboard.press("ArrowDown")  # the first reason in the list
    page.keyboard.press("ArrowDown")
    assert page.eval_on_selector("#reason-1", "el => el.value") != ""
    snap(page, "01-keyboard-items")
    _tab_to(page, 'button[type="submit"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/resolution/")

    _tab_to(page, 'input[name="resolution"]')
    page.keyboard.press("Space")
    _tab_to(page, 'button[type="submit"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/method/")

    _tab_to(page, 'input[name="method"]')
    page.keyboard.press("Space")
    _tab_to(page, 'button[type="submit"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/review/")

    _tab_to(page, 'form button[type="submit"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/returns/**")
    snap(page, "02-keyboard-confirmed")
    assert Return.objects.filter(order=order).count() == 1
