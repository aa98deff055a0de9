"""Vendor batches over the API: listed, closed, and their packing list as a PDF that parses,
lists the SKUs and carries the batch's reference as a Code128 barcode; another merchant's
batch is not found. Every stock move is announced (StockMoved) once."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest
import zxingcpp

from awda.core.models import Event
from awda.payments.gateways import sandbox as sandbox_gateway
from awda.warehouse.packing_list import PackingLine, PackingList, render_packing_list
from awda.warehouse.services import ItemCheck, dispose, receive_and_inspect
from tests import factories
from tests.warehouse import helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox_gateway.reset_sandbox()
    yield
    sandbox_gateway.reset_sandbox()


def _to_vendor(m, sku: str) -> int:
    ret = h.a_return(m, sku=sku)
    receive_and_inspect(
        merchant=m, code_or_number=ret.number, actor="s",
        items=[ItemCheck("1", condition="defective", decision="accepted", disposition="")],
    )  # fmt: skip
    disposal = dispose(
        merchant=m, number=ret.number, line_ref="1", disposition="return_to_vendor", actor="s"
    )
    assert disposal.batch is not None
    return disposal.batch.pk


def _pages(pdf: bytes) -> list[pdfium.PdfPage]:
    return list(pdfium.PdfDocument(pdf))


def _text(pdf: bytes) -> str:
    return "\n".join(page.get_textpage().get_text_range() for page in _pages(pdf))


def _barcodes(pdf: bytes) -> set[tuple[str, str]]:
    image = _pages(pdf)[0].render(scale=300 / 72).to_pil()
    return {(str(code.format), code.text) for code in zxingcpp.read_barcodes(image)}


def test_the_packing_list_lists_the_batch_and_carries_its_reference_as_a_barcode():
    m = h.merchant()
    batch_id = _to_vendor(m, "TEE-RED-M")
    assert _to_vendor(m, "MUG-BLUE") == batch_id
    api = factories.ApiClient(factories.api_key(m))

    listed = api.get("/warehouse/vendor-batches")
    assert listed.status_code == 200
    [row] = listed.json()
    assert row["id"] == batch_id and row["status"] == "open"
    assert (row["items"], row["units"], row["supplier_code"]) == (2, 2, "acme")

    response = api.get(f"/warehouse/vendor-batches/{batch_id}/packing-list.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = response.content
    text = _text(pdf)
    reference = row["reference"]
    assert "TEE-RED-M" in text and "MUG-BLUE" in text and reference in text
    assert "Total: 2 items, 2 units" in text and "defective" in text
    assert "قائمة التعبئة" in text  # Arabic shaped, read back in logical order
    assert ("Code 128", reference) in _barcodes(pdf)

    closed = api.post(f"/warehouse/vendor-batches/{batch_id}/close", {})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert api.post(f"/warehouse/vendor-batches/{batch_id}/close", {}).status_code == 200
    assert api.get("/warehouse/vendor-batches?status=open").json() == []


def test_another_merchants_batch_is_not_found():
    m, other = h.merchant(), h.merchant()
    batch_id = _to_vendor(m, "TEE-RED-M")
    api = factories.ApiClient(factories.api_key(other))

    assert api.get(f"/warehouse/vendor-batches/{batch_id}/packing-list.pdf").status_code == 404
    assert api.post(f"/warehouse/vendor-batches/{batch_id}/close", {}).status_code == 404
    assert api.get("/warehouse/vendor-batches").json() == []


def test_a_long_packing_list_runs_over_pages_with_the_totals_at_the_end():
    import datetime

    lines = tuple(
        PackingLine(f"SKU-{i:03d}", f"Item {i}", f"منتج {i}", 1, "defective", "R-AAAA-22", "size")
        for i in range(60)
    )
    data = PackingList(
        reference="VB-000001", status="open", created_on=datetime.date(2026, 11, 24),
        closed_on=None, merchant_name="Store", merchant_name_ar="متجر",
        merchant_address=("King Fahd Road", "Riyadh", "SA"), supplier_name="Acme",
        supplier_code="acme", lines=lines,
    )  # fmt: skip
    pdf = render_packing_list(data)
    assert len(_pages(pdf)) > 1
    text = _text(pdf)
    assert all(f"SKU-{i:03d}" in text for i in range(60))
    assert "Total: 60 items, 60 units" in _pages(pdf)[-1].get_textpage().get_text_range()


def test_every_stock_move_is_announced_once_with_the_new_level():
    m = h.merchant()
    ret = h.a_return(m, sku="TEE-M")
    receive_and_inspect(merchant=m, code_or_number=ret.number, actor="s")  # accepted, restocked
    dispose(merchant=m, number=ret.number, line_ref="1", disposition="restock", actor="s")

    [moved] = Event.objects.filter(name="StockMoved")
    [move] = h.moves("TEE-M")
    assert moved.merchant_id == m.pk
    assert moved.payload == {
        "move_id": move.pk,
        "variant_id": move.variant_id,
        "sku": "TEE-M",
        "location_id": move.location_id,
        "location": "main",
        "quantity": 1,
        "on_hand_after": move.on_hand_after,
        "reason": "restock",
        "reference": f"{ret.number}/1",
    }
