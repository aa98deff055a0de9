"""Importing orders from CSV: good orders are kept, bad rows are reported by line and reason."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from awda.catalog.models import Product, Variant
from awda.merchants.models import Merchant
from awda.orders.importer import ImportFileInvalid, RowError, import_orders_csv
from awda.orders.models import Order, OrderLine, PaymentMethod

HEADER = (
    "order_number,placed_at,delivered_at,currency,payment_method,customer_email,customer_phone,"
    "customer_name,line_ref,sku,title_en,title_ar,quantity,unit_price,discount,tax_rate,"
    "prices_include_tax,shipping_country,category,supplier,tags,final_sale"
)
GOOD_ROWS = [
    # Order 1001's rows are not next to each other, and its second row leaves the
    # order-level cells empty, as store exports do.
    "1001,2025-03-01 10:00,2025-03-04,SAR,card,noura@example.com,+966501234567,نورة القحطاني,"
    "a,ABY-BLK-54,Classic Abaya,عباية كلاسيكية,1,249.00,,15,true,SA,abayas,riyadh,bestseller,false",
    "1002,2025-03-02,,SAR,cod,,0501112222,Fahad,,EBP-BLK,Wireless Earbuds,سماعات لاسلكية,2,"
    "399.00,50.00,15,true,SA,electronics,shenzhen,,",
    "1001,,,,,,,,b,SCR-15,Screen Protector,واقي شاشة,3,39.00,,15,,,accessories,,"
    "final-sale|clearance,true",
]


def write(
    tmp_path: Path, lines: list[str], *, encoding: str = "utf-8", name: str = "o.csv"
) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def row(**cells: str) -> str:
    """A row of HEADER's columns with good defaults, overriding ``cells``."""
    values = {
        "order_number": "2001",
        "placed_at": "2025-03-01",
        "delivered_at": "2025-03-03",
        "currency": "SAR",
        "payment_method": "card",
        "customer_email": "sara@example.com",
        "customer_phone": "+966500000001",
        "customer_name": "Sara",
        "line_ref": "",
        "sku": "TSB-BLK-M",
        "title_en": "Basic Tee",
        "title_ar": "تيشيرت",
        "quantity": "1",
        "unit_price": "59.00",
        "discount": "",
        "tax_rate": "15",
        "prices_include_tax": "true",
        "shipping_country": "SA",
        "category": "shirts",
        "supplier": "",
        "tags": "",
        "final_sale": "",
    }
    values.update(cells)
    return ",".join(values[c] for c in HEADER.split(","))


@pytest.fixture
def merchant(db: None) -> Merchant:
    from tests import factories

    return factories.merchant()


def test_a_good_file_creates_each_order_with_its_lines_customer_and_products(
    merchant: Merchant, tmp_path: Path
) -> None:
    report = import_orders_csv(
        merchant=merchant, path_or_file=write(tmp_path, [HEADER, *GOOD_ROWS]), progress=False
    )
    assert report.errors == []
    assert (report.rows_read, report.orders_created, report.orders_updated) == (3, 2, 0)

    first = Order.objects.for_merchant(merchant).get(number="1001")
    assert first.placed_at == datetime(2025, 3, 1, 7, 0, tzinfo=UTC)  # 10:00 in Riyadh
    assert first.customer.email == "noura@example.com"
    assert first.customer.name == "نورة القحطاني"
    assert first.shipping_country == "SA"
    lines = {li.line_ref: li for li in OrderLine.objects.filter(order=first)}
    assert set(lines) == {"a", "b"}
    assert (lines["a"].unit_price_minor, lines["a"].title_ar) == (24900, "عباية كلاسيكية")
    assert lines["a"].tax_minor == 3248  # 15% VAT inside 249.00
    assert lines["b"].quantity == 3 and lines["b"].delivered_quantity == 3
    screen = Product.objects.for_merchant(merchant).get(external_id="SCR-15")
    assert screen.final_sale and set(screen.tags) == {"final-sale", "clearance"}
    assert screen.category is not None and screen.category.code == "accessories"

    second = Order.objects.for_merchant(merchant).get(number="1002")
    assert second.payment_method == PaymentMethod.CASH_ON_DELIVERY
    assert second.delivered_at is None
    assert second.customer.phone == "0501112222"
    line = OrderLine.objects.get(order=second)
    assert (line.line_ref, line.quantity, line.discount_minor) == ("1", 2, 5000)
    assert Variant.objects.for_merchant(merchant).filter(sku="EBP-BLK").exists()


def test_importing_the_same_file_again_updates_the_orders(
    merchant: Merchant, tmp_path: Path
) -> None:
    path = write(tmp_path, [HEADER, *GOOD_ROWS])
    import_orders_csv(merchant=merchant, path_or_file=path, progress=False)
    report = import_orders_csv(merchant=merchant, path_or_file=path, progress=False)
    assert (report.orders_created, report.orders_updated, report.errors) == (0, 2, [])
    assert Order.objects.for_merchant(merchant).count() == 2


