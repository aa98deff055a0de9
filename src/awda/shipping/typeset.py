"""Typesetting PDFs with the bundled fonts: Arabic shaped and right to left, barcodes drawn.

Shared by the return labels (``shipping.labels``) and the warehouse's documents (the
vendor packing list). fpdf2's bidirectional algorithm orders each line, fpdf2's fallback
fonts pick a face for every character, HarfBuzz shapes each run (Arabic joined, right to
left) and the glyphs are written into the page with the fonts embedded as subsets. The
Code128 barcode and the QR code are vector rectangles, crisp at any resolution.

Speed comes from doing each expensive thing once per process: the bundled fonts are parsed
once (``_FontBook``), a line of text is shaped once (``layout``: headings and addresses
repeat on every page) and a document embeds only the glyphs it drew, subset by HarfBuzz
(``DocumentOutput``). ``bench/labels.py`` measures it.

A document: ``new_document(width, height)``, then a ``Sheet`` per page or label to draw on
(``text``, ``paragraph``, ``line``, ``boxes``, ``draw_code128``, ``draw_qr``), then
``render(pdf)``. Text goes through the sheet only (fpdf2's own text calls would record glyphs
where ``DocumentOutput`` doesn't look).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import math
import re
import string
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import segno
import uharfbuzz as hb  # type: ignore[import-untyped]
from barcode import Code128  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.bidi import BidiParagraph, auto_detect_base_direction
from fpdf.enums import TextDirection
from fpdf.fonts import TTFFont
from fpdf.output import CIDSystemInfo, OutputProducer, PDFFont, PDFFontStream
from fpdf.syntax import Name, PDFArray, PDFContentStream, PDFString

_PT_PER_MM = 72 / 25.4
LINE_MM = 1.25 / _PT_PER_MM  # line height per point of type, mm
# Most labels go to 203 dpi thermal printers: bars and QR modules a whole number of printer
# dots wide print without the one-dot jitter that makes thin bars uneven.
_THERMAL_DOT_MM = 25.4 / 203

# --------------------------------------------------------------------------------------
# Fonts

_FONT_DIR = Path(__file__).with_name("fonts")
# (family, style, file). "sans" sets Latin text and is the fallback for what the Arabic faces
# lack; "arabic" sets any line with Arabic in it; "display" sets the merchant's Arabic name.
_FONT_FILES = (
    ("sans", "", "DejaVuSans.ttf"),
    ("sans", "B", "DejaVuSans-Bold.ttf"),
    ("arabic", "", "NotoSansArabic-Regular.ttf"),
    ("arabic", "B", "NotoSansArabic-Bold.ttf"),
    ("display", "B", "Amiri-Bold.ttf"),
)
_FALLBACK_FAMILIES = ("sans", "arabic")
# Tables a PDF viewer never reads from an embedded TrueType font: the OpenType layout was
# applied when the text was shaped.
_DROPPED_TABLES = ("GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH", "kern", "morx", "FFTM", "DSIG")


class _FontBook:
    """The bundled fonts, parsed once per process and shared by every label.

    fpdf2's ``add_font`` parses a font with fontTools (tens of milliseconds for these faces)
    and its writer subsets each font with fontTools again; per label that was nearly all of
    the rendering time. Here each face is parsed once, and a document only gets a light copy
    carrying its own resource number; the glyphs it used are recorded by the document
    (``Document.glyph_code``). After loading, all of this is only read, so labels may be
    rendered from several threads at once.
    """

    _lock = threading.Lock()
    _instance: ClassVar[_FontBook | None] = None

    def __init__(self) -> None:
        # A document that only holds the fonts: fpdf2 parses them, and its fallback rules
        # (set_fallback_fonts / get_fallback_font) pick a face for characters a font lacks.
        self.fallback = FPDF()
        self.prototypes: dict[str, TTFFont] = {}
        self.postscript_names: dict[str, str] = {}
        self.faces: dict[str, Any] = {}
        self.shapers: dict[str, Any] = {}
        for family, style, filename in _FONT_FILES:
            path = _FONT_DIR / filename
            self.fallback.add_font(family, style, path)
            key = family + style
            font = self.fallback.fonts[key]
            assert isinstance(font, TTFFont)
            # Read the lazily-loaded tables now, while one thread holds the lock.
            font.ttfont.getGlyphOrder()
            font.ttfont["hmtx"]
            self.prototypes[key] = font
            # A PDF names an embedded font by its PostScript name.
            self.postscript_names[key] = font.ttfont["name"].getDebugName(6) or font.name
            self.faces[key] = hb.Face(hb.Blob.from_file_path(path))
            self.shapers[key] = hb.Font(self.faces[key])
        self.fallback.set_fallback_fonts(list(_FALLBACK_FAMILIES), exact_match=False)

    @classmethod
    def get(cls) -> _FontBook:
        if cls._instance is None:
            with cls._lock:
                if cls._instance is None:
                    cls._instance = _FontBook()
        return cls._instance

    def font_for(self, char: str, key: str, style: str) -> str:
        """The font that draws ``char``: ``key`` when it has the glyph, else a fallback."""
        if ord(char) in self.prototypes[key].cmap:
            return key
        return self.fallback.get_fallback_font(char, style) or key


def _clone_font(proto: TTFFont, index: int) -> TTFFont:
    font = copy.copy(proto)  # shares the parsed tables, cmap and metrics, all read-only
    font.i = index  # its /F<i> resource name in this document
    return font


# --------------------------------------------------------------------------------------
# Typesetting: a line of text → runs of shaped glyphs in visual order.


@dataclass(frozen=True, slots=True)
class _ShapedGlyph:
    gid: int
    chars: tuple[int, ...]  # the characters it stands for, logical order; () for a mark
    width: int  # the glyph's own advance, in 1/1000 em (what the PDF font says)
    advance: float  # where HarfBuzz placed the next glyph, 1/1000 em
    x_offset: float
    y_offset: float


@dataclass(frozen=True, slots=True)
class _Run:
    font: str  # font key, family + style
    glyphs: tuple[_ShapedGlyph, ...]  # in visual order
    advance: float  # 1/1000 em


@dataclass(frozen=True, slots=True)
class _Laid:
    runs: tuple[_Run, ...]  # left to right
    advance: float  # 1/1000 em
    rtl: bool  # paragraph direction


_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")


def has_arabic(text: str) -> bool:
    return _ARABIC.search(text) is not None


def _is_rtl_char(char: str) -> bool:
    return unicodedata.bidirectional(char) in ("R", "AL")


def clean(text: str) -> str:
    """One printable line: control characters become spaces, runs of spaces one space.

    Invisible format characters go too, except the zero-width (non-)joiners that Arabic
    spelling uses: the bidirectional algorithm orders every line on its own.
    """
    if text.isprintable():  # no control or format characters: the common case
        return " ".join(text.split())
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cc":
            kept.append(" ")
        elif not category.startswith("C") or char in "\u200c\u200d":
            kept.append(char)
    return " ".join("".join(kept).split())


@functools.lru_cache(maxsize=4096)
def layout(text: str, family: str, bold: bool) -> _Laid:
    """``text`` (one line) shaped in ``family``: the same text is shaped once per process."""
    book = _FontBook.get()
    style = "B" if bold else ""
    key = family + style
    if key not in book.prototypes:  # a family with one weight ("display") uses it
        key = next(k for k in book.prototypes if k.rstrip("B") == family)
    base = auto_detect_base_direction(text)
    if not text.isascii() and any(map(_is_rtl_char, text)):
        # fpdf2's Unicode bidirectional algorithm gives the characters in visual order with
        # their embedding levels; each same-level stretch is a run, odd levels right to left.
        visual = BidiParagraph(text=text, base_direction=base).get_reordered_characters()
        stretches: list[tuple[int, list[str]]] = []
        for bidi_char in visual:
            level = bidi_char.embedding_level
            if stretches and stretches[-1][0] == level:
                stretches[-1][1].append(bidi_char.character)
            else:
                stretches.append((level, [bidi_char.character]))
        directional = [
            ("".join(reversed(chars)) if level % 2 else "".join(chars), level % 2 == 1)
            for level, chars in stretches
        ]
    else:
        directional = [(text, False)]
    runs: list[_Run] = []
    for logical, rtl in directional:
        pieces: list[tuple[str, str]] = []  # (font key, text), logical order
        for char in logical:
            font = book.font_for(char, key, style)
            if pieces and pieces[-1][0] == font:
                pieces[-1] = (font, pieces[-1][1] + char)
            else:
                pieces.append((font, char))
        if rtl:
            pieces.reverse()
        runs += [_shape(font, piece, rtl) for font, piece in pieces]
    return _Laid(tuple(runs), sum(r.advance for r in runs), base == TextDirection.RTL)


@functools.lru_cache(maxsize=8192)
def _shape(key: str, text: str, rtl: bool) -> _Run:
    book = _FontBook.get()
    proto = book.prototypes[key]
    buffer = hb.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    buffer.direction = "rtl" if rtl else "ltr"
    # Grapheme clusters: a base and its marks share a cluster (the default level).
    buffer.cluster_level = 0
    hb.shape(book.shapers[key], buffer, {})
    infos, positions = buffer.glyph_infos, buffer.glyph_positions
    starts = sorted({info.cluster for info in infos})
    ends = dict(zip(starts, [*starts[1:], len(text)], strict=True))
    # Each cluster is spoken for by one glyph, its widest (the base, not a mark): that
    # glyph is written as text standing for all of the cluster's characters, the others
    # are drawn as outlines (see Document.draw_line).
    owner: dict[int, int] = {}
    for i, (info, pos) in enumerate(zip(infos, positions, strict=True)):
        best = owner.get(info.cluster)
        if best is None or pos.x_advance > positions[best].x_advance:
            owner[info.cluster] = i
    scale = proto.scale  # font units → 1/1000 em
    metrics = proto.ttfont["hmtx"].metrics
    glyphs = []
    for i, (info, pos) in enumerate(zip(infos, positions, strict=True)):
        chars: tuple[int, ...] = ()
        if owner[info.cluster] == i:
            chars = tuple(ord(c) for c in text[info.cluster : ends[info.cluster]])
        name = proto.ttfont.getGlyphName(info.codepoint)
        glyphs.append(
            _ShapedGlyph(
                gid=info.codepoint,
                chars=chars,
                width=round(scale * metrics[name][0]),
                advance=scale * pos.x_advance,
                x_offset=scale * pos.x_offset,
                y_offset=scale * pos.y_offset,
            )
        )
    return _Run(key, tuple(glyphs), sum(g.advance for g in glyphs))


class _PathPen:
    """Collects a glyph outline (fontTools pen protocol, as HarfBuzz draws) as PDF path ops."""

    def __init__(self) -> None:
        self.ops: list[str] = []
        self.current = (0.0, 0.0)

    def moveTo(self, p: tuple[float, float]) -> None:
        self.ops.append(f"{p[0]:g} {p[1]:g} m")
        self.current = p

    def lineTo(self, p: tuple[float, float]) -> None:
        self.ops.append(f"{p[0]:g} {p[1]:g} l")
        self.current = p

    def curveTo(
        self, a: tuple[float, float], b: tuple[float, float], p: tuple[float, float]
    ) -> None:
        self.ops.append(f"{a[0]:g} {a[1]:g} {b[0]:g} {b[1]:g} {p[0]:g} {p[1]:g} c")
        self.current = p

    def qCurveTo(self, q: tuple[float, float], p: tuple[float, float]) -> None:
        # PDF has cubic curves only: the same quadratic, raised to a cubic.
        (x0, y0), (qx, qy) = self.current, q
        a = (x0 + 2 * (qx - x0) / 3, y0 + 2 * (qy - y0) / 3)
        b = (p[0] + 2 * (qx - p[0]) / 3, p[1] + 2 * (qy - p[1]) / 3)
        self.curveTo(a, b, p)

    def closePath(self) -> None:
        self.ops.append("h")


@functools.lru_cache(maxsize=2048)
def _outline(key: str, gid: int) -> str:
    """A glyph's outline as a PDF path in font units (y up), ready to fill."""
    pen = _PathPen()
    _FontBook.get().shapers[key].draw_glyph_with_pen(gid, pen)
    return " ".join(pen.ops)


