"""An analyst's journey in Chromium, in Arabic and in English (issue 7's "must show"): the
analyst signs in, opens the analytics of a store with sales and returns, sees every chart
drawn with data (Chart.js, right-to-left in Arabic, in the store's digits), downloads a
table's CSV and finds exactly the table's rows in it, drills into a reason's items, opens a
breakdown by category, and gets a clear message for a period that ends before it starts.
Every page is screenshotted and checked with axe, the Arabic ones asserted right-to-left.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page

from awda.dashboard.csv_export import csv_cell
from awda.merchants.models import Merchant, StaffRole
from awda.returns.models import ReturnReason
from tests import factories
from tests.browser.helpers import assert_ltr, assert_rtl, axe_check, snap
from tests.dashboard import helpers as d
from tests.dashboard.test_analytics_pages import seed_store, shown_number

TEXT = {
    "en": {
        "sign_in": "Sign in",
        "analytics": "Analytics",
        "by_category": "Return rate by category",
        "end_before_start": "The end comes before the start.",
    },
    "ar": {
        "sign_in": "تسجيل الدخول",
        "analytics": "التحليلات",
        "by_category": "نسبة الإرجاع حسب الفئة",
        "end_before_start": "تاريخ النهاية يسبق تاريخ البداية.",
    },
}
ARABIC_DIGIT = re.compile("[٠-٩]")

# Each chart on the page: drawn by Chart.js, with its options and what it shows.
CHARTS_JS = """() => [...document.querySelectorAll("canvas[data-chart]")].map((canvas) => {
  const chart = Chart.getChart(canvas);
  if (!chart) return {id: canvas.id, drawn: false};
  const values = chart.options.indexAxis === "y" ? chart.scales.x : chart.scales.y;
  const names = chart.options.indexAxis === "y" ? chart.scales.y : chart.scales.x;
  return {
    id: canvas.id,
    drawn: canvas.width > 0 && canvas.height > 0,
    type: chart.config.type,
    label: canvas.getAttribute("aria-label"),
    sums: chart.data.datasets.map((set) => set.data.reduce((a, b) => a + b, 0)),
    labels: chart.data.labels,
    valueTicks: values ? values.ticks.map((t) => t.label) : [],
    valuesReversed: values ? !!values.options.reverse : null,
    namesReversed: names ? !!names.options.reverse : null,
    namesPosition: names ? names.options.position : null,
    legendRtl: !!chart.options.plugins.legend.rtl,
  };
})"""

# A table as the page holds it: header keys, each cell's CSV value and its text.
TABLE_JS = """(id) => {
  const table = document.getElementById(id);
  return {
    keys: [...table.querySelectorAll("thead th")].map((th) => th.dataset.key),
    values: [...table.querySelectorAll("tbody tr")].map((tr) =>
      [...tr.querySelectorAll("td")].map((td) => td.dataset.value)),
    texts: [...table.querySelectorAll("tbody tr")].map((tr) =>
      [...tr.querySelectorAll("td")].map((td) => {
        const copy = td.cloneNode(true);
        copy.querySelectorAll("ul").forEach((ul) => ul.remove());
        return copy.textContent.trim();
      })),
  };
}"""


@pytest.fixture(autouse=True)
def _fast_passwords(settings):  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def check(page: Page, lang: str, name: str) -> None:
    if lang == "ar":
        assert_rtl(page)
    else:
        assert_ltr(page)
    snap(page, f"{lang}-{name}")
    axe_check(page, f"{lang}-{name}-axe")


def sign_in(page: Page, base: str, lang: str, username: str) -> None:
    page.goto(f"{base}/{lang}/staff/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", d.PASSWORD)
    page.get_by_role("button", name=TEXT[lang]["sign_in"]).click()


def charts(page: Page) -> list[dict[str, Any]]:
    page.wait_for_function(
        "() => window.Chart && [...document.querySelectorAll('canvas[data-chart]')]"
        ".every((c) => Chart.getChart(c))"
    )
    found: list[dict[str, Any]] = page.evaluate(CHARTS_JS)
    return found


def assert_drawn_with_data(page: Page, lang: str, expected: set[str]) -> list[dict[str, Any]]:
    drawn = charts(page)
    assert {c["id"] for c in drawn} == expected
    for chart in drawn:
        assert chart["drawn"], chart["id"]
        assert chart["label"], chart["id"]  # its text alternative points at the table
        assert chart["sums"] and any(s > 0 for s in chart["sums"]), chart
        if chart["type"] != "doughnut":
            ticks = "".join(chart["valueTicks"])
            if lang == "ar":
                # Arabic: the store's Arabic-Indic digits, and the layout mirrored.
                assert ARABIC_DIGIT.search(ticks) and not re.search("[0-9]", ticks), chart
                assert chart["valuesReversed"] or chart["namesReversed"], chart
                assert chart["legendRtl"], chart
            else:
                assert re.search("[0-9]", ticks), chart
                assert not chart["valuesReversed"] and not chart["namesReversed"], chart
    return drawn


def download_equals_table(page: Page, table: str) -> list[list[str]]:
    """Download the table's CSV with its button; the CSV is the table, row for row."""
    with page.expect_download() as info:
        page.locator(f"#{table}-csv").click()
    download = info.value
    filename = download.suggested_filename
    assert filename.startswith(f"{table}-") and filename.endswith(".csv")
    text = download.path().read_text(encoding="utf-8")
    assert text.startswith("\ufeff")
    header, *rows = list(csv.reader(io.StringIO(text[1:])))
    shown = page.evaluate(TABLE_JS, f"{table}-table")
    assert header == shown["keys"]
    # The same cells; one a spreadsheet would run as a formula gets a leading quote.
    assert rows == [[csv_cell(v) for v in row] for row in shown["values"]] and rows
    for values, texts in zip(shown["values"], shown["texts"], strict=True):
        for value, text in zip(values, texts, strict=True):
            if re.fullmatch(r"-?\d+(\.\d+)?", value):
                assert shown_number(text) == Decimal(value), (table, value, text)
            elif value and not re.fullmatch(r"\d{4}-\d\d-\d\d", value):
                # Codes and names: the same words (labels are in the page's language).
                assert text, (table, value)
    return rows


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_an_analyst_reads_the_charts_downloads_a_table_as_csv_and_drills_into_a_reason(
    live_server, new_page, lang
):
    m = factories.merchant()
    Merchant.objects.filter(pk=m.pk).update(arabic_digits=True)
    seed_store(Merchant.objects.get(pk=m.pk))
    analyst = d.staff(m, StaffRole.ANALYST, username=f"analyst-{lang}")
    base = live_server.url
    page = new_page(lang, desktop=True)

    # Sign in: the start page lists Analytics for an analyst.
    sign_in(page, base, lang, analyst.username)
    page.wait_for_url(f"**/{lang}/staff/{m.slug}/")
    check(page, lang, "home")
    page.get_by_role("link", name=TEXT[lang]["analytics"], exact=True).click()
    page.wait_for_url(f"**/{lang}/staff/{m.slug}/analytics/")

    # Every section's chart is drawn with data, mirrored and in Arabic digits in Arabic.
    drawn = assert_drawn_with_data(
        page,
        lang,
        {
            f"{name}-chart"
            for name in (
                "top-products",
                "reasons",
                "reason-trend",
                "resolutions",
                "refund-times",
                "transit-times",
                "flagged",
                "suppliers",
            )
        },
    )
    top = next(c for c in drawn if c["id"] == "top-products-chart")
    assert top["namesPosition"] == ("right" if lang == "ar" else "left")
    figure = page.locator("#figure-unit-rate dd").first.inner_text()
    assert (ARABIC_DIGIT.search(figure) is not None) == (lang == "ar"), figure
    check(page, lang, "overview")

    # The top products' CSV is the table, and so is the flagged products' one.
    rows = download_equals_table(page, "top-products")
    assert {r[0] for r in rows[:2]} == {"P-TEE", "P-POLO"}  # the most units returned first
    flagged = download_equals_table(page, "flagged")
    assert [r[0] for r in flagged] == ["P-TEE"]

    # A reason → its items, each with its photo count; the CSV is the table again.
    defective = ReturnReason.objects.get(merchant=m, code="defective")
    name = defective.label_ar if lang == "ar" else defective.label_en
    page.locator("#reasons-table").get_by_role("link", name=name, exact=True).click()
    page.wait_for_url("**/analytics/items/?*reason=defective*")
    assert name in page.locator("h1").inner_text()
    items = download_equals_table(page, "items")
    assert [(r[2], r[4]) for r in items] == [("TEE", "20")]
    check(page, lang, "drill-down")

    # A breakdown by category: a page of its own, its chart drawn, its CSV the table.
    page.goto(f"{base}/{lang}/staff/{m.slug}/analytics/")
    page.get_by_role("link", name=TEXT[lang]["by_category"], exact=True).click()
    page.wait_for_url("**/analytics/rates/category/*")
    assert_drawn_with_data(page, lang, {"rates-category-chart"})
    assert [r[0] for r in download_equals_table(page, "rates-category")] == ["shirts", "shoes"]
    check(page, lang, "by-category")

    # A period that ends before it starts: said next to the field, in the page's language.
    page.locator("#period").select_option("custom")
    page.fill("#from", "2026-03-10")
    page.fill("#to", "2026-03-01")
    page.get_by_role("button", name="عرض" if lang == "ar" else "Show", exact=True).click()
    page.wait_for_url("**to=2026-03-01*")
    assert TEXT[lang]["end_before_start"] in page.locator("#to-error").inner_text()
    assert page.locator("#to").get_attribute("aria-invalid") == "true"
    assert page.locator("canvas").count() == 0
    check(page, lang, "bad-period")
