"""Return labels, read back the way a carrier and a shopper's computer read them.

PDFs are rasterised with pdfium and their barcodes decoded with zxing-cpp; their text is
extracted with pdfium. ZPL has no printer here, so its tests read the commands themselves.
No database.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import random
import re

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest
import zxingcpp
from PIL import Image, ImageDraw

from awda.shipping.carriers.base import Address
from awda.shipping.labels import LabelData, render_pdf, render_zpl

MM = 72 / 25.4  # PDF points per millimetre

SHOPPER_AR = Address(
    name="نورة العتيبي",
    line1="شارع الأمير سلطان 12",
    district="حي العليا",
    city="الرياض",
    postcode="12211",
    country="SA",
    phone="+966 55 123 4567",
)
SHOPPER_EN = Address(
    name="Sara Haddad",
    line1="Villa 14, Al Wasl Road",
    district="Jumeirah 1",
    city="Dubai",
    country="AE",
    phone="+971 50 123 4567",
)
MERCHANT = Address(
    name="Returns Dept",
    company="Acme Trading Co",
    line1="King Fahd Road, Building 7",
    line2="Warehouse 3, Gate B",
    city="Jeddah",
    region="Makkah",
    postcode="23442",
    country="SA",
    phone="+966 12 000 0000",
)
MERCHANT_AR = Address(
    name="مستودع المرتجعات",
    line1="طريق الملك عبدالعزيز، مبنى السلام",
    district="حي الملقا",
    city="الرياض",
    postcode="13524",
    country="SA",
)


def png_logo() -> bytes:
    image = Image.new("RGB", (240, 80), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 4, 236, 76), outline="black", width=6)
    draw.ellipse((16, 16, 64, 64), fill=(200, 30, 30))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def label(**changes: object) -> LabelData:
    data = LabelData(
        return_number="RMA-10023",
        tracking_number="1Z999AA10123456784",
        carrier_name="Sandbox Express",
        qr_payload="https://awda.example/r/RMA-10023?t=1Z999AA10123456784",
        method="label",
        shopper=SHOPPER_AR,
        merchant=MERCHANT,
        merchant_name="Acme Store",
        merchant_name_ar="متجر أكمي",
        items=3,
        created_on=datetime.date(2025, 3, 14),
    )
    return dataclasses.replace(data, **changes)  # type: ignore[arg-type]


def page_of(pdf: bytes) -> pdfium.PdfPage:
    document = pdfium.PdfDocument(pdf)
    assert len(document) == 1
    return document[0]


def text_lines(pdf: bytes) -> list[str]:
    return page_of(pdf).get_textpage().get_text_range().split("\r\n")


def decoded(pdf: bytes, dpi: int = 300) -> dict[str, str]:
    image = page_of(pdf).render(scale=dpi / 72).to_pil()
    return {str(code.format): code.text for code in zxingcpp.read_barcodes(image)}


def image_objects(pdf: bytes) -> list[pdfium.PdfImage]:
    return list(page_of(pdf).get_objects(filter=(pdfium_raw.FPDF_PAGEOBJ_IMAGE,)))


# --- PDF: what scanners read -----------------------------------------------------------


@pytest.mark.parametrize("size", ["4x6", "a4"])
def test_the_barcode_scans_as_the_tracking_number_and_the_qr_code_as_its_payload(size):
    data = label()

    codes = decoded(render_pdf(data, size=size))

    assert codes == {"Code 128": data.tracking_number, "QR Code": data.qr_payload}


@pytest.mark.parametrize("dpi", [203, 150])
def test_the_codes_still_scan_from_a_thermal_printer_resolution_image(dpi):
    data = label(tracking_number="JJD00022495612345678901", qr_payload="SBX" + "7" * 60)

    codes = decoded(render_pdf(data), dpi=dpi)

    assert codes == {"Code 128": data.tracking_number, "QR Code": data.qr_payload}


def test_the_4x6_label_is_a_4_by_6_inch_page():
    width, height = page_of(render_pdf(label())).get_size()

    assert (round(width / 72, 2), round(height / 72, 2)) == (4.0, 6.0)


def test_the_a4_sheet_is_an_a4_page():
    width, height = page_of(render_pdf(label(), size="a4")).get_size()

    assert (round(width / MM), round(height / MM)) == (210, 297)


# --- PDF: what text extraction reads -----------------------------------------------------


def test_every_heading_is_printed_in_english_and_in_arabic():
    lines = text_lines(render_pdf(label()))

    for heading in (
        "From",
        "من",
        "Return to",
        "إرجاع إلى",
        "Return number",
        "رقم الإرجاع",
        "Tracking",
        "رقم التتبع",
    ):
        assert heading in lines


def test_arabic_text_extracts_in_logical_order_as_it_was_given():
    lines = text_lines(render_pdf(label(merchant=MERCHANT_AR, merchant_name="Bayt Al Oud")))

    # The shopper's address, Arabic throughout, lam-alef ligatures ("الأمير", "السلام")
    # and numbers included; and the merchant's Arabic name, set in another face (Amiri).
    for line in (
        "نورة العتيبي",
        "شارع الأمير سلطان 12",
        "حي العليا، الرياض، 12211",
        "طريق الملك عبدالعزيز، مبنى السلام",
        "حي الملقا، الرياض، 13524",
        "متجر أكمي",
    ):
        assert line in lines


def test_arabic_with_harakat_extracts_with_every_mark_in_place():
    lines = text_lines(render_pdf(label(shopper=dataclasses.replace(SHOPPER_AR, name="مُحَمَّد"))))

    assert "مُحَمَّد" in lines


def test_an_english_address_extracts_line_by_line():
    lines = text_lines(render_pdf(label(shopper=SHOPPER_EN)))

    for line in (
        "Sara Haddad",
        "Villa 14, Al Wasl Road",
        "Jumeirah 1, Dubai",
        "UNITED ARAB EMIRATES (AE)",
        "☎ +971 50 123 4567",
        "Acme Store",
        "King Fahd Road, Building 7",
        "Jeddah, Makkah 23442",
        "RMA-10023",
        "1Z999AA10123456784",
    ):
        assert line in lines


def test_the_a4_sheet_tells_in_both_languages_to_cut_or_fold_and_attach_the_label():
    text = " ".join(text_lines(render_pdf(label(), size="a4")))

    assert "Cut along the dashed line" in text
    assert "قص الملصق على طول الخط المتقطع" in text


# --- PDF: fonts and images -------------------------------------------------------------


def test_fonts_are_embedded_as_subsets_of_the_bundled_faces():
    pdf = render_pdf(label())

    base_fonts = set(re.findall(rb"/BaseFont /([A-Z]{6})\+([\w-]+)", pdf))
    faces = {face for _, face in base_fonts}
    assert faces >= {b"DejaVuSans", b"DejaVuSans-Bold", b"NotoSansArabic-Bold", b"Amiri-Bold"}
    assert pdf.count(b"/FontFile2") == len(base_fonts)
    # Subsets: the five bundled faces weigh 2.5 MB.
    assert len(pdf) < 80_000


def test_the_merchants_logo_is_printed_as_an_image():
    assert image_objects(render_pdf(label())) == []

    images = image_objects(render_pdf(label(logo=png_logo())))

    assert len(images) == 1
    left, bottom, right, top = images[0].get_bounds()
    # Inside the 40 × 14 mm logo box at the top left, keeping the logo's 3:1 shape.
    assert right - left == pytest.approx(40 * MM, abs=0.5)
    assert top - bottom == pytest.approx(40 * MM / 3, abs=0.5)


def test_an_unreadable_logo_is_left_out_and_the_label_still_prints():
    garbage = random.Random(7).randbytes(4096)
    data = label(logo=garbage)

    pdf = render_pdf(data)

    assert image_objects(pdf) == []
    assert "Acme Store" in text_lines(pdf)
    assert decoded(pdf)["Code 128"] == data.tracking_number


def test_a_truncated_png_is_an_unreadable_logo_too():
    pdf = render_pdf(label(logo=png_logo()[:60]))

    assert image_objects(pdf) == []


# --- PDF: long text ----------------------------------------------------------------------

LONG_AR = (
    "شارع الأمير محمد بن عبدالعزيز، مجمع الفيصلية التجاري، الطابق الثالث، مكتب 312،"
    " بجوار البنك الأهلي ومقابل مستشفى المملكة "
) * 3
LONG_EN = (
    "Building 42, Block 7, Sheikh Mohammed bin Rashid Boulevard, Downtown, opposite the"
    " Dubai Mall main entrance, next to the fountain, gate C, "
) * 3


@pytest.mark.parametrize("size", ["4x6", "a4"])
def test_a_very_long_address_is_wrapped_and_cut_inside_the_label(size):
    data = label(
        shopper=dataclasses.replace(SHOPPER_AR, line1=LONG_AR, line2=LONG_AR, company=LONG_AR),
        merchant=dataclasses.replace(MERCHANT, line1=LONG_EN, line2=LONG_EN),
        merchant_name="The Extraordinarily Long Merchant Name Boutique & Co. International",
        carrier_name="Aramex International Express Returns Service Worldwide",
    )
    pdf = render_pdf(data, size=size)
    page = page_of(pdf)
    textpage = page.get_textpage()

    if size == "4x6":
        box = (0.0, 0.0, 4 * 72, 6 * 72)
    else:  # the label's frame on the sheet, and the instruction under it
        box = (20 * MM, (297 - 12 - 152.4 - 40) * MM, 190 * MM, (297 - 12) * MM)
    outside = []
    for i in range(textpage.count_chars()):
        left, bottom, right, top = textpage.get_charbox(i)
        if left < box[0] or bottom < box[1] or right > box[2] or top > box[3]:
            outside.append(textpage.get_text_range(i, 1))
    assert outside == []

    lines = text_lines(pdf)
    assert any(line.endswith("…") for line in lines)  # something had to be cut
    # The end of each address survives the cut: city, country, phone.
    for line in ("حي العليا، الرياض، 12211", "SAUDI ARABIA (SA)", "Jeddah, Makkah 23442"):
        assert line in lines
    assert decoded(pdf)["Code 128"] == data.tracking_number


def test_a_long_tracking_number_still_fits_and_scans():
    data = label(tracking_number="JD014600006281234567890123456789")

    assert decoded(render_pdf(data))["Code 128"] == data.tracking_number


# --- LabelData -------------------------------------------------------------------------


@pytest.mark.parametrize("tracking", ["", "1Z9\n99", "رقم123"])
def test_a_tracking_number_a_barcode_cannot_carry_is_refused(tracking):
    with pytest.raises(ValueError, match="tracking number"):
        label(tracking_number=tracking)


def test_an_unknown_return_method_is_refused():
    with pytest.raises(ValueError, match="method"):
        label(method="pigeon")


# --- ZPL ---------------------------------------------------------------------------------


def fields(zpl: str) -> list[str]:
    """Each field's commands, from its ^FO to its ^FS."""
    return re.findall(r"\^FO.*?\^FS", zpl)