def _width_mm(laid: _Laid, size: float) -> float:
    return laid.advance * size / 1000 / _PT_PER_MM


def wrap(text: str, width: float, measure: Callable[[str], float], *, max_lines: int) -> list[str]:
    """Break ``text`` into at most ``max_lines`` lines no wider than ``width``.

    Lines break between words of the logical text; each line is then laid out on its own,
    which is right for Arabic as well. A word wider than a line is cut; what doesn't fit in
    ``max_lines`` ends in an ellipsis.
    """
    lines: list[str] = []
    words = text.split(" ")
    current = ""
    i = 0
    while i < len(words):
        candidate = f"{current} {words[i]}" if current else words[i]
        if measure(candidate) <= width:
            current = candidate
            i += 1
            continue
        if current:
            lines.append(current)
            current = ""
        else:
            # A single word wider than the line (an e-mail address, a long reference).
            cut = _longest_fitting_prefix(words[i], width, measure)
            lines.append(words[i][:cut])
            words[i] = words[i][cut:]
        if len(lines) == max_lines:
            rest = " ".join(w for w in words[i:] if w)
            lines[-1] = ellipsize(f"{lines[-1]} {rest}", width, measure)
            return lines
    if current:
        lines.append(current)
    return lines


def _longest_fitting_prefix(text: str, width: float, measure: Callable[[str], float]) -> int:
    lo, hi = 1, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(text[:mid]) <= width:
            lo = mid
        else:
            hi = mid - 1
    return lo