def test_an_order_with_a_bad_row_is_skipped_whole_and_good_orders_are_kept(
    merchant: Merchant, tmp_path: Path
) -> None:
    lines = [
        HEADER,
        row(order_number="3001"),  # line 2: good
        row(order_number="3002", line_ref="1"),  # line 3: good row of a bad order
        row(order_number="3002", line_ref="2", quantity="1.5"),  # line 4
        row(order_number="3003", placed_at="31/12/2025"),  # line 5
        row(order_number="3004", line_ref="1"),  # line 6: good
        row(order_number="3004", line_ref="2", sku="TSB-WHT-M"),  # line 7: good
    ]
    report = import_orders_csv(merchant=merchant, path_or_file=write(tmp_path, lines))
    assert report.errors == [
        RowError(4, "quantity", "must be a whole number"),
        RowError(5, "placed_at", "not a date; use YYYY-MM-DD or YYYY-MM-DD HH:MM"),
    ]
    assert (report.rows_read, report.orders_created, report.orders_skipped) == (6, 2, 2)
    numbers = set(Order.objects.for_merchant(merchant).values_list("number", flat=True))
    assert numbers == {"3001", "3004"}


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        ({"currency": "XYZ"}, "currency", "unknown currency “XYZ”"),
        ({"unit_price": '"12,5"'}, "unit_price", "not a number"),  # a decimal comma
        ({"unit_price": "-5"}, "unit_price", "can't be negative"),
        ({"unit_price": "10.999"}, "unit_price", "has more decimals than SAR allows (2)"),
        ({"quantity": "0"}, "quantity", "must be at least 1"),
        ({"quantity": "two"}, "quantity", "must be a whole number"),
        ({"quantity": ""}, "quantity", "required"),
        ({"title_en": "", "title_ar": ""}, "title_en", "required"),
        ({"discount": "60.00"}, "discount", "is more than the line's amount"),
        ({"tax_rate": "150"}, "tax_rate", "must be a percentage between 0 and 100"),
        ({"prices_include_tax": "maybe"}, "prices_include_tax", "use true or false"),
        ({"final_sale": "sometimes"}, "final_sale", "use true or false"),
        (
            {"shipping_country": "Saudi"},
            "shipping_country",
            "use a two-letter country code such as SA",
        ),
        ({"customer_email": "not-an-email"}, "customer_email", "not a valid email address"),
        (
            {"customer_email": "", "customer_phone": ""},
            "customer_email",
            "an email or a phone number is required",
        ),
        ({"customer_phone": "12"}, "customer_phone", "not a valid phone number"),
        ({"delivered_at": "2025-02-01"}, "delivered_at", "is before the order was placed"),
        ({"placed_at": "2999-01-01"}, "placed_at", "is in the future"),
        ({"sku": "X" * 81}, "sku", "is longer than 80 characters"),
    ],
)
def test_a_bad_cell_is_reported_with_its_line_column_and_reason(
    merchant: Merchant, tmp_path: Path, cells: dict[str, str], column: str, reason: str
) -> None:
    path = write(tmp_path, [HEADER, row(order_number="4001"), row(order_number="4002", **cells)])
    report = import_orders_csv(merchant=merchant, path_or_file=path)
    assert report.errors == [RowError(3, column, reason)]
    assert list(Order.objects.for_merchant(merchant).values_list("number", flat=True)) == ["4001"]


def test_payment_methods_are_read_with_common_aliases(merchant: Merchant, tmp_path: Path) -> None:
    lines = [
        HEADER,
        row(order_number="5001", payment_method="COD"),
        row(order_number="5002", payment_method="Apple Pay"),
        row(order_number="5003", payment_method="bank-transfer"),
    ]
    report = import_orders_csv(merchant=merchant, path_or_file=write(tmp_path, lines))
    assert report.errors == []
    methods = dict(Order.objects.for_merchant(merchant).values_list("number", "payment_method"))
    assert methods == {"5001": "cash_on_delivery", "5002": "wallet", "5003": "bank_transfer"}


def test_order_level_cells_that_disagree_between_rows_are_reported(
    merchant: Merchant, tmp_path: Path
) -> None:
    lines = [
        HEADER,
        row(order_number="6001", line_ref="1", currency="SAR"),
        row(order_number="6001", line_ref="2", currency="AED"),
    ]
    report = import_orders_csv(merchant=merchant, path_or_file=write(tmp_path, lines))
    assert report.errors == [RowError(3, "currency", "differs from line 2 of the same order")]
    assert not Order.objects.for_merchant(merchant).exists()


def test_a_line_ref_used_twice_in_an_order_is_reported(merchant: Merchant, tmp_path: Path) -> None:
    lines = [
        HEADER,
        row(order_number="6101", line_ref="x"),
        row(order_number="6101", line_ref="x", sku="TSB-WHT-M"),
    ]
    report = import_orders_csv(merchant=merchant, path_or_file=write(tmp_path, lines))
    assert report.errors == [
        RowError(3, "line_ref", "appears twice in this order (also line 2)"),
    ]


