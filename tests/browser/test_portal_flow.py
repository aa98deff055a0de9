"""The shopper's return in a real browser, Arabic and English: find the order, pick items
(one not returnable), a photo, the money (store credit; a bank transfer for cash on
delivery), the way back, review, confirm, and the status page. Every step is screenshotted
and checked with axe; the Arabic pages are asserted right-to-left."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from awda.returns.models import Return
from tests import factories
from tests.browser.helpers import assert_ltr, assert_rtl, axe_check, snap

TEXT = {
    "en": {"find": "Find my order", "continue": "Continue", "confirm": "Confirm the return"},
    "ar": {"find": "ابحث عن طلبي", "continue": "متابعة", "confirm": "تأكيد الإرجاع"},
}


def _photo(tmp_path: Path) -> Path:
    path = tmp_path / "defect.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (180, 40, 40)).save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return path


def _check(page, lang: str, name: str) -> None:
    if lang == "ar":
        assert_rtl(page, page.locator("main"))
    else:
        assert_ltr(page, page.locator("main"))
    snap(page, name)
    axe_check(page, f"{name}-axe")


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_shopper_returns_an_item_start_to_finish(live_server, new_page, tmp_path, lang) -> None:
    m = factories.merchant()
    cod = lang == "ar"  # Arabic walks the cash-on-delivery refund by bank transfer
    order = factories.order(
        m,
        lines=[factories.line("1"), factories.line("2", final_sale=True)],
        payment_method="cash_on_delivery" if cod else "card",
    )
    t = TEXT[lang]
    page = new_page(lang)
    page.goto(f"{live_server.url}/{lang}/r/{m.slug}/")
    _check(page, lang, "01-find-order")
    page.fill("#id_order_number", order.number)
    page.fill("#id_contact", "shopper@example.com")
    page.get_by_role("button", name=t["find"]).click()

    page.wait_for_url(f"**/orders/{order.number}/")
    # The final-sale line is shown with why it can't be returned, and has no checkbox.
    assert page.locator('[data-line="2"] .no').count() == 1
    assert page.locator('input[name="sel-2"]').count() == 0
    page.check('input[name="sel-1"]')
    page.select_option("#reason-1", "defective")
    _check(page, lang, "02-items")
    page.get_by_role("button", name=t["continue"]).click()
    # A defective item needs a photo: the error is next to the field, in the page's language.
    assert page.locator("#photos-1-error").is_visible()
    snap(page, "03-items-photo-missing")
    page.check('input[name="sel-1"]')
    page.select_option("#reason-1", "defective")
    page.set_input_files("#photos-1", str(_photo(tmp_path)))
    page.get_by_role("button", name=t["continue"]).click()

    page.wait_for_url("**/resolution/")
    if cod:
        page.check('input[value="refund"]')
        page.fill("#iban", "SA03 8000 0000 6080 1016 7519")
        page.fill("#payout_name", "نورة")
    else:
        page.check('input[value="store_credit"]')
    _check(page, lang, "04-resolution")
    page.get_by_role("button", name=t["continue"]).click()

    page.wait_for_url("**/method/")
    page.check('input[value="label"]')
    _check(page, lang, "05-method")
    page.get_by_role("button", name=t["continue"]).click()

    page.wait_for_url("**/review/")
    _check(page, lang, "06-review")
    page.get_by_role("button", name=t["confirm"]).click()

    page.wait_for_url("**/returns/**")
    ret = Return.objects.get(order=order)
    assert ret.number in page.content()
    _check(page, lang, "07-confirmed")
    assert ret.channel == "portal" and ret.language == lang
    if cod:
        assert ret.payout_iban == "SA0380000000608010167519"
    assert ret.items.get().photos.count() == 1