def ellipsize(text: str, width: float, measure: Callable[[str], float]) -> str:
    if measure(text) <= width:
        return text
    cut = _longest_fitting_prefix(text, width, lambda s: measure(s.rstrip() + "…"))
    return text[:cut].rstrip() + "…"


# --------------------------------------------------------------------------------------
# The PDF document and its writer


# A glyph as a document records it: glyph id, the characters it stands for, its width.
_GlyphKey = tuple[int, tuple[int, ...], int]


class Document(FPDF):
    """An fpdf2 document whose text is drawn from pre-shaped lines with the bundled fonts.

    Text goes through ``draw_line`` only (fpdf2's own text calls would record glyphs where
    ``DocumentOutput`` doesn't look).
    """

    def __init__(self, width: float, height: float) -> None:
        super().__init__(unit="mm", format=(width, height))
        # Per font: each distinct glyph drawn and its code in this document (the CID).
        self.glyph_codes: dict[str, dict[_GlyphKey, int]] = {}

    def bundled_font(self, key: str) -> TTFFont:
        font = self.fonts.get(key)
        if font is None:
            # A font joins the document when first drawn with, so only used fonts are
            # embedded.
            font = _clone_font(_FontBook.get().prototypes[key], len(self.fonts) + 1)
            self.fonts[key] = font
            self.glyph_codes[key] = {}
        assert isinstance(font, TTFFont)
        return font

    def glyph_code(self, key: str, glyph: _ShapedGlyph) -> int:
        codes = self.glyph_codes[key]
        # A glyph standing for other characters (a ligature, a base with its marks) is
        # another code: each code has one ToUnicode entry.
        return codes.setdefault((glyph.gid, glyph.chars, glyph.width), len(codes) + 1)

    def draw_line(self, laid: _Laid, x: float, baseline: float, size: float) -> None:
        """Write ``laid`` with its left end at ``x`` and its baseline at ``baseline`` (mm).

        Glyphs are written as text on the baseline, in visual order, one TJ array per run;
        a TJ number n moves what follows by -n/1000 em, turning each glyph's own width (what
        the PDF font says) into HarfBuzz's advance. Marks (harakat, accents) and glyphs
        HarfBuzz moved off the baseline are drawn as outlines instead, their characters
        carried by their cluster's base glyph: text extractors read a line from the glyphs
        on one baseline, and a mark written as text a little higher or aside splits it.
        """
        book = _FontBook.get()
        pen = x * self.k
        y = (self.h - baseline) * self.k
        scale = size / 1000
        ops: list[str] = []
        outlines: list[str] = []
        for run in laid.runs:
            font = self.bundled_font(run.font)
            em = size / book.faces[run.font].upem
            ops.append(f"BT /F{font.i} {size:.2f} Tf 1 0 0 1 {pen:.2f} {y:.2f} Tm")
            tj: list[str] = []
            at = pen
            for glyph in run.glyphs:
                moved = bool(glyph.x_offset or glyph.y_offset)
                if glyph.gid and (moved or not glyph.chars):
                    gx = at + glyph.x_offset * scale
                    gy = y + glyph.y_offset * scale
                    path = _outline(run.font, glyph.gid)
                    outlines.append(f"q {em:.5f} 0 0 {em:.5f} {gx:.2f} {gy:.2f} cm {path} f Q")
                if not glyph.chars or not glyph.gid:
                    # A mark (its outline drawn above), or a character no bundled font has:
                    # only its room.
                    if glyph.advance:
                        tj.append(f"{-glyph.advance:.1f}")
                elif moved:
                    # Drawn as an outline where it belongs; as text, it stays on the baseline
                    # and invisible (render mode 3), so the line still reads whole.
                    code = self.glyph_code(run.font, glyph)
                    ops.append(f"[{' '.join(tj)}] TJ 3 Tr" if tj else "3 Tr")
                    ops.append(f"[<{code:04X}> {glyph.width - glyph.advance:.1f}] TJ 0 Tr")
                    tj = []
                else:
                    tj.append(f"<{self.glyph_code(run.font, glyph):04X}>")
                    if abs(glyph.width - glyph.advance) > 0.05:
                        tj.append(f"{glyph.width - glyph.advance:.1f}")
                at += glyph.advance * scale
            if tj:
                ops.append(f"[{' '.join(tj)}] TJ")
            ops.append("ET")
            pen += run.advance * scale
        content = "\n".join([*ops, *outlines])
        # fpdf2 lists a page's fonts in its resources from what its own text calls used;
        # the catalog's stream scan finds the "/Fn size Tf" written here.
        self._resource_catalog.index_stream_resources(content, self.page)
        self._out(content)

    def fill_rects(self, rects: Sequence[tuple[float, float, float, float]]) -> None:
        """Fill rectangles (x, y, w, h in mm from the top left) as one path.

        A barcode and a QR code are some 350 rectangles: one path instead of a rect() call
        each keeps them off the profile.
        """
        k, h = self.k, self.h
        path = [
            f"{x * k:.3f} {(h - y - height) * k:.3f} {w * k:.3f} {height * k:.3f} re"
            for x, y, w, height in rects
        ]
        self._out("\n".join([*path, "f"]))


