"""No English left on an Arabic page: every portal page of a whole return, its error states
and the policy page, rendered in Arabic, are scanned for Latin words outside the things that
are Latin by nature (SKUs, IBANs, file formats, the other language's name)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.test.utils import override_settings

from tests import factories

pytestmark = pytest.mark.django_db

# Latin that belongs on an Arabic page: product codes and formats, not sentences.
ALLOWED = {"English", "IBAN", "JPEG", "PNG", "WebP", "HEIC", "QR", "MB", "SAR"}
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")
RETURN_NUMBER = re.compile(r"\bR-[0-9A-Z]{4}-[0-9A-Z]{2}\b")  # awda.core.ids


class _Text(HTMLParser):
    """Visible text and the attributes people read (labels, placeholders, alt, title)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("aria-label", "placeholder", "alt", "title") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def english_in(html: str, *, also_allowed: set[str] = frozenset()) -> list[str]:
    parser = _Text()
    parser.feed(html)
    found = []
    for text in parser.parts:
        words = [
            w
            for w in LATIN_WORD.findall(RETURN_NUMBER.sub("", text))
            if w not in ALLOWED | also_allowed
        ]
        if words:
            found.append(text)
    return found


def _check(response, name: str, also: set[str] = frozenset()) -> None:
    html = response.content.decode()
    assert '<html lang="ar" dir="rtl">' in html, name
    leftovers = english_in(html, also_allowed=set(also))
    assert not leftovers, f"{name}: untranslated {leftovers}"


@override_settings(AWDA_PORTAL_FAILED_LOOKUPS_PER_ORDER=1)
def test_every_arabic_portal_page_of_a_return_is_in_arabic() -> None:
    m = factories.merchant()
    o = factories.order(
        m,
        lines=[factories.line("1"), factories.line("2", final_sale=True)],
        payment_method="cash_on_delivery",
    )
    c = Client(HTTP_HOST="127.0.0.1")
    store = {w for w in LATIN_WORD.findall(m.name)}  # the store's own (Latin) name
    base = f"/ar/r/{m.slug}/"

    _check(c.get(base), "lookup")
    _check(c.post(base, {"order_number": "", "contact": "x"}), "lookup errors")
    _check(c.post(base, {"order_number": o.number, "contact": "no@example.com"}), "not found")
    _check(c.post(base, {"order_number": o.number, "contact": "no@example.com"}), "too many")
    _check(c.get(f"{base}link/forged/"), "expired link")
    c2 = Client(HTTP_HOST="127.0.0.1")
    grant = c2.get(f"{base}link/{_token(m, o)}/")
    assert grant.status_code == 302
    items = f"{base}orders/{o.number}/"
    _check(c2.get(items), "items", store)
    _check(c2.post(items, {"sel-1": "on", "qty-1": "9", "reason-1": ""}), "items errors", store)
    c2.post(items, {"sel-1": "on", "qty-1": "1", "reason-1": "too_small"})
    _check(c2.get(f"{items}resolution/"), "resolution", store)
    _check(
        c2.post(f"{items}resolution/", {"resolution": "refund", "iban": "SA00"}),
        "resolution errors",
        store,
    )
    c2.post(
        f"{items}resolution/",
        {"resolution": "refund", "iban": "SA0380000000608010167519", "payout_name": "نورة"},
    )
    _check(c2.get(f"{items}method/"), "method", store)
    _check(c2.post(f"{items}method/", {"method": "pickup"}), "method errors", store)
    c2.post(f"{items}method/", {"method": "label"})
    _check(c2.get(f"{items}review/"), "review", store)
    done = c2.post(f"{items}review/")
    _check(c2.get(done["Location"]), "status", store)
    _check(c2.get(f"{base}policy/"), "policy", store)


def _token(merchant, order) -> str:
    from awda.portal.access import order_link_token

    return order_link_token(merchant, order.pk)