def field_data(zpl: str) -> list[str]:
    return re.findall(r"\^FD(.*?)\^FS", zpl)


def test_zpl_is_one_utf8_label_the_size_of_a_4x6_at_the_printers_resolution():
    for dpi, width, height in ((203, 812, 1218), (300, 1200, 1800)):
        zpl = render_zpl(label(), dpi=dpi)

        assert zpl.startswith("^XA\n")
        assert zpl.endswith("^XZ\n")
        assert zpl.count("^XA") == zpl.count("^XZ") == 1
        assert "^CI28" in zpl
        assert f"^PW{width}" in zpl
        assert f"^LL{height}" in zpl


def test_zpl_code128_carries_exactly_the_tracking_number():
    zpl = render_zpl(label())

    (barcode,) = [f for f in fields(zpl) if "^BC" in f]
    assert barcode.endswith("^FD>:1Z999AA10123456784^FS")  # >: starts subset B


def test_zpl_code128_writes_its_special_characters_as_invocation_codes():
    zpl = render_zpl(label(tracking_number="AB>C^D~E"))

    (barcode,) = [f for f in fields(zpl) if "^BC" in f]
    assert barcode.endswith("^FD>:AB>0C><D>=E^FS")


def test_zpl_qr_code_carries_exactly_the_payload():
    data = label()

    (qr,) = [f for f in fields(render_zpl(data)) if "^BQ" in f]

    assert qr.endswith(f"^FH^FDMA,{data.qr_payload}^FS")


