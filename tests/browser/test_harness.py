"""The browser harness itself, on pages given inline: each helper passes a page that is
right and fails one that is wrong."""

from __future__ import annotations

import pytest

from tests.browser.conftest import NewPage
from tests.browser.helpers import (
    artifacts_root,
    assert_ltr,
    assert_rtl,
    axe_check,
    focus_order,
    layout,
    snap,
)

PAGE = """<!doctype html>
<html lang="{lang}" dir="{dir}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title>
<style>body {{ font-family: sans-serif; margin: 1rem; }} .end {{ text-align: end; }}</style>
</head>
<body>
<main>
  <h1 id="heading">{title}</h1>
  <p id="intro">{intro}</p>
  <form>
    <label for="order">{order}</label>
    <input id="order" name="order" autocomplete="off">
    <button type="submit" id="find">{find}</button>
  </form>
  <p class="end" id="total">{total}</p>
</main>
</body>
</html>"""

ARABIC = PAGE.format(
    lang="ar", dir="rtl", title="إرجاع طلب", intro="أدخل رقم الطلب لبدء الإرجاع.",
    order="رقم الطلب", find="ابحث", total="المجموع: ١٢٠٫٠٠ ر.س",
)  # fmt: skip
ENGLISH = PAGE.format(
    lang="en", dir="ltr", title="Return an order", intro="Enter your order number to start.",
    order="Order number", find="Find", total="Total: SAR 120.00",
)  # fmt: skip


def test_an_arabic_page_reads_right_to_left_and_passes_axe(new_page: NewPage) -> None:
    page = new_page("ar")
    page.set_content(ARABIC)

    assert_rtl(page)
    assert_rtl(page, page.locator("#intro"))
    # text-align: end is the left edge in Arabic.
    assert layout(page, page.locator("#total"))["alignment"] == "left"
    # The heading's text sits at the right of the page.
    box = page.locator("#heading").bounding_box()
    text = page.evaluate(
        """() => { const r = document.createRange();
                   r.selectNodeContents(document.getElementById('heading'));
                   return r.getBoundingClientRect().right; }"""
    )
    assert box is not None and abs(text - (box["x"] + box["width"])) < 2
    snap(page, "order-lookup")
    axe_check(page)


def test_an_english_page_reads_left_to_right_and_passes_axe(new_page: NewPage) -> None:
    page = new_page("en", desktop=True)
    page.set_content(ENGLISH)

    assert_ltr(page)
    assert_ltr(page, page.locator("#intro"))
    assert layout(page, page.locator("#total"))["alignment"] == "right"
    snap(page, "order-lookup")
    axe_check(page)


def test_assert_rtl_fails_on_an_english_page(new_page: NewPage) -> None:
    page = new_page("en")
    page.set_content(ENGLISH)

    with pytest.raises(AssertionError, match="'dir': 'ltr'"):
        assert_rtl(page)


def test_assert_rtl_fails_on_arabic_text_forced_to_the_left(new_page: NewPage) -> None:
    page = new_page("ar")
    page.set_content(ARABIC.replace('<p id="intro">', '<p id="intro" style="text-align: left">'))

    assert_rtl(page)
    with pytest.raises(AssertionError, match="'alignment': 'left'"):
        assert_rtl(page, page.locator("#intro"))


def test_assert_rtl_fails_when_the_language_is_not_arabic(new_page: NewPage) -> None:
    page = new_page("ar")
    page.set_content(ARABIC.replace('lang="ar"', 'lang="en"'))

    with pytest.raises(AssertionError, match="'lang': 'en'"):
        assert_rtl(page)


def test_axe_check_fails_on_an_image_without_alt_text_and_an_unlabelled_input(
    new_page: NewPage,
) -> None:
    page = new_page("ar")
    broken = ARABIC.replace(
        "</form>", '<input id="email" name="email"></form><img src="data:," id="photo">'
    )
    page.set_content(broken)

    with pytest.raises(pytest.fail.Exception) as failure:
        axe_check(page)

    message = str(failure.value)
    assert "- image-alt (critical)" in message
    assert "- label (critical)" in message
    assert "#photo" in message and "#email" in message
    saved = artifacts_root() / "screenshots"
    assert list(saved.glob("test_harness.test_axe_check_fails_*/01-axe.json"))


def test_snap_numbers_full_page_screenshots_in_the_order_taken(new_page: NewPage) -> None:
    page = new_page("ar")
    page.set_content(ARABIC.replace("</main>", '<div style="height: 3000px"></div></main>'))

    first = snap(page, "top")
    second = snap(page, "after scrolling")

    assert [first.name, second.name] == ["01-top.png", "02-after-scrolling.png"]
    assert first.parent == second.parent
    assert (
        first.parent.name
        == "test_harness.test_snap_numbers_full_page_screenshots_in_the_order_taken"
    )
    assert first.read_bytes().startswith(b"\x89PNG")
    # Full page: taller than the 844 px viewport (PNG height at bytes 20-24).
    assert int.from_bytes(first.read_bytes()[20:24], "big") > 3000


def test_focus_order_lists_what_the_keyboard_reaches(new_page: NewPage) -> None:
    page = new_page("en", desktop=True)
    page.set_content(ENGLISH)
    page.locator("#find").focus()

    assert focus_order(page, 2) == ["input#order", "button#find"]
