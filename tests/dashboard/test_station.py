"""The receiving station's pages: a scan opens the return, one POST of the pre-filled form
receives, accepts and restocks a single item, a repeat changes nothing, and bad input comes
back next to its field in the person's language with nothing saved."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest
import zxingcpp
from django.utils import translation

from awda.catalog.models import Location, StockMove
from awda.payments.models import Refund
from awda.returns.models import ReturnStatus
from awda.warehouse import bin_label, selectors
from awda.warehouse.models import UnknownParcel
from tests import factories
from tests.dashboard import helpers as d
from tests.warehouse import helpers as h

pytestmark = pytest.mark.django_db


def arabic(msgid: str, **values: object) -> str:
    with translation.override("ar"):
        text = translation.gettext(msgid)
    assert text != msgid, f"not translated: {msgid!r}"
    return text % values if values else text


def test_a_scanned_tracking_number_return_number_or_bin_label_opens_the_returns_page():
    m = h.merchant()
    ret = h.a_return(m)
    client = d.signed_in(d.staff(m))
    code = bin_label.item_code(ret.number, "1", 1)

    for scanned in (h.tracking(ret), ret.number.lower(), code):
        answer = client.get(d.scan_url(m), {"code": scanned})
        assert answer.status_code == 302, scanned
        assert answer["Location"] == d.return_url(m, ret.number)
    assert selectors.find_by_scan(merchant=m, code=code) == ret


def test_an_unknown_code_is_said_in_arabic_and_the_parcel_can_be_logged_for_later():
    m = h.merchant()
    client = d.signed_in(d.staff(m))

    answer = client.get(d.scan_url(m, "ar"), {"code": "ZZ-404"})
    logged = client.post(
        f"/ar/staff/{m.slug}/warehouse/unknown/", {"code": "ZZ-404", "note": "Blue bag"}
    )
    shown = client.get(logged["Location"])

    page = answer.content.decode()
    assert answer.status_code == 404 and 'dir="rtl"' in page
    assert (
        arabic(
            "No return matches “%(code)s”. Check the code, or log the parcel as unknown so it "
            "can be matched to its return later.",
            code="ZZ-404",
        )
        in page
    )
    parcel = UnknownParcel.objects.get()
    assert (parcel.merchant_id, parcel.code, parcel.note) == (m.pk, "ZZ-404", "Blue bag")
    assert shown.status_code == 200 and 'id="logged"' in shown.content.decode()


def test_the_return_page_comes_filled_in_for_accept_and_restock_with_the_button_focused():
    m = h.merchant()
    ret = h.a_return(m, sku="TEE-M")
    client = d.signed_in(d.staff(m))

    page = client.get(d.return_url(m, ret.number)).content.decode()

    for selected in (
        'value="received" selected',
        'value="new" selected',
        'value="accepted" selected',
        'value="restock" selected',
    ):
        assert selected in page
    assert 'name="qty-1" id="qty-1" value="1"' in page
    assert 'id="submit" class="primary" autofocus' in page and "Accept and restock" in page


def test_one_post_receives_accepts_and_restocks_then_the_scan_page_says_what_happened():
    m = h.merchant("inspected")
    ret = h.a_return(m, sku="TEE-M")
    client = d.signed_in(d.staff(m))

    answer = client.post(d.return_url(m, ret.number), d.prefilled())
    result = client.get(answer["Location"]).content.decode()

    assert answer["Location"] == d.scan_url(m) + f"?done={ret.number}"
    item = h.item(ret)
    assert (item.reception, item.received_quantity, item.condition) == ("received", 1, "new")
    assert (item.decision, item.disposition) == ("accepted", "restock")
    assert h.on_hand("TEE-M") == 1
    assert "TEE-M: 1 restocked at Main warehouse; 1 on hand now." in result
    assert "the refund for the accepted items is on its way" in result
    assert 'id="code" value="" autofocus' in result  # ready for the next parcel


def test_a_double_post_and_replayed_jobs_move_stock_once_and_refund_once():
    m = h.merchant("inspected")
    ret = h.a_return(m, sku="TEE-M")
    client = d.signed_in(d.staff(m))

    first = client.post(d.return_url(m, ret.number), d.prefilled())
    second = client.post(d.return_url(m, ret.number), d.prefilled())
    factories.run_jobs()
    third = client.post(d.return_url(m, ret.number), d.prefilled())
    factories.run_jobs()

    assert first.status_code == second.status_code == third.status_code == 302
    assert h.on_hand("TEE-M") == 1 and len(h.moves("TEE-M")) == 1
    assert Refund.objects.count() == 1


def test_a_rejected_item_with_its_reason_is_recorded_and_not_restocked():
    m = h.merchant("inspected")
    ret = h.a_return(m, sku="TEE-M")
    client = d.signed_in(d.staff(m))

    answer = client.post(
        d.return_url(m, ret.number),
        d.prefilled(
            **{
                "decision-1": "rejected",
                "condition-1": "used",
                "disposition-1": "",
                "note-1": "Worn, tags removed",
            }
        ),
    )
    factories.run_jobs()

    assert answer.status_code == 302
    item = h.item(ret)
    assert (item.decision, item.decision_note, item.disposition) == (
        "rejected",
        "Worn, tags removed",
        "",
    )
    assert not StockMove.objects.exists() and not Refund.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"qty-1": "-1"}, "qty-1", ("Enter a number from 0 to %(max)s.", {"max": 1})),
        (
            {"decision-1": "rejected", "disposition-1": ""},
            "note-1",
            ("Say why the item is rejected.", {}),
        ),
        (
            {"disposition-1": "sell_on_mars"},
            "disposition-1",
            ("Choose a disposition from the list.", {}),
        ),
        ({"location": "nowhere"}, "location", ("Unknown location.", {})),
    ],
    ids=["negative-quantity", "reject-without-reason", "unknown-disposition", "unknown-location"],
)
def test_bad_input_comes_back_next_to_its_field_in_arabic_and_nothing_is_saved(
    changes, field, message
):
    m = h.merchant()
    ret = h.a_return(m, sku="TEE-M")
    Location.objects.create(merchant=m, code="east", name="East")
    client = d.signed_in(d.staff(m))

    answer = client.post(d.return_url(m, ret.number, "ar"), d.prefilled(**changes))

    page = answer.content.decode()
    msgid, values = message
    assert answer.status_code == 422
    assert f'<p class="error" id="{field}-error">{arabic(msgid, **values)}</p>' in page
    assert f'aria-invalid="true" aria-describedby="{field}-error"' in page
    assert h.item(ret).reception == "awaiting"
    assert ret.__class__.objects.get(pk=ret.pk).status == ReturnStatus.APPROVED
    assert not StockMove.objects.exists()


def test_restock_goes_to_the_location_chosen():
    m = h.merchant()
    ret = h.a_return(m, sku="TEE-M")
    Location.objects.create(merchant=m, code="east", name="East")
    client = d.signed_in(d.staff(m))

    client.post(d.return_url(m, ret.number), d.prefilled(location="east"))

    assert h.on_hand("TEE-M", "east") == 1 and h.on_hand("TEE-M") == 0


def test_the_bin_label_is_a_62_by_29_mm_pdf_whose_barcode_the_scan_page_opens():
    m = h.merchant()
    ret = h.a_return(m, sku="TEE-M")
    client = d.signed_in(d.staff(m))
    client.post(d.return_url(m, ret.number), d.prefilled())

    answer = client.get(f"/en/staff/{m.slug}/warehouse/returns/{ret.number}/items/1/label.pdf")

    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    page = pdfium.PdfDocument(answer.content)[0]
    width, height = page.get_size()
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (62, 29)
    codes = [c.text for c in zxingcpp.read_barcodes(page.render(scale=300 / 72).to_pil())]
    assert codes == [f"{ret.number}/1"]
    text = page.get_textpage().get_text_range()
    assert ret.number in text and "TEE-M" in text
    opened = client.get(d.scan_url(m), {"code": codes[0]})
    assert opened["Location"] == d.return_url(m, ret.number)


def test_a_finished_return_has_nothing_left_to_record():
    m = h.merchant()
    ret = h.a_return(m, sku="TEE-M")
    client = d.signed_in(d.staff(m))
    client.post(d.return_url(m, ret.number), d.prefilled())

    page = client.get(d.return_url(m, ret.number)).content.decode()

    assert 'id="nothing-left"' in page and 'name="decision-1"' not in page
