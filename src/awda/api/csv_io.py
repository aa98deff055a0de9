"""/api/v1/export and /api/v1/import: orders, products and returns as CSV files in the
documented templates (docs/csv.md), always the API key's merchant's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from ninja import File, Path, Query, Router, Schema
from ninja.files import UploadedFile
from pydantic import ConfigDict, Field

from awda.api.auth import merchant_of
from awda.core.errors import InvalidInput
from awda.integrations import csvio
from awda.webhooks.schemas import ErrorOut, InvalidInputOut

router = Router(tags=["csv"])

_CSV_200: dict[str, Any] = {
    "responses": {
        200: {
            "description": "a CSV file (UTF-8 with a BOM, comma-separated)",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


class ExportQuery(Schema):
    model_config = ConfigDict(populate_by_name=True)

    # Days in the store's time zone, both included; orders by placed_at, returns by
    # requested_at. Products have no date and ignore them.
    start: date | None = Field(
        default=None, alias="from", ge=date(2000, 1, 1), le=date(2100, 12, 31)
    )
    end: date | None = Field(default=None, alias="to", ge=date(2000, 1, 1), le=date(2100, 12, 31))


class RowErrorOut(Schema):
    row: int  # the line in the file; the header is line 1
    column: str
    reason: str


class ImportReportOut(Schema):
    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[RowErrorOut]


def _csv(rows: Iterator[list[str]], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csvio.csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@router.get(
    "/export/{kind}.csv",
    response={401: ErrorOut, 422: InvalidInputOut},
    summary="Export orders (one row per line), products (one row per SKU) or returns (one row "
    "per item) as CSV",
    openapi_extra=_CSV_200,
)
def export_csv(
    request: HttpRequest,
    kind: Path[Literal["orders", "products", "returns"]],
    q: Query[ExportQuery],
) -> StreamingHttpResponse:
    merchant = merchant_of(request)
    if q.start and q.end and q.end < q.start:
        raise InvalidInput(_("Choose an end on or after the start."), field="to")
    if kind == "orders":
        rows = csvio.export_orders(merchant, start=q.start, end=q.end)
    elif kind == "returns":
        rows = csvio.export_returns(merchant, start=q.start, end=q.end)
    else:
        rows = csvio.export_products(merchant)
    return _csv(rows, f"{merchant.slug}-{kind}.csv")


@router.get(
    "/import/templates/{kind}.csv",
    response={401: ErrorOut, 422: InvalidInputOut},
    summary="The import template of orders or products: the header and one example row",
    openapi_extra=_CSV_200,
)
def import_template(
    request: HttpRequest, kind: Path[Literal["orders", "products"]]
) -> HttpResponse:
    response = HttpResponse(
        "".join(csvio.csv_lines(csvio.template_rows(kind))),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="awda-{kind}-template.csv"'
    return response


@router.post(
    "/import/{kind}",
    response={
        200: ImportReportOut,
        400: ErrorOut,
        401: ErrorOut,
        413: ErrorOut,
        422: InvalidInputOut,
    },
    summary="Import a CSV file of orders or products (multipart field `file`)",
    description="200: the report (rows created, updated, unchanged, rejected; each bad row "
    "with its column and reason; the good rows are imported). 400 `csv_file_invalid`: the "
    "file can't be used as a whole (binary, not UTF-8, not CSV, a header without the required "
    "columns); nothing is imported. 413 `csv_file_too_large`: over 20 MB. 422: no file.",
)
def import_csv(
    request: HttpRequest, kind: Path[Literal["orders", "products"]], file: File[UploadedFile]
) -> ImportReportOut:
    merchant = merchant_of(request)
    if kind == "orders":
        report = csvio.import_orders(merchant, file)
    else:
        report = csvio.import_products(merchant, file)
    return ImportReportOut(
        kind=report.kind,
        rows=report.rows,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=report.rejected,
        errors=[RowErrorOut(row=e.row, column=e.column, reason=e.reason) for e in report.errors],
    )
