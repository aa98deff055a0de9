"""The public policy page in both languages, and the badge on a merchant's product page:
Chromium through live_server, with axe-core, right-to-left checks and screenshots."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, Route

from tests import factories
from tests.browser.conftest import NewPage
from tests.browser.helpers import assert_ltr, assert_rtl, axe_check, snap

pytestmark = pytest.mark.django_db(transaction=True)

SHOP = "https://shop.example"


def test_the_policy_page_reads_right_to_left_in_arabic(live_server: Any, new_page: NewPage) -> None:
    factories.merchant(slug="souq")
    page = new_page("ar")

    page.goto(f"{live_server.url}/ar/r/souq/policy/")

    assert_rtl(page, page.locator("main"))
    assert_rtl(page, page.locator("section.policy-section").first)
    assert page.locator("h1").inner_text() == "سياسة الإرجاع"
    assert page.locator(".policy-headline").inner_text() == "إرجاع خلال 30 يومًا · استبدال مجاني"
    assert page.locator("#policy-legal").inner_text() == "حقوقك القانونية"
    assert "الملابس الداخلية" in page.locator("section.policy-section").nth(1).inner_text()
    snap(page, "policy-ar")
    axe_check(page)


def test_the_policy_page_reads_left_to_right_in_english(
    live_server: Any, new_page: NewPage
) -> None:
    factories.merchant(slug="souq")
    page = new_page("en", desktop=True)

    page.goto(f"{live_server.url}/en/r/souq/policy/")

    assert_ltr(page, page.locator("main"))
    assert page.locator(".policy-headline").inner_text() == (
        "Returns within 30 days · free exchanges"
    )
    assert page.locator("h2").all_inner_texts()[:3] == [
        "How long you have",
        "What can't be returned",
        "What condition items must be in",
    ]
    snap(page, "policy-en")
    axe_check(page)


def _serve_product_page(page: Page, html: str, headers: dict[str, str] | None = None) -> None:
    # A merchant's product page on another origin, with the badge pasted into it.
    def fulfil(route: Route) -> None:
        route.fulfill(
            status=200, content_type="text/html; charset=utf-8", body=html, headers=headers or {}
        )

    page.route(f"{SHOP}/**", fulfil)
    # Chromium's Local Network Access keeps a public site's page from loading scripts from
    # loopback addresses, where live_server listens; a real shop and Awda are both public.
    page.context.grant_permissions(["local-network-access"])


def _product_page(lang: str, script_url: str) -> str:
    direction = "rtl" if lang == "ar" else "ltr"
    title = "عباية سوداء" if lang == "ar" else "Black abaya"
    return f"""<!doctype html>
<html lang="{lang}" dir="{direction}">
<head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>{title}</h1><p>349</p>
<script src="{script_url}" async></script>
</main></body></html>"""


def test_the_badge_on_an_arabic_product_page_is_arabic_and_links_to_the_arabic_policy(
    live_server: Any, new_page: NewPage
) -> None:
    factories.merchant(slug="souq")
    page = new_page("ar")
    # A strict Content-Security-Policy, as many shops have: only our script, no inline code
    # or style attributes; the badge must still appear and be styled.
    csp = f"default-src 'none'; script-src {live_server.url}; style-src 'none'"
    _serve_product_page(
        page,
        _product_page("ar", f"{live_server.url}/r/souq/badge.js"),
        {"Content-Security-Policy": csp},
    )

    page.goto(f"{SHOP}/products/abaya")
    badge = page.locator("a.awda-badge")
    badge.wait_for()

    assert badge.inner_text() == "إرجاع خلال 30 يومًا · استبدال مجاني"
    assert badge.get_attribute("href") == f"{live_server.url}/ar/r/souq/policy/"
    assert badge.get_attribute("lang") == "ar"
    assert badge.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(15, 118, 110)"
    # Right after the script tag that loaded it.
    assert (
        page.evaluate(
            "() => document.querySelector('script[src$=\"badge.js\"]').nextElementSibling.className"
        )
        == "awda-badge"
    )
    snap(page, "badge-ar")

    badge.click()
    page.wait_for_url(f"{live_server.url}/ar/r/souq/policy/")
    assert_rtl(page, page.locator("main"))
    snap(page, "policy-from-badge-ar")


def test_the_badge_on_an_english_product_page_is_english(
    live_server: Any, new_page: NewPage
) -> None:
    factories.merchant(slug="souq")
    factories.merchant(slug="other")
    page = new_page("ar", desktop=True)  # the browser's language doesn't matter: the page's does
    _serve_product_page(page, _product_page("en-GB", f"{live_server.url}/r/souq/badge.js"))

    page.goto(f"{SHOP}/products/abaya")
    badge = page.locator("a.awda-badge")
    badge.wait_for()

    assert badge.inner_text() == "Returns within 30 days · free exchanges"
    assert badge.get_attribute("href") == f"{live_server.url}/en/r/souq/policy/"
    assert badge.evaluate("e => getComputedStyle(e).direction") == "ltr"
    assert page.locator("a.awda-badge").count() == 1
    snap(page, "badge-en")
    axe_check(page)