def test_a_bom_arabic_text_and_arabic_indic_digits_are_read(
    merchant: Merchant, tmp_path: Path
) -> None:
    lines = [
        HEADER,
        row(
            order_number="٧٠٠١",
            placed_at="٢٠٢٥-٠٣-٠١",
            quantity="٢",
            unit_price="١٬٢٤٩٫٥٠",
            title_ar="عباية ندى – أسود / ٥٤",
            customer_name="ريم الشهري",
            customer_phone="+٩٦٦٥٠٠٠٠٠٠٠٩",
        ),
    ]
    path = write(tmp_path, lines, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    report = import_orders_csv(merchant=merchant, path_or_file=path)
    assert report.errors == []
    order = Order.objects.for_merchant(merchant).get()
    line = order.lines.get()
    assert (line.quantity, line.unit_price_minor) == (2, 124950)
    assert line.title_ar == "عباية ندى – أسود / ٥٤"
    assert order.customer.name == "ريم الشهري"
    assert order.customer.phone == "+966500000009"
    assert order.placed_at.date().isoformat() == "2025-02-28"  # midnight in Riyadh
    assert order.number == "٧٠٠١"  # an order number is an identifier, kept as written


def test_blank_lines_are_skipped_and_still_counted_in_line_numbers(
    merchant: Merchant, tmp_path: Path
) -> None:
    lines = [
        HEADER,
        "",
        row(order_number="8001"),
        "  ,  ,",
        "",
        row(order_number="8002", quantity="x"),
    ]
    report = import_orders_csv(merchant=merchant, path_or_file=write(tmp_path, lines))
    assert report.rows_read == 2
    assert report.errors == [RowError(6, "quantity", "must be a whole number")]


def test_semicolon_separated_files_and_file_objects_are_read(merchant: Merchant) -> None:
    text = "\r\n".join(
        [HEADER.replace(",", ";"), row(order_number="8101", unit_price="59").replace(",", ";")]
    )
    report = import_orders_csv(merchant=merchant, path_or_file=io.BytesIO(text.encode()))
    assert (report.orders_created, report.errors) == (1, [])


def test_a_file_without_required_columns_is_refused_with_one_error_listing_them(
    merchant: Merchant, tmp_path: Path
) -> None:
    header = "order_number,placed_at,currency,title_en"
    path = write(tmp_path, [header, "1,2025-03-01,SAR,Tee"])
    with pytest.raises(ImportFileInvalid) as caught:
        import_orders_csv(merchant=merchant, path_or_file=path)
    missing = ["quantity", "unit_price", "customer_email or customer_phone"]
    assert caught.value.details["missing"] == missing
    assert str(caught.value.message) == f"Missing required columns: {', '.join(missing)}."
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"\n\n  \n", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a text file."),
        ("ملف نصي عادي".encode("cp1256"), "The file is not UTF-8 text."),
        (b"Dear team,\nplease find the orders attached.\n", "is not a header row of known columns"),
    ],
)
def test_a_file_that_is_not_a_csv_of_orders_is_refused_with_a_clear_error(
    merchant: Merchant, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFileInvalid) as caught:
        import_orders_csv(merchant=merchant, path_or_file=path)
    assert message in str(caught.value.message)


def test_a_missing_file_is_refused_with_a_clear_error(merchant: Merchant, tmp_path: Path) -> None:
    with pytest.raises(ImportFileInvalid, match="There is no file at"):
        import_orders_csv(merchant=merchant, path_or_file=tmp_path / "nope.csv")


def test_import_command_prints_a_summary_and_each_bad_row(
    merchant: Merchant, tmp_path: Path
) -> None:
    path = write(
        tmp_path, [HEADER, row(order_number="9001"), row(order_number="9002", quantity="1.5")]
    )
    out = io.StringIO()
    call_command("import", "orders", str(path), "--no-progress", merchant=merchant.slug, stdout=out)
    assert out.getvalue().splitlines() == [
        "2 rows read: 1 orders created, 0 updated, 1 skipped. Rows with problems:",
        "line 3: quantity: must be a whole number",
    ]


def test_import_command_fails_with_status_1_when_the_file_cant_be_read(
    merchant: Merchant, tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(b"\x00\x01\x02")
    with pytest.raises(CommandError) as caught:
        call_command("import", "orders", str(path), "--no-progress", stdout=io.StringIO())
    assert caught.value.returncode == 1
    assert "not a text file" in str(caught.value)


def test_import_command_fails_with_status_1_when_no_order_could_be_imported(
    merchant: Merchant, tmp_path: Path
) -> None:
    path = write(tmp_path, [HEADER, row(quantity="0")])
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import", "orders", str(path), "--no-progress", stdout=out)
    assert caught.value.returncode == 1
    assert "line 2: quantity: must be at least 1" in out.getvalue()
