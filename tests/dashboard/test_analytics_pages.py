"""The analyst's pages (issue 7): key figures, return rates by product, variant, category and
supplier, reasons with their drill-down, resolutions, refund and transit times, flagged
products and supplier scorecards over a period in the merchant's days. Each table's CSV holds
exactly the table's rows; analysts and owners only; bad input is answered on the page in the
person's language, never with a 500."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from PIL import Image

from awda.analytics.services import refresh_rollups
from awda.catalog.models import Product
from awda.core import clock
from awda.dashboard.csv_export import csv_cell
from awda.merchants.models import Merchant, StaffRole
from awda.payments.models import Refund
from awda.returns.models import Return
from awda.returns.photos import store_photo
from awda.returns.services import ItemRequest, request_return
from awda.shipping.models import CarrierAccount, Shipment
from tests import factories
from tests.dashboard import helpers as d

pytestmark = pytest.mark.django_db

TABLES = (
    "top-products",
    "reasons",
    "reason-trend",
    "resolutions",
    "refund-times",
    "transit-times",
    "flagged",
    "suppliers",
)


# -- a small store with sales, returns, a refund, a parcel and a photo -------------------------


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 90, 200)).save(out, format="PNG")
    return out.getvalue()


def seed_store(m: Merchant | None = None) -> Merchant:
    """Shirts: TEE 40 sold and 20 returned as defective (with a photo, refunded in 30 hours,
    its parcel 36 hours in transit), POLO 400 sold and 20 returned too small for store
    credit; shoes: BOOT 10 sold, 2 returned too small. TEE is flagged (its Wilson bound
    0.352 is above 1.5 × the shirts' 40 / 440)."""
    m = m or factories.merchant()
    line = factories.line
    o1 = factories.order(
        m,
        lines=[
            line("1", sku="TEE", quantity=40, price=5000, category="shirts"),
            line("2", sku="BOOT", quantity=10, price=20000, category="shoes"),
        ],
    )
    o2 = factories.order(
        m, lines=[line("1", sku="POLO", quantity=400, price=3000, category="shirts")]
    )
    photo = store_photo(merchant=m, order=o1, data=png())
    r1 = request_return(
        merchant=m,
        order_number=o1.number,
        items=[
            ItemRequest(
                line_ref="1",
                quantity=20,
                reason="defective",
                comment="=HYPERLINK(1)",
                photo_ids=(photo.pk,),
            ),
            ItemRequest(line_ref="2", quantity=2, reason="too_small"),
        ],
        method="label",
    )
    request_return(
        merchant=m,
        order_number=o2.number,
        items=[
            ItemRequest(line_ref="1", quantity=20, reason="too_small", resolution="store_credit")
        ],
        method="label",
    )
    now = clock.now()
    Refund.objects.create(
        merchant=m,
        payment=o1.payments.get(),
        gateway="sandbox",
        amount_minor=100,
        currency=m.currency,
        idempotency_key="analytics-1",
        request_key="analytics-1",
        reference=r1.number,
        status="succeeded",
        created_at=r1.requested_at,
        settled_at=r1.requested_at + timedelta(hours=30),
    )
    account, _ = CarrierAccount.objects.get_or_create(
        merchant=m, carrier="sandbox", defaults={"name": "s"}
    )
    shipment = Shipment.objects.filter(return_request=r1).first()
    if shipment is None:
        shipment = Shipment.objects.create(
            merchant=m,
            return_request=r1,
            account=account,
            carrier="sandbox",
            method="label",
            tracking_number=f"T{r1.number}",
            status="delivered",
            status_at=now,
            created_at=now,
        )
    Shipment.objects.filter(pk=shipment.pk).update(
        first_scan_at=r1.requested_at + timedelta(hours=2),
        delivered_at=r1.requested_at + timedelta(hours=38),
    )
    refresh_rollups(merchant=m)
    return m


@pytest.fixture
def store() -> Merchant:
    return seed_store()


def url(m: Merchant, path: str = "", lang: str = "en") -> str:
    return f"/{lang}/staff/{m.slug}/analytics/{path}"


# -- reading a page's tables -------------------------------------------------------------------


@dataclass
class ShownTable:
    keys: list[str] = field(default_factory=list)
    values: list[list[str]] = field(default_factory=list)  # data-value of each cell
    texts: list[list[str]] = field(default_factory=list)  # what the cell shows


class Tables(HTMLParser):
    """Every ``<table data-table>`` of a page: header keys, cell values and cell texts."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, ShownTable] = {}
        self.canvases: list[str] = []
        self._table: ShownTable | None = None
        self._cell: list[str] | None = None
        self._in_photos = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("data-table"):
            self._table = self.tables.setdefault(str(a["data-table"]), ShownTable())
        elif self._table is not None and tag == "th" and a.get("data-key") is not None:
            self._table.keys.append(str(a["data-key"]))
        elif self._table is not None and tag == "tr":
            self._row: list[str] = []
            self._texts: list[str] = []
        elif self._table is not None and tag == "td":
            self._row.append(str(a.get("data-value", "")))
            self._cell = []
        elif tag == "ul" and self._cell is not None:
            self._in_photos += 1
        elif tag == "canvas" and a.get("data-chart"):
            self.canvases.append(str(a.get("id")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "ul" and self._in_photos:
            self._in_photos -= 1
        elif tag == "td" and self._cell is not None:
            self._texts.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._table is not None and getattr(self, "_row", None):
            self._table.values.append(self._row)
            self._table.texts.append(self._texts)
            self._row = []
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._in_photos:
            self._cell.append(data)


def csv_rows(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩٫", "0123456789.")


def shown_number(text: str) -> Decimal:
    """The number a cell shows, whatever the digits and grouping (Arabic or Latin)."""
    plain = text.translate(_DIGITS).replace("٬", "").replace(",", "")
    found = re.search(r"-?\d+(?:\.\d+)?", plain)
    assert found, text
    return Decimal(found.group())


def page_tables(client: Client, address: str) -> Tables:
    answer = client.get(address)
    assert answer.status_code == 200, answer.content[:500]
    return Tables(answer.content.decode())


# -- roles and stores --------------------------------------------------------------------------


@pytest.mark.parametrize("role", [StaffRole.ANALYST, StaffRole.OWNER])
def test_analysts_and_owners_open_every_analytics_page_and_see_it_on_the_start_page(store, role):
    client = d.signed_in(d.staff(store, role))
    home = client.get(f"/en/staff/{store.slug}/").content.decode()
    assert f'href="{url(store)}"' in home
    for path in ("", "rates/variant/", "items/?reason=defective", "top-products.csv"):
        assert client.get(url(store, path)).status_code == 200, path


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.WAREHOUSE])
def test_agents_and_warehouse_staff_may_not_open_the_analytics(store, role):
    client = d.signed_in(d.staff(store, role))
    for path in ("", "rates/product/", "items/?reason=defective", "reasons.csv"):
        assert client.get(url(store, path)).status_code == 403, path
    if role == StaffRole.AGENT:
        home = client.get(f"/en/staff/{store.slug}/").content.decode()
        assert url(store) not in home


def test_another_stores_staff_get_404_and_anonymous_visitors_are_sent_to_sign_in(store):
    stranger = d.signed_in(d.staff(factories.merchant(), StaffRole.OWNER))
    for path in ("", "rates/product/", "reasons.csv"):
        assert stranger.get(url(store, path)).status_code == 404
        answer = Client().get(url(store, path))
        assert answer.status_code == 302 and "/staff/login/?next=" in answer["Location"]


def test_an_unknown_table_is_404(store):
    client = d.signed_in(d.staff(store, StaffRole.ANALYST))
    assert client.get(url(store, "orders.csv")).status_code == 404


# -- the figures -------------------------------------------------------------------------------


def test_the_overview_shows_key_figures_and_every_section_with_a_chart(store):
    client = d.signed_in(d.staff(store, StaffRole.ANALYST))
    answer = client.get(url(store))
    html = answer.content.decode()
    tables = Tables(html)

    assert set(TABLES) <= set(tables.tables)
    # 42 of 450 units: 9.3 %; credit kept 20 POLO × 30.00 = 600.00 of 1,000 + 400 + 600.
    assert 'id="figure-unit-rate" data-value="9.3"' in html
    assert 'id="figure-revenue-kept" data-value="30.0"' in html
    assert 'id="figure-customer-share"' in html
    rates = {r[0]: r for r in tables.tables["top-products"].values}
    assert rates["P-TEE"][2:5] == ["40", "20", "50.0"]
    assert [r[0] for r in tables.tables["flagged"].values] == ["P-TEE"]
    assert tables.tables["refund-times"].values[0][3] == "30.0"
    assert tables.tables["transit-times"].values == [["sandbox", "1", "36.0", "36.0"]]
    # Every section with rows has its chart, its data as JSON (never as code).
    assert {f"{t}-chart" for t in TABLES} == set(tables.canvases)
    assert 'type="application/json"' in html and "vendor/chart.umd.min.js" in html


def test_a_chart_s_data_is_json_escaped_so_a_product_name_cannot_close_the_script(store):
    Product.objects.filter(merchant=store, external_id="P-TEE").update(
        title_en="</script><script>alert(1)</script>"
    )
    html = d.signed_in(d.staff(store, StaffRole.ANALYST)).get(url(store)).content.decode()
    assert "<script>alert(1)" not in html
    assert "\\u003C/script\\u003E\\u003Cscript\\u003Ealert(1)" in html


def test_each_breakdown_ranks_its_rows_and_the_drill_down_lists_a_reasons_items(store):
    client = d.signed_in(d.staff(store, StaffRole.ANALYST))
    by_category = page_tables(client, url(store, "rates/category/")).tables["rates-category"]
    assert [(r[0], r[2], r[3]) for r in by_category.values] == [
        ("shirts", "440", "40"),
        ("shoes", "10", "2"),
    ]
    by_supplier = page_tables(client, url(store, "rates/supplier/")).tables["rates-supplier"]
    assert [r[0] for r in by_supplier.values] == ["acme"]

    items = page_tables(client, url(store, "items/?reason=defective")).tables["items"]
    assert [(r[2], r[4], r[7]) for r in items.values] == [("TEE", "20", "1")]


def test_the_drill_down_shows_photos_to_analysts_and_links_returns_for_owners_only(store):
    number = Return.objects.get(merchant=store, items__order_line__sku="TEE").number
    photo_url = f"/en/staff/{store.slug}/returns/{number}/photos/"
    owner = d.signed_in(d.staff(store, StaffRole.OWNER))
    analyst = d.signed_in(d.staff(store, StaffRole.ANALYST))

    shown = owner.get(url(store, "items/?reason=defective")).content.decode()
    assert photo_url in shown and f'href="/en/staff/{store.slug}/returns/{number}/"' in shown
    photo = re.search(rf'<img src="({re.escape(photo_url)}\d+/)"', shown)
    assert photo and owner.get(photo.group(1)).status_code == 200

    # Analysts see what came back (PHOTO_ROLES), not the return's page (SUPPORT_ROLES).
    for_analyst = analyst.get(url(store, "items/?reason=defective")).content.decode()
    assert photo_url in for_analyst and analyst.get(photo.group(1)).status_code == 200
    assert f'href="/en/staff/{store.slug}/returns/{number}/"' not in for_analyst


# -- the CSV equals the table ------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_every_csv_holds_exactly_the_rows_and_numbers_of_its_table(store, lang):
    Merchant.objects.filter(pk=store.pk).update(arabic_digits=True)
    client = d.signed_in(d.staff(store, StaffRole.OWNER))
    pages = {
        url(store, "?period=90", lang): TABLES,
        **{
            url(store, f"rates/{by}/?period=90", lang): (f"rates-{by}",)
            for by in ("product", "variant", "category", "supplier")
        },
        url(store, "items/?period=90&reason=defective", lang): ("items",),
    }
    compared = 0
    for page, names in pages.items():
        tables = page_tables(client, page)
        html = client.get(page).content.decode()
        for name in names:
            shown = tables.tables[name]
            link = re.search(rf'href="([^"]*/{name}\.csv\?[^"]*)" id="{name}-csv"', html)
            assert link, name
            download = client.get(link.group(1).replace("&amp;", "&"))
            assert download.status_code == 200
            assert download["Content-Type"] == "text/csv; charset=utf-8"
            header, *rows = csv_rows(download.content)
            assert header == shown.keys
            assert rows == [[csv_cell(v) for v in row] for row in shown.values], name
            assert rows, name  # the seeded store has rows in every table
            # And the numbers the person reads are those numbers, in the page's digits.
            for values, texts in zip(shown.values, shown.texts, strict=True):
                for value, text in zip(values, texts, strict=True):
                    if re.fullmatch(r"-?\d+(\.\d+)?", value):
                        assert shown_number(text) == Decimal(value), (name, value, text)
                        if lang == "ar":
                            assert not re.search(r"[0-9]", text), text
            compared += 1
    assert compared == len(TABLES) + 5


def test_a_cell_a_spreadsheet_would_run_as_a_formula_gets_a_leading_quote(store):
    client = d.signed_in(d.staff(store, StaffRole.OWNER))
    header, *rows = csv_rows(client.get(url(store, "items.csv?reason=defective")).content)
    assert rows[0][header.index("comment")] == "'=HYPERLINK(1)"


# -- the period and bad input ------------------------------------------------------------------


def test_a_period_before_the_sales_shows_empty_sections_not_errors(store):
    client = d.signed_in(d.staff(store, StaffRole.ANALYST))
    answer = client.get(url(store, "?period=custom&from=2020-01-01&to=2020-01-31"))
    html = answer.content.decode()
    assert answer.status_code == 200
    assert 'data-start="2020-01-01" data-end="2020-01-31"' in html
    assert "Nothing in this period." in html and "<canvas" not in html
    header, *rows = csv_rows(
        client.get(url(store, "reasons.csv?period=custom&from=2020-01-01&to=2020-01-31")).content
    )
    assert header[0] == "reason_code" and rows == []


def test_the_last_30_days_end_today_in_the_merchants_time_zone(store):
    client = d.signed_in(d.staff(store, StaffRole.ANALYST))
    html = client.get(url(store)).content.decode()
    today = clock.now().astimezone(ZoneInfo(store.timezone)).date()
    start = today - timedelta(days=29)
    assert f'data-start="{start.isoformat()}" data-end="{today.isoformat()}"' in html


@pytest.mark.parametrize(
    ("query", "field", "en", "ar"),
    [
        (
            "?period=custom&from=2026-03-10&to=2026-03-01",
            "to",
            "The end comes before the start.",
            "تاريخ النهاية يسبق تاريخ البداية.",
        ),
        (
            "?period=custom&from=2026-13-40&to=2026-03-01",
            "from",
            "Enter a date such as 2026-01-31.",
            "أدخل تاريخًا مثل 2026-01-31.",
        ),
        (
            "?period=custom&from=9999-12-31&to=9999-12-31",
            "from",
            "Enter a date between",
            "أدخل تاريخًا بين",
        ),
        ("?period=7", "period", "Choose a period from the list.", "اختر مدة من القائمة."),
        ("?period=custom&to=2026-03-01", "from", "Enter a date.", "أدخل تاريخًا."),
    ],
)
def test_bad_period_input_is_a_400_with_the_message_next_to_its_field(store, query, field, en, ar):
    client = d.signed_in(d.staff(store, StaffRole.ANALYST))
    for lang, message in (("en", en), ("ar", ar)):
        for page in ("", "rates/product/", "items/?reason=defective&"):
            address = url(store, page, lang) + (query if not page.endswith("&") else query[1:])
            answer = client.get(address)
            html = answer.content.decode()
            assert answer.status_code == 400, address
            assert f'id="{field}-error"' in html and message in html, (address, html[-3000:])
            assert "<canvas" not in html
        download = client.get(url(store, "reasons.csv", lang) + query)
        assert download.status_code == 400 and message in download.content.decode()


def test_an_unknown_breakdown_or_reason_is_a_400_saying_what_to_choose(store):
    client = d.signed_in(d.staff(store, StaffRole.ANALYST))
    answer = client.get(url(store, "rates/colour/"))
    assert answer.status_code == 400
    assert "There is no breakdown by “colour”" in answer.content.decode()
    arabic = client.get(url(store, "rates/colour/", "ar")).content.decode()
    assert "لا يوجد تقسيم حسب «colour»" in arabic

    for address in (url(store, "items/?reason=nope"), url(store, "items/")):
        answer = client.get(address)
        assert answer.status_code == 400
        assert "Choose a reason from the reasons table." in answer.content.decode()
    assert client.get(url(store, "items.csv?reason=nope")).status_code == 400