class DocumentOutput(OutputProducer):
    """fpdf2's PDF writer, with the fonts subset and embedded by HarfBuzz.

    Besides speed (fontTools takes ~5 ms per font and document), this writes the ToUnicode
    entries that let text extraction give Arabic back in logical order (``_visual_order``).
    """

    def _add_fonts(self, *_args: Any, **_kwargs: Any) -> dict[int, Any]:
        book = _FontBook.get()
        pdf = self.fpdf
        assert isinstance(pdf, Document)
        objects: dict[int, Any] = {}
        for key, font in pdf.fonts.items():
            if not isinstance(font, TTFFont) or key not in book.faces:
                raise TypeError(f"a document only uses the bundled fonts, not {font!r}")
            objects[font.i] = self._embed(
                font, book.faces[key], book.postscript_names[key], pdf.glyph_codes[key]
            )
        return objects

    def _embed(
        self, font: TTFFont, face: Any, postscript_name: str, codes: dict[_GlyphKey, int]
    ) -> PDFFont:
        glyph_ids = sorted({gid for gid, _, _ in codes} | {0})
        subset_input = hb.SubsetInput()
        subset_input.sets(hb.SubsetInputSets.GLYPH_INDEX).update(glyph_ids)
        subset_input.sets(hb.SubsetInputSets.DROP_TABLE_TAG).update(
            int.from_bytes(tag.encode("ascii"), "big") for tag in _DROPPED_TABLES
        )
        subset_input.flags = hb.SubsetFlags.NOTDEF_OUTLINE | hb.SubsetFlags.NO_HINTING
        plan = hb.SubsetPlan(face, subset_input)
        new_gid = plan.old_to_new_glyph_mapping
        font_bytes = plan.execute().blob.data

        # A subset's name starts with a tag unique to its glyph set (PDF 32000-1, 9.6.4).
        digest = hashlib.sha256(repr(glyph_ids).encode()).digest()
        tag = "".join(string.ascii_uppercase[b % 26] for b in digest[:6])
        base_font = f"{tag}+{postscript_name}"

        cid_to_gid = bytearray(2 * (len(codes) + 1))
        widths: list[str] = []
        to_unicode: list[str] = []
        for (gid, chars, width), cid in codes.items():
            cid_to_gid[2 * cid : 2 * cid + 2] = new_gid[gid].to_bytes(2, "big")
            widths.append(f"{cid} [{width}]")
            text = "".join(map(chr, chars))
            if len(text) > 1 and any(map(_is_rtl_char, text)):
                text = _visual_order(text)
            to_unicode.append(f"<{cid:04X}> <{text.encode('utf-16-be').hex().upper()}>\n")

        type0 = PDFFont(subtype="Type0", base_font=base_font, encoding="Identity-H")
        self._add_pdf_obj(type0, "fonts")
        cid_font = PDFFont(
            subtype="CIDFontType2",
            base_font=base_font,
            d_w=font.desc.missing_width,
            w=f"[{' '.join(widths)}]",
        )
        self._add_pdf_obj(cid_font, "fonts")
        type0.descendant_fonts = PDFArray([cid_font])

        cmap = PDFContentStream(_to_unicode_cmap(to_unicode).encode("ascii"), compress=True)
        self._add_pdf_obj(cmap, "fonts")
        type0.to_unicode = cmap

        system_info = CIDSystemInfo()
        system_info.ordering = PDFString("Identity", encrypt=True)
        self._add_pdf_obj(system_info, "fonts")
        cid_font.c_i_d_system_info = system_info

        descriptor = copy.copy(font.desc)  # the prototype's is shared by every document
        descriptor.font_name = Name(base_font)
        self._add_pdf_obj(descriptor, "fonts")
        cid_font.font_descriptor = descriptor

        gid_map = PDFContentStream(contents=bytes(cid_to_gid), compress=True)
        self._add_pdf_obj(gid_map, "fonts")
        cid_font.c_i_d_to_g_i_d_map = gid_map

        font_file = PDFFontStream(contents=font_bytes)
        self._add_pdf_obj(font_file, "fonts")
        descriptor.font_file2 = font_file  # type: ignore[attr-defined]
        return type0


