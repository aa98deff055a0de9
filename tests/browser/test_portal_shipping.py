"""The way back in a real browser, Arabic and English: a shopper confirms a return, the
label appears on the status page by itself, its barcode and QR code decode to the tracking
number, and as the sandbox carrier moves the parcel (``awda sandbox advance``) the status
page and the shopper's inbox (a real SMTP server) follow each step."""

from __future__ import annotations

import re

import pypdfium2
import pytest
import zxingcpp
from django.core.management import call_command

from awda.returns.models import Return
from awda.shipping.services import connect_carrier
from tests import factories
from tests.browser.helpers import assert_ltr, assert_rtl, axe_check, snap

TEXT = {
    "en": {
        "find": "Find my order",
        "continue": "Continue",
        "confirm": "Confirm the return",
        "waiting": "Your label is being prepared",
        "download": "Download the label (4×6 in)",
        "first_scan": "Handed to the carrier",
        "delivered": "Delivered",
    },
    "ar": {
        "find": "ابحث عن طلبي",
        "continue": "متابعة",
        "confirm": "تأكيد الإرجاع",
        "waiting": "نُجهّز ملصق الشحن الآن",
        "download": "تنزيل الملصق (4×6 بوصات)",
        "first_scan": "سُلِّم لشركة الشحن",
        "delivered": "تم التوصيل",
    },
}


def decode(pdf: bytes) -> dict[str, str]:
    """Rasterise the label's first page at 300 dpi and read every barcode on it."""
    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=300 / 72).to_pil()
    return {str(r.format): r.text for r in zxingcpp.read_barcodes(image)}


def _check(page, lang: str, name: str) -> None:
    (assert_rtl if lang == "ar" else assert_ltr)(page, page.locator("main"))
    snap(page, name)
    axe_check(page, f"{name}-axe")


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_the_label_and_the_parcels_journey_follow_the_shopper(
    live_server,
    new_page,
    smtp,
    lang,
) -> None:
    m = factories.merchant()
    connect_carrier(merchant=m, carrier="sandbox", name="Sandbox Express", settings={})
    order = factories.order(m, lines=[factories.line("1")])
    t = TEXT[lang]
    page = new_page(lang)
    page.goto(f"{live_server.url}/{lang}/r/{m.slug}/")
    page.fill("#id_order_number", order.number)
    page.fill("#id_contact", "shopper@example.com")
    page.get_by_role("button", name=t["find"]).click()
    page.wait_for_url(f"**/orders/{order.number}/")
    page.check('input[name="sel-1"]')
    page.select_option("#reason-1", "too_small")
    page.get_by_role("button", name=t["continue"]).click()
    page.wait_for_url("**/resolution/")
    page.check('input[value="store_credit"]')
    page.get_by_role("button", name=t["continue"]).click()
    page.wait_for_url("**/method/")
    page.check('input[value="label"]')
    page.get_by_role("button", name=t["continue"]).click()
    page.wait_for_url("**/review/")
    page.get_by_role("button", name=t["confirm"]).click()
    page.wait_for_url("**/returns/**")

    # Confirmed; the label is still being made (the worker hasn't run).
    assert t["waiting"] in page.inner_text("#parcel")
    _check(page, lang, "label-being-prepared")
    factories.run_jobs()  # the worker: confirmation mail, label from the carrier, label mail
    download = page.get_by_role("link", name=t["download"])
    download.wait_for(timeout=15_000)  # the card asks again every 3 s and stops once there
    _check(page, lang, "label-ready")

    ret = Return.objects.get(order=order)
    shipment = ret.shipments.get()
    label = page.request.get(live_server.url + (download.get_attribute("href") or ""))
    assert label.status == 200 and label.headers["content-type"] == "application/pdf"
    codes = decode(label.body())
    assert codes.get("Code 128") == shipment.tracking_number
    assert codes.get("QR Code") == shipment.tracking_number

    for step, status in (("in-transit", "first_scan"), ("delivered", "delivered")):
        call_command("sandbox", "advance", shipment.tracking_number, "--to", status)
        factories.run_jobs()
        page.reload()
        assert t[status] in page.inner_text("#parcel")
        _check(page, lang, step)

    ret.refresh_from_db()
    assert ret.status == "delivered"
    mails = [r for r in smtp.received if "shopper@example.com" in r.rcpt_tos]
    subjects = [r.message["Subject"] for r in mails]
    assert len(mails) >= 4, subjects  # confirmed, label, in transit, delivered
    for mail in mails:
        assert ret.number in mail.message["Subject"]
        assert (
            mail.message.get_content_type() == "multipart/alternative"
            or mail.message.is_multipart()
        )
        html_lang = re.search(r'<html[^>]*lang="(\w+)"', mail.html)
        assert html_lang and html_lang.group(1) == lang
    with_label = [r for r in mails if any(
        part.get_filename() == f"label-{ret.number}.pdf" for part in r.message.iter_attachments()
    )]  # fmt: skip
    assert len(with_label) == 1
    # The status link in the last mail opens this return's page for this shopper.
    link = re.search(r'href="(https://returns\.example[^"]+)"', mails[-1].html)
    assert link is not None
    other = new_page(lang)
    other.goto(link.group(1).replace("https://returns.example", live_server.url))
    assert ret.number in other.content() and t["delivered"] in other.inner_text("#parcel")
