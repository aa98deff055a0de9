"""Importing the UCI Online Retail file: sales, credit notes matched to sales, quirks."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from awda.analytics import selectors
from awda.analytics.models import UnlinkedReturnLine
from awda.analytics.uci import import_uci
from awda.orders.models import Customer, Order, OrderLine
from awda.returns.models import Return, ReturnItem
from tests import factories

pytestmark = pytest.mark.django_db

H = "WHITE HANGING HEART T-LIGHT HOLDER"
L = "WHITE METAL LANTERN"
UK = "United Kingdom"
d = datetime

ROWS = [
    # InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country
    ("536365", "85123A", H, 6, d(2011, 6, 1, 8, 26), 2.55, 17850.0, UK),
    ("536365", "71053", L, 6, d(2011, 6, 1, 8, 26), 3.39, 17850.0, UK),
    ("536365", "POST", "POSTAGE", 1, d(2011, 6, 1, 8, 26), 18.0, 17850.0, UK),
    ("536366", "85123A", H, 4, d(2011, 6, 2, 9, 0), 2.55, None, "France"),
    ("536367", "22139", "Unknown", -10, d(2011, 6, 2, 10, 0), 0.0, None, UK),
    ("A563185", "B", "Adjust bad debt", 1, d(2011, 6, 3, 10, 0), -11062.06, None, UK),
    # 2 of the 6 holders back (matched), and 5 lanterns of which only 6 were bought: 5 match.
    ("C536379", "85123A", H, -2, d(2011, 6, 5, 9, 41), 2.55, 17850.0, UK),
    ("C536379", "71053", L, -8, d(2011, 6, 5, 9, 41), 3.39, 17850.0, UK),
    # A customer with no sale in the file: unlinked.
    ("C536380", "85123A", H, -1, d(2011, 6, 5, 10, 0), 2.55, 12345.0, UK),
]  # fmt: skip


def _write(path: Path) -> Path:
    names = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
             "CustomerID", "Country"]  # fmt: skip
    table = pa.table({n: [r[i] for r in ROWS] for i, n in enumerate(names)})
    pq.write_table(table, path)
    return path


@pytest.fixture
def imported(tmp_path):
    m = factories.merchant(currency="GBP")
    report = import_uci(merchant=m, path=_write(tmp_path / "uci.parquet"))
    return m, report, tmp_path


def test_sales_invoices_become_orders_with_prices_in_pence_and_uk_time(imported):
    m, report, _ = imported
    assert (report.orders, report.order_lines) == (2, 3)
    order = Order.objects.get(merchant=m, number="536365")
    # 08:26 in London in June is 07:26 UTC (summer time).
    assert order.placed_at == datetime.fromisoformat("2011-06-01T07:26:00+00:00")
    line = OrderLine.objects.get(order=order, sku="85123A")
    assert (line.unit_price_minor, line.paid_minor, line.line_ref) == (255, 1530, "1")
    assert order.total_minor == 1530 + 6 * 339


def test_an_invoice_without_customer_id_gets_its_own_guest(imported):
    m, _report, _ = imported
    guest = Order.objects.get(merchant=m, number="536366").customer
    assert guest.external_id is None and guest.name == "Guest"
    assert Customer.objects.filter(merchant=m, external_id="17850").exists()


def test_credit_notes_match_earlier_sales_of_the_customer_and_keep_the_rest_unlinked(imported):
    m, report, _ = imported
    ret = Return.objects.get(merchant=m, number="C536379")
    items = {i.order_line.sku: i.quantity for i in ReturnItem.objects.filter(return_request=ret)}
    assert items == {"85123A": 2, "71053": 6}
    assert OrderLine.objects.get(order__number="536365", sku="71053").returned_quantity == 6
    unlinked = {
        (u.document, u.sku): u.quantity for u in UnlinkedReturnLine.objects.filter(merchant=m)
    }
    assert unlinked == {("C536379", "71053"): 2, ("C536380", "85123A"): 1}
    assert (report.units_linked, report.units_unlinked) == (8, 3)


def test_quirks_are_counted_and_their_lines_skipped(imported):
    _m, report, _ = imported
    assert report.non_product_codes == {"POST": 1, "B": 1}
    assert report.quirks["bad_debt_adjustment"] == 1
    assert report.quirks["zero_or_negative_price"] == 2
    assert report.quirks["negative_quantity_on_sale"] == 1
    assert report.quirks["unknown_description"] == 1
    assert report.quirks["lines_skipped"] == 3


def test_importing_the_file_again_adds_nothing(imported):
    m, _report, path = imported
    again = import_uci(merchant=m, path=path / "uci.parquet")
    assert (again.orders, again.returns, again.unlinked_lines) == (0, 0, 0)
    assert again.invoices_already_imported == 4
    assert Order.objects.filter(merchant=m).count() == 2


def test_the_analytics_count_matched_and_unlinked_returns(imported):
    m, _report, _ = imported
    june = (datetime(2011, 6, 1).date(), datetime(2011, 6, 30).date())
    summary = selectors.return_summary(merchant=m, start=june[0], end=june[1])
    assert (summary.sold_units, summary.returned_units) == (16, 11)
    assert summary.returned_minor == 3 * 255 + 8 * 339
    share = selectors.customers_who_return(merchant=m, start=june[0], end=june[1])
    assert (share.buying, share.returning) == (1, 1)


def test_missing_values_are_counted_quirks_and_the_rest_is_imported(tmp_path):
    rows = [
        ("536400", "85123A", H, 2, d(2011, 6, 1, 8, 0), 2.55, 17850.0, UK),
        (None, "71053", L, 1, d(2011, 6, 1, 8, 0), 3.39, 17850.0, UK),
        ("536401", None, L, 1, d(2011, 6, 1, 8, 0), 3.39, 17850.0, UK),
        ("536402", "71053", L, 1, None, 3.39, 17850.0, UK),
        ("536403", "71053", None, 1, d(2011, 6, 1, 8, 0), None, None, None),
        ("536404", "71053", None, 3, d(2011, 6, 1, 9, 0), 3.39, None, None),
    ]  # fmt: skip
    names = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
             "CustomerID", "Country"]  # fmt: skip
    path = tmp_path / "gaps.parquet"
    pq.write_table(pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)}), path)
    m = factories.merchant(currency="GBP")
    report = import_uci(merchant=m, path=path)
    assert report.quirks["missing_invoice_code_or_date"] == 3
    assert report.quirks["zero_or_negative_price"] == 1
    assert report.quirks["lines_skipped"] == 4
    assert sorted(Order.objects.filter(merchant=m).values_list("number", flat=True)) == [
        "536400",
        "536404",
    ]
    # No description: imported under its code; no customer id: a guest of its own.
    line = OrderLine.objects.get(order__merchant=m, order__number="536404")
    assert (line.title_en, line.quantity, line.unit_price_minor) == ("71053", 3, 339)
    assert Order.objects.get(merchant=m, number="536404").customer.external_id is None
