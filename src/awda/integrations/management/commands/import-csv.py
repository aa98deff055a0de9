"""``awda import-csv --merchant SLUG --kind orders|products FILE``: import a CSV file in the
documented template (docs/csv.md) into one merchant and print the report.

Exit status: 0 when the file was read (bad rows are listed, the good ones imported); 1 when
the file couldn't be used at all (nothing imported) or every row was rejected.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from awda.integrations import csvio
from awda.merchants.models import Merchant


class Command(BaseCommand):
    help = "Import orders or products from a CSV file in Awda's template (docs/csv.md)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="path of the CSV file (UTF-8, comma or semicolon)")
        parser.add_argument("--merchant", required=True, help="the merchant's slug")
        parser.add_argument("--kind", required=True, choices=csvio.IMPORT_KINDS)

    def handle(self, *args: Any, **options: Any) -> None:
        merchant = Merchant.objects.filter(slug=options["merchant"]).first()
        if merchant is None:
            raise CommandError(
                _("There is no merchant “%(slug)s”.") % {"slug": options["merchant"]},
                returncode=1,
            )
        importer = csvio.import_orders if options["kind"] == "orders" else csvio.import_products
        try:
            with Path(options["file"]).open("rb") as stream:
                report = importer(merchant, stream)
        except OSError as exc:
            raise CommandError(
                _("The file could not be opened: %(error)s.") % {"error": exc.strerror or exc},
                returncode=1,
            ) from None
        except (csvio.CsvFileInvalid, csvio.CsvFileTooLarge) as exc:
            raise CommandError(str(exc.message), returncode=1) from None
        self.stdout.write(
            _(
                "%(rows)s rows: %(created)s created, %(updated)s updated, "
                "%(unchanged)s unchanged, %(rejected)s rejected."
            )
            % {
                "rows": report.rows,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": report.rejected,
            }
        )
        for error in report.errors:
            self.stdout.write(
                _("line %(line)s: %(column)s: %(reason)s")
                % {"line": error.row, "column": error.column, "reason": error.reason}
            )
        if report.rows and report.rejected == report.rows:
            raise CommandError(_("Nothing was imported."), returncode=1)