def _visual_order(cluster: str) -> str:
    """A right-to-left cluster's characters in the order text extractors want them.

    An Arabic run's glyphs are written in visual order, and extractors rebuild the logical
    order by reversing the run character by character; a glyph standing for several
    characters (lam-alef, a letter with its harakat) must list them reversed as well, or
    "لا" comes back as "ال". Runs of combining marks are the exception: extractors keep
    them in order, so they stay in logical order here.
    """
    units: list[str] = []
    for char in cluster:
        if units and unicodedata.combining(char) and unicodedata.combining(units[-1][-1]):
            units[-1] += char
        else:
            units.append(char)
    return "".join(reversed(units))


def _to_unicode_cmap(entries: Sequence[str]) -> str:
    # A bfchar block holds at most 100 entries (Adobe Technical Note #5014).
    blocks = "".join(
        f"{len(entries[i : i + 100])} beginbfchar\n{''.join(entries[i : i + 100])}endbfchar\n"
        for i in range(0, len(entries), 100)
    )
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{blocks}endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
    )


# --------------------------------------------------------------------------------------
# Drawing: a label or a page, at an origin


class Sheet:
    """A label or page drawn at an origin on a page; positions are millimetres from its corner."""

    def __init__(self, pdf: Document, ox: float, oy: float) -> None:
        self.pdf = pdf
        self.ox = ox
        self.oy = oy

    @staticmethod
    def family(text: str) -> str:
        return "arabic" if has_arabic(text) else "sans"

    def measure(self, size: float, *, bold: bool, family: str | None) -> Callable[[str], float]:
        def width(text: str) -> float:
            return _width_mm(layout(text, family or self.family(text), bold), size)

        return width

    def text(
        self,
        text: str,
        x: float,
        y: float,
        w: float,
        size: float,
        *,
        bold: bool = False,
        align: Literal["L", "R", "C", "auto"] = "auto",
        family: str | None = None,
        min_size: float | None = None,
    ) -> float:
        """One line with its top at ``y`` inside [x, x + w]; returns the height it took.

        A line too wide is set smaller (down to ``min_size``), then cut with an ellipsis:
        nothing is drawn outside its box.
        """
        text = clean(text)
        height = size * LINE_MM
        if not text:
            return height
        laid = layout(text, family or self.family(text), bold)
        width = _width_mm(laid, size)
        if width > w and min_size is not None:
            size = max(min_size, size * w / width * 0.999)
            width = _width_mm(laid, size)
        if width > w:
            text = ellipsize(text, w, self.measure(size, bold=bold, family=family))
            laid = layout(text, family or self.family(text), bold)
            width = _width_mm(laid, size)
        if align == "auto":
            align = "R" if laid.rtl else "L"
        left = {"L": x, "R": x + w - width, "C": x + (w - width) / 2}[align]
        # The baseline where fpdf2's cell() would put it in a box ``height`` high.
        baseline = y + height / 2 + 0.3 * size / _PT_PER_MM
        self.pdf.draw_line(laid, self.ox + left, self.oy + baseline, size)
        return height

    def paragraph(
        self,
        text: str,
        x: float,
        y: float,
        w: float,
        size: float,
        *,
        max_lines: int,
        align: Literal["L", "R", "C", "auto"] = "auto",
    ) -> float:
        """``text`` wrapped into at most ``max_lines`` lines; returns the height it took."""
        measure = self.measure(size, bold=False, family=None)
        height = 0.0
        for line in wrap(clean(text), w, measure, max_lines=max_lines):
            height += self.text(line, x, y + height, w, size, align=align)
        return height

    def line(self, x1: float, x2: float, y: float, width: float) -> None:
        """A horizontal rule from ``x1`` to ``x2`` at ``y``, ``width`` mm thick."""
        self.pdf.set_line_width(width)
        self.pdf.line(self.ox + x1, self.oy + y, self.ox + x2, self.oy + y)

    def boxes(self, rects: Sequence[tuple[float, float, float, float]]) -> None:
        self.pdf.fill_rects([(self.ox + x, self.oy + y, w, h) for x, y, w, h in rects])


