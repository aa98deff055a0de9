"""The receiving station in Chromium, in Arabic and in English (issue 6): a warehouse person
signs in, scans a parcel's tracking number into the scan field and presses Enter, the return
opens filled in, and one click on "Accept and restock" receives, accepts and restocks the
item; with the policy's refund timing ``inspected`` the worker then refunds it through the
sandbox gateway. A double click on the button and a re-sent form, and the jobs run again,
restock nothing more and refund nothing more; in English that second parcel also gets a
photo, sent with the same click and shown in the result. Every page is screenshotted and
checked with axe, the Arabic ones asserted right-to-left.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.sync_api import Page

from awda.catalog.models import StockMove
from awda.payments.gateways import sandbox as sandbox_gateway
from awda.payments.models import Refund, RefundStatus
from awda.returns.models import Return, ReturnPhoto
from tests import factories
from tests.browser.helpers import assert_ltr, assert_rtl, axe_check, snap
from tests.dashboard import helpers as d
from tests.warehouse import helpers as h

TEXT = {
    "en": {"sign_in": "Sign in", "accept": "Accept and restock", "done": "processed"},
    "ar": {"sign_in": "تسجيل الدخول", "accept": "قبول وإعادة إلى المخزون", "done": "تمت معالجة"},
}


@pytest.fixture(autouse=True)
def _fresh_sandbox(settings):  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    sandbox_gateway.reset_sandbox()
    yield
    sandbox_gateway.reset_sandbox()


def check(page: Page, lang: str, name: str) -> None:
    """Direction, a screenshot and axe on every page the person reaches."""
    if lang == "ar":
        assert_rtl(page)
    else:
        assert_ltr(page)
    snap(page, f"{lang}-{name}")
    axe_check(page, f"{lang}-{name}-axe")


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def restocked(ret: Return) -> list[StockMove]:
    return list(StockMove.objects.filter(reference__startswith=f"{ret.number}/"))


def refunds(ret: Return) -> list[Refund]:
    return list(Refund.objects.filter(reference=ret.number))


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_scan_then_one_click_restocks_once_and_the_refund_goes_out_once(
    live_server, new_page, lang
):
    m = h.merchant("inspected")
    first = h.a_return(m, sku=f"TEE-{lang}")
    second = h.a_return(m, ("1",), sku=f"CAP-{lang}")
    user = d.staff(m, username=f"warehouse-{lang}")
    factories.run_jobs()
    page = new_page(lang, desktop=True)

    # Sign in: the station is where a warehouse person lands.
    page.goto(f"{live_server.url}/{lang}/staff/login/")
    check(page, lang, "sign-in")
    page.fill("#id_username", user.username)
    page.fill("#id_password", d.PASSWORD)
    page.get_by_role("button", name=TEXT[lang]["sign_in"]).click()
    page.wait_for_url(f"**/{lang}/staff/{m.slug}/warehouse/")
    assert page.evaluate("document.activeElement.id") == "code"
    check(page, lang, "scan")

    # The scan: a wedge scanner types the tracking number into the focused field + Enter.
    page.keyboard.type(h.tracking(first))
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/warehouse/returns/{first.number}/")
    button = page.locator("#submit")
    assert button.inner_text().strip() == TEXT[lang]["accept"]
    assert page.evaluate("document.activeElement.id") == "submit"
    check(page, lang, "return")

    # Action 1 after the scan (of at most 3): the button.
    actions = 1
    button.click()
    page.wait_for_url(f"**/warehouse/?done={first.number}")
    assert actions <= 3
    assert TEXT[lang]["done"] in page.locator("#result").inner_text()
    assert page.evaluate("document.activeElement.id") == "code"  # ready for the next parcel
    check(page, lang, "processed")

    moves = restocked(first)
    assert [(mv.variant.sku, mv.quantity, mv.reason) for mv in moves] == [
        (f"TEE-{lang}", 1, "restock")
    ]
    assert h.on_hand(f"TEE-{lang}") == 1
    factories.run_jobs()  # the worker: ReturnInspected → the refund, through the gateway
    (refund,) = refunds(first)
    assert (refund.status, refund.gateway) == (RefundStatus.SUCCEEDED, "sandbox")
    assert refund.amount_minor == h.item(first).refund_minor

    # The second parcel: a double click, then the same form sent again, then the jobs twice.
    page.locator("#code").fill(second.number)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/warehouse/returns/{second.number}/")
    if lang == "en":
        # A photo from the station's camera (here a file) goes with the same one action.
        page.locator("#photos-1").set_input_files(
            {"name": "IMG_0001.png", "mimeType": "image/png", "buffer": _png()}
        )
    form = page.evaluate(
        "() => [...new FormData(document.getElementById('station-form'))]"
        ".filter(([, value]) => typeof value === 'string')"
    )
    page.locator("#submit").dblclick()
    page.wait_for_url(f"**/warehouse/?done={second.number}")
    if lang == "en":
        (photo,) = ReturnPhoto.objects.filter(return_item=h.item(second))
        assert (photo.source, photo.content_type) == ("warehouse", "image/png")
        thumbnail = page.locator("#result ul.photos img")
        # Waits for the thumbnail when it is still loading (a busy machine), then its size.
        loaded = """img => img.complete ? img.naturalWidth
            : new Promise(done => { img.onload = () => done(img.naturalWidth); })"""
        assert thumbnail.evaluate(loaded) == 32
    statuses = page.evaluate(
        """async ([url, fields]) => {
          const send = () => fetch(url, {method: 'POST', body: new URLSearchParams(fields)});
          const answers = await Promise.all([send(), send()]);
          return answers.map(a => a.status);
        }""",
        [f"{live_server.url}/{lang}/staff/{m.slug}/warehouse/returns/{second.number}/", form],
    )
    assert statuses == [200, 200]  # each redirected to the scan page: nothing left to do
    factories.run_jobs()
    factories.run_jobs()
    check(page, lang, "second-processed")

    assert [mv.quantity for mv in restocked(second)] == [1]
    assert h.on_hand(f"CAP-{lang}") == 1 and h.on_hand(f"TEE-{lang}") == 1
    assert [r.status for r in refunds(second)] == [RefundStatus.SUCCEEDED]
    assert len(refunds(first)) == 1
