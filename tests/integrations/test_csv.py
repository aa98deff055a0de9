"""CSV import and export (docs/csv.md): what one store exports another imports as the same
orders and products; bad rows are reported by row and column while the good ones are kept; a
file that can't be used saves nothing; a re-import changes nothing; every file is one store's."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from awda.catalog.models import Product, Variant
from awda.integrations import csvio
from awda.orders.models import Customer, Order, OrderLine
from awda.returns.services import ItemRequest, request_return
from tests import factories

pytestmark = pytest.mark.django_db

ORDER_HEADER = ",".join(csvio.ORDER_COLUMNS)


def as_bytes(rows: Any) -> bytes:
    return "".join(csvio.csv_lines(rows)).encode()


def order_row(**cells: str) -> list[str]:
    """A row of the orders template with good values, overriding ``cells``."""
    values = dict(zip(*csvio.template_rows("orders"), strict=True))
    values["customer_phone"] = "+966501234567"
    values.update(cells)
    return [values[c] for c in csvio.ORDER_COLUMNS]


def orders_file(*rows: list[str]) -> bytes:
    return as_bytes([list(csvio.ORDER_COLUMNS), *rows])


def snapshot(merchant: factories.Merchant) -> list[tuple[Any, ...]]:
    """What a CSV of orders carries, per order and line, independent of ids."""
    orders = Order.objects.for_merchant(merchant).select_related("customer").order_by("number")
    out = []
    for o in orders:
        lines = o.lines.select_related("product").order_by("line_ref")
        out.append(
            (
                o.number,
                o.currency,
                o.payment_method,
                o.prices_include_tax,
                o.placed_at,
                o.delivered_at,
                o.subtotal_minor,
                o.discount_minor,
                o.tax_minor,
                o.total_minor - o.shipping_minor,
                o.shipping_country,
                (o.customer.email, o.customer.phone, o.customer.name),
                [
                    (
                        li.line_ref,
                        li.sku,
                        li.title_en,
                        li.title_ar,
                        li.quantity,
                        li.delivered_quantity,
                        li.unit_price_minor,
                        li.discount_minor,
                        li.tax_minor,
                        li.tax_rate,
                        li.paid_minor,
                        li.product.external_id if li.product else None,
                    )
                    for li in lines
                ],
            )
        )
    return out


def test_orders_exported_from_one_store_import_into_another_as_the_same_orders():
    source, target = factories.merchant(), factories.merchant()
    factories.order(
        source,
        number="1001",
        lines=[
            factories.line("a", sku="ABY-54", price=24900, quantity=2, discount=1000),
            factories.line("b", sku="SCR-15", price=3950, tax_rate="5"),
        ],
        discount=777,  # spread over the lines by largest remainder
    )
    factories.order(source, number="1002", payment_method="cash_on_delivery", email="=cmd@x.io")
    factories.order(source, number="1003", delivered_days_ago=None, prices_include_tax=False)

    report = csvio.import_orders(target, as_bytes(csvio.export_orders(source)))

    assert report.errors == []
    assert (report.rows, report.created, report.rejected) == (4, 4, 0)
    assert snapshot(target) == snapshot(source)
    assert Variant.objects.for_merchant(target).filter(sku="ABY-54").exists()


def test_reimporting_a_file_changes_nothing_and_counts_its_rows_as_unchanged():
    merchant = factories.merchant()
    data = orders_file(order_row(), order_row(line_ref="2", sku="ABY-BLK-56", quantity="2"))
    csvio.import_orders(merchant, data)
    before = snapshot(merchant)
    bought = Customer.objects.get(merchant=merchant).units_bought

    again = csvio.import_orders(merchant, data)

    assert (again.rows, again.created, again.updated, again.unchanged) == (2, 0, 0, 2)
    assert snapshot(merchant) == before
    assert Order.objects.for_merchant(merchant).count() == 1
    assert OrderLine.objects.for_merchant(merchant).count() == 2
    assert Customer.objects.get(merchant=merchant).units_bought == bought == 3


def test_a_changed_row_updates_its_order():
    merchant = factories.merchant()
    csvio.import_orders(merchant, orders_file(order_row()))

    report = csvio.import_orders(merchant, orders_file(order_row(quantity="3")))

    assert (report.updated, report.unchanged) == (1, 0)
    assert OrderLine.objects.get(order__merchant=merchant).quantity == 3


def test_a_bom_semicolons_arabic_text_and_arabic_indic_digits_are_read():
    merchant = factories.merchant()
    header = ";".join(csvio.ORDER_COLUMNS)
    row = order_row(
        quantity="٢",
        unit_price="٤٩٫٥٠",
        discount="١٫٠٠",
        placed_at="٢٠٢٥-٠٣-٠١",
        delivered_at="",
        title_ar="عباية سوداء؛ مقاس ٥٤",
    )
    text = "\ufeff" + header + "\r\n" + ";".join(f'"{c}"' for c in row) + "\r\n"

    report = csvio.import_orders(merchant, text.encode("utf-8"))

    assert report.errors == [] and report.created == 1
    line = OrderLine.objects.get(order__merchant=merchant)
    assert (line.quantity, line.unit_price_minor, line.discount_minor) == (2, 4950, 100)
    assert line.title_ar == "عباية سوداء؛ مقاس ٥٤"
    assert line.order.placed_at.date().isoformat() == "2025-02-28"  # midnight Riyadh, in UTC


def test_bad_rows_are_reported_by_row_and_column_and_the_good_orders_are_kept():
    merchant = factories.merchant()
    data = orders_file(
        order_row(order_number="1001"),
        order_row(order_number="1002", quantity="lots"),
        order_row(order_number="1002", line_ref="2", sku="X-2"),
        order_row(order_number="1003", unit_price="12.345"),
        order_row(order_number=""),
    )

    report = csvio.import_orders(merchant, data)

    assert (report.rows, report.created, report.rejected) == (5, 1, 4)
    where = {(e.row, e.column) for e in report.errors}
    assert where == {
        (3, "quantity"),
        (4, "order_number"),  # the good row of a rejected order says why
        (5, "unit_price"),
        (6, "order_number"),
    }
    by_row = {e.row: e.reason for e in report.errors}
    assert by_row[3] == "must be a whole number"
    assert "line 3" in by_row[4]
    assert "decimals" in by_row[5]
    assert list(Order.objects.for_merchant(merchant).values_list("number", flat=True)) == ["1001"]


def test_reasons_are_in_the_request_language():
    from django.utils import translation

    merchant = factories.merchant()
    with translation.override("ar"):
        report = csvio.import_orders(merchant, orders_file(order_row(quantity="x")))
    assert report.errors[0].reason == "يجب أن يكون عددًا صحيحًا"


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", csvio.CsvFileInvalid),  # binary
        (b"order_number,quantity\n1001,1\n", csvio.CsvFileInvalid),  # columns missing
        (b'{"orders": [1, 2]}\n', csvio.CsvFileInvalid),  # not CSV
        ("رقم,كمية\n1,2\n".encode("cp1256"), csvio.CsvFileInvalid),  # not UTF-8
        (b"", csvio.CsvFileInvalid),
    ],
    ids=["binary", "wrong-header", "json", "not-utf8", "empty"],
)
def test_a_file_that_cant_be_used_is_refused_whole_and_nothing_is_saved(content, error):
    merchant = factories.merchant()

    with pytest.raises(error) as refused:
        csvio.import_orders(merchant, content)

    assert refused.value.message
    assert not Order.objects.for_merchant(merchant).exists()


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(monkeypatch):
    merchant = factories.merchant()
    data = orders_file(order_row())
    monkeypatch.setattr(csvio, "MAX_FILE_BYTES", len(data) - 1)

    with pytest.raises(csvio.CsvFileTooLarge):
        csvio.import_orders(merchant, io.BytesIO(data))

    assert not Order.objects.for_merchant(merchant).exists()


# -- products ----------------------------------------------------------------------------------


def product_row(**cells: str) -> list[str]:
    """A row of the products template with only ``cells`` filled in."""
    return [cells.get(c, "") for c in csvio.PRODUCT_COLUMNS]


PRODUCTS = [
    list(csvio.PRODUCT_COLUMNS),
    csvio.template_rows("products")[1],  # ABY-BLK-54 of product ABY-BLK
    product_row(
        product_id="ABY-BLK",
        sku="ABY-BLK-56",
        options="size=56|colour=black",
        price="٢٥٩٫٠٠",
        currency="sar",
    ),
    product_row(
        sku="TEE-WHT", title_en="Basic Tee", title_ar="تيشيرت", price="59", final_sale="true"
    ),
]


def test_products_are_created_with_their_variants_and_a_reimport_changes_nothing():
    merchant = factories.merchant()

    first = csvio.import_products(merchant, as_bytes(PRODUCTS))
    again = csvio.import_products(merchant, as_bytes(PRODUCTS))

    assert first.errors == []
    assert (first.rows, first.created) == (3, 3)
    assert (again.unchanged, again.created, again.updated) == (3, 0, 0)
    abaya = Product.objects.get(merchant=merchant, external_id="ABY-BLK")
    assert abaya.title_ar == "عباية كلاسيكية"
    assert (abaya.category.code, abaya.category.name_ar) == ("abayas", "عبايات")
    assert sorted(abaya.variants.values_list("sku", "price_minor")) == [
        ("ABY-BLK-54", 24900),
        ("ABY-BLK-56", 25900),
    ]
    assert Variant.objects.get(sku="ABY-BLK-56").options == {"size": "56", "colour": "black"}
    assert Product.objects.get(merchant=merchant, external_id="TEE-WHT").final_sale is True


def test_products_exported_from_one_store_import_into_another_as_the_same_products():
    source, target = factories.merchant(), factories.merchant()
    csvio.import_products(source, as_bytes(PRODUCTS))
    exported = list(csvio.export_products(source))

    report = csvio.import_products(target, as_bytes(exported))

    assert report.errors == [] and report.created == 3
    assert list(csvio.export_products(target)) == exported


def test_a_bad_product_row_is_reported_and_the_other_products_are_kept():
    merchant = factories.merchant()
    rows = [list(r) for r in PRODUCTS]
    rows[3][5] = "59.999"  # TEE-WHT: more decimals than SAR has
    rows[2][6] = "USD"  # ABY-BLK-56: another currency, so all of ABY-BLK is rejected

    report = csvio.import_products(merchant, as_bytes(rows))

    assert (report.created, report.rejected) == (0, 3)
    assert {(e.row, e.column) for e in report.errors} == {
        (2, "product_id"),
        (3, "currency"),
        (4, "price"),
    }
    assert not Product.objects.filter(merchant=merchant).exists()


# -- returns -----------------------------------------------------------------------------------


def test_returns_are_exported_one_row_per_item():
    merchant = factories.merchant()
    order = factories.order(merchant, number="1001", lines=[factories.line("1", quantity=2)])
    ret = request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref="1", quantity=1, reason="size", comment="=HYPERLINK(1)")],
        method="label",
    )

    header, *rows = list(csvio.export_returns(merchant))

    assert header == list(csvio.RETURN_COLUMNS)
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert (row["return_number"], row["order_number"], row["quantity"]) == (ret.number, "1001", "1")
    assert row["reason"] == "size" and row["resolution"] == "refund"
    assert row["comment"] == "'=HYPERLINK(1)"  # a spreadsheet won't run it


# -- the API -----------------------------------------------------------------------------------


def upload(client: factories.ApiClient, kind: str, content: bytes) -> Any:
    return client.client.post(
        f"/api/v1/import/{kind}",
        {"file": io.BytesIO(content)},
        headers=client.headers,
    )


def body(response: Any) -> str:
    return b"".join(response.streaming_content).decode()


def test_every_endpoint_needs_an_api_key():
    client = Client()
    for method, path in [
        ("get", "/api/v1/export/orders.csv"),
        ("get", "/api/v1/import/templates/orders.csv"),
        ("post", "/api/v1/import/orders"),
    ]:
        assert getattr(client, method)(path).status_code == 401, path


def test_export_is_scoped_to_the_keys_store_and_to_the_dates_asked():
    mine, theirs = factories.merchant(), factories.merchant()
    factories.order(mine, number="MINE-1", delivered_days_ago=3)
    factories.order(mine, number="MINE-OLD", delivered_days_ago=200)
    factories.order(theirs, number="THEIRS-1")
    client = factories.ApiClient(factories.api_key(mine))

    everything = client.get("/export/orders.csv")
    recent = client.get(f"/export/orders.csv?from={factories.days_ago(30).date()}")
    as_them = factories.ApiClient(factories.api_key(theirs)).get("/export/orders.csv")

    assert everything.status_code == 200
    assert everything["Content-Type"] == "text/csv; charset=utf-8"
    text = body(everything)
    assert text.startswith("\ufeff" + ORDER_HEADER)
    assert "MINE-1" in text and "MINE-OLD" in text and "THEIRS-1" not in text
    assert "MINE-1" in body(recent) and "MINE-OLD" not in body(recent)
    assert "MINE" not in body(as_them)


def test_export_refuses_an_end_before_the_start_and_an_unknown_kind(api):
    assert api.get("/export/orders.csv?from=2025-03-02&to=2025-03-01").status_code == 422
    assert api.get("/export/customers.csv").status_code == 422


def test_the_template_is_the_header_and_one_example_row(api):
    response = api.get("/import/templates/products.csv")

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == csvio.template_rows("products")


def test_the_templates_import_as_they_are():
    for kind, importer in (("orders", csvio.import_orders), ("products", csvio.import_products)):
        report = importer(factories.merchant(), as_bytes(csvio.template_rows(kind)))
        assert report.errors == [] and report.created == 1, kind


def test_an_upload_answers_the_report(api, merchant):
    content = orders_file(order_row(), order_row(order_number="1002", quantity="0"))

    response = upload(api, "orders", content)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "kind": "orders",
        "rows": 2,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
        "errors": [{"row": 3, "column": "quantity", "reason": "must be at least 1"}],
    }
    assert Order.objects.for_merchant(merchant).get().number == "1001"


def test_an_upload_that_cant_be_used_is_400_and_a_large_one_413(api, merchant, monkeypatch):
    binary = upload(api, "products", b"\x00\x01\x02binary")
    monkeypatch.setattr(csvio, "MAX_FILE_BYTES", 10)
    large = upload(api, "products", as_bytes(PRODUCTS))
    missing = api.client.post("/api/v1/import/products", {}, headers=api.headers)

    assert binary.status_code == 400
    assert binary.json()["code"] == "csv_file_invalid" and binary.json()["field"] == "file"
    assert large.status_code == 413 and large.json()["code"] == "csv_file_too_large"
    assert missing.status_code == 422
    assert not Product.objects.filter(merchant=merchant).exists()


def test_the_openapi_documents_every_answer(api):
    paths = api.client.get("/api/v1/openapi.json").json()["paths"]
    assert set(paths["/api/v1/import/{kind}"]["post"]["responses"]) == {
        "200",
        "400",
        "401",
        "403",  # a key without the full-access scope
        "413",
        "422",
    }
    assert "text/csv" in paths["/api/v1/export/{kind}.csv"]["get"]["responses"]["200"]["content"]


# -- the command -------------------------------------------------------------------------------


def test_the_command_imports_a_file_and_prints_the_report(tmp_path: Path, merchant):
    path = tmp_path / "orders.csv"
    path.write_bytes(orders_file(order_row(), order_row(order_number="1002", quantity="x")))
    out = io.StringIO()

    call_command("import-csv", str(path), merchant=merchant.slug, kind="orders", stdout=out)

    assert "2 rows: 1 created, 0 updated, 0 unchanged, 1 rejected." in out.getvalue()
    assert "line 3: quantity: must be a whole number" in out.getvalue()
    assert Order.objects.for_merchant(merchant).count() == 1


def test_the_command_refuses_an_unknown_merchant_and_an_unusable_file(tmp_path: Path, merchant):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"\x00\x01")

    with pytest.raises(CommandError, match="no merchant"):
        call_command("import-csv", str(path), merchant="nope", kind="orders")
    with pytest.raises(CommandError, match="not a text file"):
        call_command("import-csv", str(path), merchant=merchant.slug, kind="products")


def test_rows_are_numbered_as_the_file_shows_them_across_blank_lines_and_multiline_cells():
    merchant = factories.merchant()
    lines = orders_file(order_row(title_en="Classic\nAbaya")).decode().splitlines(keepends=True)
    bad = "".join(csvio.csv_lines([order_row(order_number="1002", quantity="x")]))
    data = "".join(lines) + "\r\n\r\n" + bad.removeprefix("\ufeff")

    report = csvio.import_orders(merchant, data.encode())

    assert [(e.row, e.column) for e in report.errors] == [(6, "quantity")]
    assert OrderLine.objects.get(order__merchant=merchant).title_en == "Classic\nAbaya"
