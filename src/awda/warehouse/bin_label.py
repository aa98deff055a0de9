"""The internal bin label of a received item: 62 × 29 mm (the common continuous label roll),
with the return number, line, SKU, the item's title and a Code128 barcode of the item's
code. The code is the return number and the line (``R-7K3M-Q9/1``, as the stock ledger's
reference), so the station's scan field opens the return from the label too
(``selectors.find_by_scan`` finds a return number inside a longer payload).

Drawn with the typesetting the return labels use (``shipping.typeset``: bundled fonts,
Arabic shaped, barcodes as vector bars).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from awda.shipping.typeset import Sheet, draw_code128, new_document, render

WIDTH_MM = 62.0
HEIGHT_MM = 29.0
_MARGIN = 2.0
# What a line reference may be to go into the barcode as it is: Code128 carries ASCII, and a
# short code scans faster and prints with wider bars.
_PLAIN_REF = re.compile(r"^[A-Za-z0-9._-]{1,12}$")


@dataclass(frozen=True)
class BinLabel:
    return_number: str
    line_ref: str
    sku: str
    title: str
    code: str


def item_code(return_number: str, line_ref: str, position: int) -> str:
    """The code on an item's bin label: ``<return number>/<line>``, or the item's position in
    the return when the line's reference is not short plain ASCII."""
    ref = line_ref if _PLAIN_REF.match(line_ref) else str(position)
    return f"{return_number}/{ref}"


def render_pdf(label: BinLabel) -> bytes:
    """The label as a one-page PDF of 62 × 29 mm."""
    pdf = new_document(WIDTH_MM, HEIGHT_MM)
    pdf.set_title(f"Bin label {label.code}")
    pdf.set_lang("en")
    sheet = Sheet(pdf, 0.0, 0.0)
    inner = WIDTH_MM - 2 * _MARGIN
    y = _MARGIN - 0.6
    # The return number large on the left, the line on the right: what a person reads first.
    sheet.text(label.return_number, _MARGIN, y, inner * 0.65, 11, bold=True, align="L")
    sheet.text(
        f"Line {label.line_ref}",
        _MARGIN + inner * 0.65,
        y + 0.6,
        inner * 0.35,
        8,
        bold=True,
        align="R",
        min_size=6,
    )
    y += 5.0
    sheet.text(f"SKU {label.sku}", _MARGIN, y, inner, 8, align="L", min_size=6)
    y += 3.6
    if label.title:
        sheet.text(label.title, _MARGIN, y, inner, 7, min_size=6)
    y += 3.6
    draw_code128(sheet, label.code, 0.0, y, WIDTH_MM, HEIGHT_MM - y - 3.8)
    sheet.text(label.code, _MARGIN, HEIGHT_MM - 3.6, inner, 7, align="C", family="sans")
    return render(pdf)
