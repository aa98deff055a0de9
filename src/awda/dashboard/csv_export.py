"""CSV downloads of the staff pages' tables (the audit log, the analytics): exactly the rows
the page shows, as a spreadsheet opens them safely."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence

from django.http import HttpResponse

from awda.core.spreadsheet import guard_cell as csv_cell


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(
    header: Sequence[str], rows: Iterable[Sequence[str]], *, filename: str
) -> HttpResponse:
    """A download of ``header`` and ``rows`` (every cell through ``csv_cell``), UTF-8 with a
    BOM so spreadsheets read Arabic right."""
    writer = csv.writer(_Echo())
    lines = [writer.writerow([csv_cell(h) for h in header])]
    lines += [writer.writerow([csv_cell(str(v)) for v in row]) for row in rows]
    response = HttpResponse("\ufeff" + "".join(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
