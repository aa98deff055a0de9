"""``awda import orders FILE.csv``: import data from a file into one merchant.

Exit status: 0 when the file was read and orders were imported (bad rows are listed);
1 when the file couldn't be used at all or not a single order in it could be imported.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from awda.merchants.models import Merchant
from awda.orders.importer import ImportFileInvalid, ImportReport, import_orders_csv


class Command(BaseCommand):
    help = "Import data from a file, e.g. `awda import orders FILE.csv`."

    def add_arguments(self, parser: ArgumentParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
        orders = kinds.add_parser(
            "orders",
            help="orders from a CSV file with one row per order line",
            description="Import orders from a CSV file with one row per order line. "
            "Orders with a bad row are skipped and each bad row is listed; "
            "the other orders are imported.",
        )
        orders.add_argument("file", help="path of the CSV file (UTF-8)")
        orders.add_argument(
            "--merchant", help="the merchant's slug (needed when there is more than one)"
        )
        orders.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["kind"] == "orders":
            self._orders(options)

    def _orders(self, options: dict[str, Any]) -> None:
        merchant = _merchant(options.get("merchant"))
        try:
            report = import_orders_csv(
                merchant=merchant,
                path_or_file=options["file"],
                progress=not options.get("no_progress", False),
            )
        except ImportFileInvalid as exc:
            raise CommandError(str(exc.message), returncode=1) from None
        self.stdout.write(_summary(report))
        for error in report.errors:
            self.stdout.write(str(error))
        if report.errors and not report.orders_imported:
            raise CommandError(_("No orders were imported."), returncode=1)


def _merchant(slug: str | None) -> Merchant:
    if slug:
        merchant = Merchant.objects.filter(slug=slug).first()
        if merchant is None:
            raise CommandError(_("There is no merchant “%(slug)s”.") % {"slug": slug})
        return merchant
    merchants = list(Merchant.objects.order_by("pk")[:2])
    if not merchants:
        raise CommandError(_("There is no merchant yet. Create one first (or run `awda demo`)."))
    if len(merchants) > 1:
        raise CommandError(_("There is more than one merchant: choose one with --merchant SLUG."))
    return merchants[0]


def _summary(report: ImportReport) -> str:
    text = _(
        "%(rows)s rows read: %(created)s orders created, %(updated)s updated, %(skipped)s skipped."
    ) % {
        "rows": report.rows_read,
        "created": report.orders_created,
        "updated": report.orders_updated,
        "skipped": report.orders_skipped,
    }
    if report.errors:
        text += " " + _("Rows with problems:")
    return text
