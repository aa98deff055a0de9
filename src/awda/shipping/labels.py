"""Return-shipping labels: a bilingual 4×6 in PDF (alone or on an A4 sheet) and ZPL II.

The PDF is typeset by ``shipping.typeset`` (the bundled fonts, Arabic shaped by HarfBuzz
and ordered right to left, Code128 and QR codes as vector rectangles); this module lays the
label out. ``bench/labels.py`` measures it.

Nothing here touches the database: a label is a pure function of :class:`LabelData`.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import io
import logging
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

import segno
from babel import Locale
from fpdf.bidi import auto_detect_base_direction
from fpdf.enums import TextDirection
from PIL import Image

from awda.shipping.carriers.base import Address
from awda.shipping.typeset import (
    LINE_MM,
    Sheet,
    clean,
    draw_code128,
    draw_qr,
    ellipsize,
    has_arabic,
    new_document,
    render,
    wrap,
)

__all__ = ["LabelData", "render_pdf", "render_zpl"]

logger = logging.getLogger(__name__)

LABEL_WIDTH_MM = 101.6  # 4 in
LABEL_HEIGHT_MM = 152.4  # 6 in
A4_WIDTH_MM = 210.0
A4_HEIGHT_MM = 297.0
_MARGIN = 3.0  # mm, around the label's content
_INNER_W = LABEL_WIDTH_MM - 2 * _MARGIN
_HALF_W = _INNER_W / 2

METHODS = ("label", "qr", "pickup")


@dataclass(frozen=True, slots=True)
class LabelData:
    """Everything printed on a return label; ``merchant`` is the address the parcel goes to."""

    return_number: str
    tracking_number: str
    carrier_name: str
    qr_payload: str
    method: str  # "label" | "qr" | "pickup"
    shopper: Address  # from
    merchant: Address  # to: the merchant's return address
    merchant_name: str
    merchant_name_ar: str = ""
    logo: bytes | None = None  # PNG/JPEG bytes; an unreadable logo is left out
    items: int = 1  # units in the parcel
    created_on: datetime.date | None = None

    def __post_init__(self) -> None:
        # Code128 (and ZPL's ^BC subset B) carry printable ASCII; anything else would give a
        # barcode that scans as something other than the tracking number.
        if not self.tracking_number or not all(" " <= c <= "~" for c in self.tracking_number):
            raise ValueError(f"tracking number must be printable ASCII: {self.tracking_number!r}")
        if not self.qr_payload:
            raise ValueError("qr_payload is empty")
        if self.method not in METHODS:
            raise ValueError(f"unknown return method {self.method!r}")


# --------------------------------------------------------------------------------------
# The words every label carries, (English, Arabic).

_HEADINGS = {
    "from": ("From", "من"),
    "to": ("Return to", "إرجاع إلى"),
    "return_number": ("Return number", "رقم الإرجاع"),
    "tracking": ("Tracking", "رقم التتبع"),
}
# The method, and a caption for the QR code.
_METHOD_WORDS = {
    "label": (
        ("Print-at-home label", "ملصق للطباعة في المنزل"),
        ("Scan code for the carrier", "رمز المسح لشركة الشحن"),
    ),
    "qr": (
        ("Paperless drop-off", "تسليم بدون طباعة"),
        ("Show this code at drop-off", "اعرض هذا الرمز عند التسليم"),
    ),
    "pickup": (
        ("Courier pickup", "استلام بواسطة المندوب"),
        ("Scan code for the courier", "رمز المسح للمندوب"),
    ),
}
_UNITS = ("Units", "عدد القطع")
_A4_INSTRUCTIONS = (
    "✂ Cut along the dashed line, or fold the sheet so the label faces out, and attach it"
    " flat to the parcel. Cover or remove any old labels.",
    "قص الملصق على طول الخط المتقطع أو اطو الورقة بحيث يظهر الملصق، ثم ألصقه على الطرد"
    " وأزل الملصقات القديمة أو غطها.",
)


def _address_lines(address: Address) -> list[str]:
    """The lines under the name: company, street, place, country, phone."""
    comma = "، " if has_arabic(address.city + address.district + address.region) else ", "
    place = comma.join(p for p in (address.district, address.city) if p)
    region = " ".join(p for p in (address.region, address.postcode) if p)
    lines = [
        address.company,
        address.line1,
        address.line2,
        comma.join(p for p in (place, region) if p),
        _country_name(address.country),
        f"☎ {address.phone}" if address.phone else "",
    ]
    return [line for line in map(clean, lines) if line]


@functools.lru_cache(maxsize=256)
def _country_name(code: str) -> str:
    """The English name (what carriers sort by) and the ISO code: "SAUDI ARABIA (SA)"."""
    code = code.strip().upper()
    name = Locale("en").territories.get(code) if code.isalpha() and len(code) == 2 else None
    return f"{name.upper()} ({code})" if name else code


def _draw_label(sheet: Sheet, data: LabelData) -> None:
    # Text extractors (pdfium's among them) merge text objects that share a baseline into
    # one line and then guess its direction from the mix, which reorders Arabic words. So on
    # rows holding English at the left and Arabic at the right, the Arabic is written after
    # something on another row; each then reads back as a line of its own.
    left, right = _MARGIN, LABEL_WIDTH_MM - _MARGIN
    method_words, scan_words = _METHOD_WORDS[data.method]

    # Header: the logo (or the merchant's name), the carrier and how the parcel goes back.
    logo = _prepared_logo(data.logo) if data.logo else None
    if logo is not None:
        sheet.pdf.image(logo, x=sheet.ox + left, y=sheet.oy + 3, w=40, h=14, keep_aspect_ratio=True)
    else:
        sheet.text(data.merchant_name, left, 4.5, 41, 13, bold=True, min_size=8)
    column = right - 47
    sheet.text(method_words[0], 47, 9.0, column, 7.5, align="R", min_size=6)
    sheet.text(method_words[1], 47, 12.8, column, 8, align="R", min_size=6)
    sheet.text(data.carrier_name, 47, 3.4, column, 12, bold=True, align="R", min_size=7)
    _rule(sheet, 19.0, 0.6)

    _section(sheet, "from", 20.0, 46.0, _person_lines(data.shopper.name, data.shopper), 8.5)
    _rule(sheet, 46.0, 0.6)

    names = [data.merchant_name, data.merchant_name_ar]
    attention = data.merchant.name if clean(data.merchant.name) not in map(clean, names) else ""
    to_lines = [
        _BodyLine(data.merchant_name, 1.3, bold=True),
        *(
            [_BodyLine(data.merchant_name_ar, 1.25, bold=True, family="display")]
            if data.merchant_name_ar
            else []
        ),
        *([_BodyLine(attention, bold=True)] if clean(attention) else []),
        *(_BodyLine(line, bold=True) for line in _address_lines(data.merchant)),
    ]
    _section(sheet, "to", 47.0, 93.0, to_lines, 10.5)
    _rule(sheet, 93.0, 1.2)

    # The return number, units and date at the left; the QR code at the right.
    qr_box = 30.0
    width = _INNER_W - qr_box - 2
    half = width / 2
    top = 94.5
    sheet.text(_HEADINGS["return_number"][0], left, top, half, 7, bold=True, align="L")
    sheet.text(data.return_number, left, top + 3.8, width, 18, bold=True, align="L", min_size=8)
    details = f"{_UNITS[0]} {data.items}"
    if data.created_on:
        details += f" · {data.created_on.isoformat()}"
    sheet.text(details, left, top + 13.0, width, 8, align="L", min_size=6)
    sheet.text(scan_words[0], left, top + 21.5, width, 7, align="L", min_size=5)
    sheet.text(f"{_UNITS[1]}: {data.items}", left, top + 16.8, width, 8.5, align="R", min_size=6)
    sheet.text(scan_words[1], left, top + 25.0, width, 7.5, align="R", min_size=5)
    sheet.text(_HEADINGS["return_number"][1], left + half, top - 0.3, half, 8, bold=True, align="R")
    draw_qr(sheet, data.qr_payload, right - qr_box, 94.0, qr_box)
    _rule(sheet, 125.0, 0.6)

    # Tracking: the Code128 barcode across the label, the number under it.
    top = 126.0
    sheet.text(_HEADINGS["tracking"][0], left, top, _HALF_W, 7, bold=True, align="L")
    draw_code128(sheet, data.tracking_number, 0.0, top + 4.4, LABEL_WIDTH_MM, 14.5)
    sheet.text(
        data.tracking_number, left, top + 19.6, _INNER_W, 10, bold=True, align="C", min_size=6
    )
    sheet.text(
        _HEADINGS["tracking"][1], left + _HALF_W, top - 0.3, _HALF_W, 8, bold=True, align="R"
    )


@dataclass(frozen=True, slots=True)
class _BodyLine:
    text: str
    scale: float = 1.0  # of the block's type size
    bold: bool = False
    family: str | None = None  # None: by script


def _person_lines(name: str, address: Address) -> list[_BodyLine]:
    return [_BodyLine(name, 1.2, bold=True), *(_BodyLine(line) for line in _address_lines(address))]


def _section(
    sheet: Sheet, key: str, top: float, bottom: float, lines: list[_BodyLine], size: float
) -> None:
    """A block under a bilingual heading, its lines fitted between ``top`` and ``bottom``.

    A line too wide wraps; a block too tall is set smaller step by step, then lets each line
    wrap less (ending in an ellipsis) so that the city, country and phone at the end of an
    address stay on the label; only then does the block lose its last lines.
    """
    english, arabic = _HEADINGS[key]
    sheet.text(english, _MARGIN, top, _HALF_W, 7, bold=True, align="L")
    body_top = top + 4.0
    room = bottom - body_top - 0.3
    for factor, wraps in _FITTING_STEPS:
        rows = _wrapped_rows(sheet, lines, size * factor, wraps)
        if sum(row_size * LINE_MM for _, _, row_size in rows) <= room:
            break
    else:
        kept: list[tuple[str, _BodyLine, float]] = []
        used = 0.0
        for row in rows:
            used += row[2] * LINE_MM
            if used > room:
                break
            kept.append(row)
        if kept and len(kept) < len(rows) and not kept[-1][0].endswith("…"):
            text, line, row_size = kept[-1]
            measure = sheet.measure(row_size, bold=line.bold, family=line.family)
            kept[-1] = (ellipsize(f"{text} …", _INNER_W, measure), line, row_size)
        rows = kept
    y = body_top
    for text, line, row_size in rows:
        y += sheet.text(text, _MARGIN, y, _INNER_W, row_size, bold=line.bold, family=line.family)
    # Written after the block's lines: see _draw_label.
    sheet.text(arabic, _MARGIN + _HALF_W, top - 0.3, _HALF_W, 8, bold=True, align="R")


# (type size factor, lines an address line may wrap into), tried in turn until a block fits.
_FITTING_STEPS = (
    (1.0, 3),
    (0.92, 3),
    (0.84, 3),
    (0.84, 2),
    (0.76, 2),
    (0.84, 1),
    (0.76, 1),
    (0.7, 1),
)


def _wrapped_rows(
    sheet: Sheet, lines: list[_BodyLine], size: float, wraps: int
) -> list[tuple[str, _BodyLine, float]]:
    rows = []
    for line in lines:
        text = clean(line.text)
        if not text:
            continue
        row_size = size * line.scale
        measure = sheet.measure(row_size, bold=line.bold, family=line.family)
        if measure(text) <= _INNER_W:
            parts = [text]
        else:
            # A name (set larger than the address) keeps a second line.
            max_lines = max(wraps, 2) if line.scale > 1 else wraps
            parts = wrap(text, _INNER_W, measure, max_lines=max_lines)
        rows += [(part, line, row_size) for part in parts]
    return rows


# A merchant's logo is printed on every one of its labels: decoded and scaled once.
_LOGO_CACHE: OrderedDict[bytes, Image.Image | None] = OrderedDict()
_LOGO_CACHE_SIZE = 32
_LOGO_LOCK = threading.Lock()
_LOGO_MAX_PX = (480, 168)  # the 40×14 mm logo box at 300 dpi


def _prepared_logo(raw: bytes) -> Image.Image | None:
    key = hashlib.sha256(raw).digest()
    with _LOGO_LOCK:
        if key in _LOGO_CACHE:
            _LOGO_CACHE.move_to_end(key)
            return _LOGO_CACHE[key]
    image = _decode_logo(raw)
    with _LOGO_LOCK:
        _LOGO_CACHE[key] = image
        while len(_LOGO_CACHE) > _LOGO_CACHE_SIZE:
            _LOGO_CACHE.popitem(last=False)
    return image


def _decode_logo(raw: bytes) -> Image.Image | None:
    try:
        with warnings.catch_warnings():
            # A decompression bomb is an unreadable logo, not a reason to fail the label.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as source:
                source.load()
                image = source.convert("RGBA")
    except Exception:
        logger.warning("label logo is not a readable image; printing the label without it")
        return None
    image.thumbnail(_LOGO_MAX_PX)
    # Labels are printed on white: flatten transparency rather than embed a soft mask.
    flat = Image.new("RGB", image.size, "white")
    flat.paste(image, mask=image.getchannel("A"))
    return flat


# --------------------------------------------------------------------------------------
# PDF


def render_pdf(data: LabelData, *, size: Literal["4x6", "a4"] = "4x6") -> bytes:
    """The return label as a PDF: a 4×6 in page, or the same label on an A4 sheet."""
    if size == "4x6":
        pdf = new_document(LABEL_WIDTH_MM, LABEL_HEIGHT_MM)
        sheet = Sheet(pdf, 0.0, 0.0)
    elif size == "a4":
        pdf = new_document(A4_WIDTH_MM, A4_HEIGHT_MM)
        sheet = Sheet(pdf, (A4_WIDTH_MM - LABEL_WIDTH_MM) / 2, 12.0)
    else:
        raise ValueError(f"unknown label size {size!r}")
    pdf.set_title(f"Return label {data.return_number}")
    pdf.set_lang("en")
    _draw_label(sheet, data)
    if size == "a4":
        _draw_a4_frame(sheet)
    return render(pdf)


def _rule(sheet: Sheet, y: float, width: float) -> None:
    """A rule across the label, inside its margins."""
    sheet.line(_MARGIN, LABEL_WIDTH_MM - _MARGIN, y, width)


def _draw_a4_frame(sheet: Sheet) -> None:
    """A dashed cut line around the label and the bilingual instruction under it."""
    pdf = sheet.pdf
    pdf.set_line_width(0.3)
    pdf.set_dash_pattern(dash=2.5, gap=1.5)
    pdf.rect(sheet.ox, sheet.oy, LABEL_WIDTH_MM, LABEL_HEIGHT_MM)
    pdf.set_dash_pattern()
    width = 170.0
    x = (LABEL_WIDTH_MM - width) / 2
    y = LABEL_HEIGHT_MM + 8
    y += sheet.paragraph(_A4_INSTRUCTIONS[0], x, y, width, 10, max_lines=3, align="C") + 2
    sheet.paragraph(_A4_INSTRUCTIONS[1], x, y, width, 11, max_lines=3, align="C")


# --------------------------------------------------------------------------------------
# ZPL


def render_zpl(data: LabelData, *, dpi: int = 203, unicode_font: str = "E:TT0003M_.TTF") -> str:
    """The return label as ZPL II for a 4×6 in thermal label printed at ``dpi``.

    Latin-only text uses the printer's scalable font 0. Text with anything else uses
    ``unicode_font``, a TrueType font on the printer with Arabic glyphs, and the printer's
    own bidirectional layout and Arabic shaping (``^PA``).
    """
    return "\n".join(_Zpl(data, dpi=dpi, unicode_font=unicode_font).commands()) + "\n"


class _Zpl:
    def __init__(self, data: LabelData, *, dpi: int, unicode_font: str) -> None:
        if dpi not in (152, 203, 300, 600):
            raise ValueError(f"unsupported printer resolution: {dpi} dpi")
        self.data = data
        self.dpi = dpi
        self.unicode_font = unicode_font
        self.out: list[str] = []

    def dots(self, mm: float) -> int:
        return round(mm * self.dpi / 25.4)

    def commands(self) -> list[str]:
        data, d = self.data, self.dots
        left, inner, half = d(_MARGIN), d(_INNER_W), d(_HALF_W)
        self.out += [
            "^XA",
            "^CI28",  # field data is UTF-8
            "^PA0,1,1,0",  # the printer orders bidirectional text and shapes Arabic
            f"^PW{d(LABEL_WIDTH_MM)}",
            f"^LL{d(LABEL_HEIGHT_MM)}",
            "^LH0,0",
        ]
        method_words, scan_words = _METHOD_WORDS[data.method]
        # The logo stays off thermal labels: the merchant's name stands in for it.
        column = d(LABEL_WIDTH_MM - _MARGIN - 47)
        self.text(data.merchant_name, left, d(4.5), d(41), 13, align="L")
        self.text(data.carrier_name, d(47), d(3.4), column, 12, align="R")
        self.text(method_words[0], d(47), d(9), column, 7.5, align="R")
        self.text(method_words[1], d(47), d(12.8), column, 8, align="R")
        self.rule(d(19), d(0.6))

        self.section("from", d(20), d(46), _person_lines(data.shopper.name, data.shopper), 8.5)
        self.rule(d(46), d(0.6))
        names = [data.merchant_name, data.merchant_name_ar]
        to_lines = [_BodyLine(data.merchant_name, 1.3)]
        if data.merchant_name_ar:
            to_lines.append(_BodyLine(data.merchant_name_ar, 1.3))
        if clean(data.merchant.name) not in map(clean, names):
            to_lines.append(_BodyLine(data.merchant.name))
        to_lines += [_BodyLine(line) for line in _address_lines(data.merchant)]
        self.section("to", d(47), d(93), to_lines, 10.5)
        self.rule(d(93), d(1.2))

        top = 94.5
        width = d(_INNER_W - 32)
        self.text(_HEADINGS["return_number"][0], left, d(top), width // 2, 7, align="L")
        self.text(
            _HEADINGS["return_number"][1], left + width // 2, d(top), width // 2, 8, align="R"
        )
        self.text(data.return_number, left, d(top + 3.8), width, 18, align="L")
        details = f"{_UNITS[0]} {data.items}"
        if data.created_on:
            details += f" · {data.created_on.isoformat()}"
        self.text(details, left, d(top + 13), width, 8, align="L")
        self.text(f"{_UNITS[1]}: {data.items}", left, d(top + 16.8), width, 8.5, align="R")
        self.text(scan_words[0], left, d(top + 21.5), width, 7, align="L")
        self.text(scan_words[1], left, d(top + 25), width, 7.5, align="R")
        self.qr(data.qr_payload, d(LABEL_WIDTH_MM - _MARGIN - 30), d(94), d(30))
        self.rule(d(125), d(0.6))

        top = 126.0
        self.text(_HEADINGS["tracking"][0], left, d(top), half, 7, align="L")
        self.text(_HEADINGS["tracking"][1], left + half, d(top), half, 8, align="R")
        self.code128(data.tracking_number, d(top + 4.4), d(14.5))
        self.text(data.tracking_number, left, d(top + 19.6), inner, 10, align="C")
        self.out.append("^XZ")
        return self.out

    def rule(self, y: int, thickness: int) -> None:
        self.out.append(
            f"^FO{self.dots(_MARGIN)},{y}^GB{self.dots(_INNER_W)},{thickness},{thickness}^FS"
        )

    def section(self, key: str, top: int, bottom: int, lines: list[_BodyLine], size: float) -> None:
        """Heading and lines, one field per line; the printer wraps nothing for us."""
        left, inner, half = self.dots(_MARGIN), self.dots(_INNER_W), self.dots(_HALF_W)
        english, arabic = _HEADINGS[key]
        self.text(english, left, top, half, 7, align="L")
        self.text(arabic, left + half, top, half, 8, align="R")
        y = top + self.dots(4)
        rows = [(text, line.scale) for line in lines if (text := clean(line.text))]
        for factor in (1.0, 0.9, 0.8, 0.72):
            if sum(self.dots(size * factor * scale * LINE_MM) for _, scale in rows) <= bottom - y:
                break
        for text, scale in rows:
            line_h = self.dots(size * factor * scale * LINE_MM)
            if y + line_h > bottom:
                break
            self.text(text, left, y, inner, size * factor * scale)
            y += line_h

    def text(
        self,
        text: str,
        x: int,
        y: int,
        w: int,
        size_pt: float,
        *,
        align: Literal["L", "R", "C", "auto"] = "auto",
    ) -> None:
        text = clean(text)
        if not text:
            return
        h = max(10, round(size_pt / 72 * self.dpi))
        # Scalable fonts run about 0.55 em a character: cut what can't fit in the box.
        max_chars = max(1, int(w / (h * 0.55)))
        if len(text) > max_chars:
            text = text[: max_chars - 1].rstrip() + "…"
        if align == "auto":
            align = "R" if auto_detect_base_direction(text) == TextDirection.RTL else "L"
        font = f"^A0N,{h},{h}" if text.isascii() else f"^A@N,{h},{h},{self.unicode_font}"
        self.out.append(f"^FO{x},{y}{font}^FB{w},1,0,{align},0^FH^FD{_zpl_escape(text)}^FS")

    def code128(self, value: str, y: int, height: int) -> None:
        # Subset B throughout (the >: start code): 11 modules for each character, the start
        # and the check character, 13 for the stop, and a 10-module quiet zone at each end.
        width = self.dots(LABEL_WIDTH_MM)
        modules = 11 * (len(value) + 2) + 13
        module = max(1, min(4, width // (modules + 20)))
        x = (width - modules * module) // 2
        self.out.append(
            f"^FO{x},{y}^BY{module},3,{height}^BCN,{height},N,N,N,N^FD>:{_code128_field(value)}^FS"
        )

    def qr(self, payload: str, x: int, y: int, box: int) -> None:
        side = segno.make_qr(payload, error="m", boost_error=False).symbol_size(border=4)[0]
        magnification = max(1, min(10, box // side))
        if payload.isascii():
            field = f"MA,{_zpl_escape(payload)}"
        else:
            # Automatic input can't carry bytes from 0x80 up: byte mode, with the length.
            field = f"MM,B{len(payload.encode('utf-8')):04d}{_zpl_escape(payload)}"
        pad = (box - side * magnification) // 2 + 4 * magnification  # the quiet zone
        self.out.append(f"^FO{x + pad},{y + pad}^BQN,2,{magnification}^FH^FD{field}^FS")


def _zpl_escape(text: str) -> str:
    """Field data for ^FH: ^ and ~ (the command prefixes) and _ (the hex indicator) as hex."""
    return "".join(f"_{ord(c):02X}" if c in "^~_" else c for c in text)


def _code128_field(value: str) -> str:
    # In ^BC data ">" begins an invocation code, and ^, > and ~ are written as their codes
    # (><, >0, >=; Zebra's ZPL II guide, "Code 128 Invocation Characters").
    return "".join({">": ">0", "^": "><", "~": ">="}.get(c, c) for c in value)