def test_zpl_qr_payload_beyond_ascii_goes_in_byte_mode_with_its_length():
    payload = "https://awda.example/r/مرتجع"

    (qr,) = [f for f in fields(render_zpl(label(qr_payload=payload))) if "^BQ" in f]

    assert qr.endswith(f"^FDMM,B{len(payload.encode()):04d}{payload}^FS")


def test_zpl_field_data_hex_escapes_carets_tildes_and_underscores():
    shopper = dataclasses.replace(SHOPPER_EN, name="Sara^Haddad ~ sara_h")

    zpl = render_zpl(label(shopper=shopper))

    assert "^FH^FDSara_5EHaddad _7E sara_5Fh^FS" in zpl
    for data in field_data(zpl):
        assert "^" not in data and "~" not in data


def test_zpl_fields_with_data_are_all_hex_escaped_except_the_barcode():
    for field in fields(render_zpl(label())):
        if "^FD" in field and "^BC" not in field:
            assert "^FH^FD" in field


def test_zpl_lays_out_arabic_with_the_printers_bidi_and_shaping_in_a_unicode_font():
    zpl = render_zpl(label(), unicode_font="E:ARIALUNI.TTF")

    assert "^PA0,1,1,0" in zpl
    arabic = [f for f in fields(zpl) if re.search("[\u0600-\u06ff]", f)]
    assert arabic
    for field in arabic:
        assert "^A@N," in field and ",E:ARIALUNI.TTF^" in field
    (street,) = [f for f in arabic if "شارع الأمير سلطان 12" in f]
    assert ",R,0^" in street  # right-justified in its ^FB block
    latin = [f for f in fields(zpl) if "Jeddah, Makkah 23442" in f]
    assert latin and "^A0N," in latin[0] and ",L,0^" in latin[0]


def test_zpl_text_blocks_stay_inside_the_label_width():
    data = label(
        shopper=dataclasses.replace(SHOPPER_AR, line1=LONG_AR),
        merchant=dataclasses.replace(MERCHANT, line1=LONG_EN),
    )
    zpl = render_zpl(data)

    for field in fields(zpl):
        block = re.search(r"\^FO(\d+),(\d+).*\^FB(\d+),", field)
        if block:
            x, y, width = map(int, block.groups())
            assert x + width <= 812
            assert y < 1218
    # Cut with an ellipsis rather than run off the label.
    assert any(d.endswith("…") for d in field_data(zpl))