def draw_code128(sheet: Sheet, value: str, x: float, y: float, w: float, h: float) -> None:
    """Code128 of ``value`` centred in [x, x + w], its 10-module quiet zones inside."""
    pattern: str = Code128(value).build()[0]
    module = w / (len(pattern) + 20)
    if module >= _THERMAL_DOT_MM:
        module = math.floor(module / _THERMAL_DOT_MM) * _THERMAL_DOT_MM
    start = x + (w - len(pattern) * module) / 2
    bars = []
    run = 0
    for i, bit in enumerate(pattern + "0"):
        if bit == "1":
            run += 1
        elif run:
            bars.append((start + (i - run) * module, y, run * module, h))
            run = 0
    sheet.boxes(bars)


def draw_qr(sheet: Sheet, payload: str, x: float, y: float, box: float) -> None:
    """QR code of ``payload`` in a ``box`` mm square that includes its 4-module quiet zone."""
    matrix = segno.make_qr(payload, error="m").matrix
    module = box / (len(matrix) + 8)
    if module >= 2 * _THERMAL_DOT_MM:
        module = math.floor(module / _THERMAL_DOT_MM) * _THERMAL_DOT_MM
    x0 = x + (box - len(matrix) * module) / 2
    y0 = y + (box - len(matrix) * module) / 2
    squares = []
    for row, cells in enumerate(matrix):
        run = 0
        for col, dark in enumerate([*cells, 0]):
            if dark:
                run += 1
            elif run:
                squares.append((x0 + (col - run) * module, y0 + row * module, run * module, module))
                run = 0
    sheet.boxes(squares)


def new_document(width: float, height: float) -> Document:
    """A document of ``width`` × ``height`` mm pages, its first page added."""
    pdf = Document(width, height)
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.set_creator("Awda")
    pdf.add_page()
    return pdf


def render(pdf: Document) -> bytes:
    """The finished PDF, the fonts embedded as subsets of the glyphs drawn."""
    return bytes(pdf.output(output_producer_class=DocumentOutput))
