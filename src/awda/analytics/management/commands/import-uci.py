"""``awda import-uci FILE.parquet --merchant SLUG [--create-merchant]``: load the UCI
"Online Retail" history into a merchant (``awda.analytics.uci``) and refresh its analytics."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from awda.analytics.uci import CURRENCY, UciFileInvalid, import_uci
from awda.merchants.models import Merchant
from awda.merchants.services import create_merchant
from awda.returns.services import install_default_reasons


class Command(BaseCommand):
    help = "Import the UCI Online Retail Parquet file (sales and credit notes) into a merchant."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="path of online_retail.parquet")
        parser.add_argument("--merchant", required=True, help="the merchant's slug")
        parser.add_argument(
            "--create-merchant",
            action="store_true",
            help="create the merchant (GBP, Europe/London) when there is none by that slug",
        )
        parser.add_argument(
            "--no-refresh", action="store_true", help="don't rebuild the analytics afterwards"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["merchant"]
        merchant = Merchant.objects.filter(slug=slug).first()
        if merchant is None:
            if not options["create_merchant"]:
                raise CommandError(f"no merchant {slug!r} (add --create-merchant)", returncode=1)
            merchant = create_merchant(
                slug=slug, name="UCI Online Retail", currency=CURRENCY, country="GB"
            )
            Merchant.objects.filter(pk=merchant.pk).update(
                timezone="Europe/London", default_language="en"
            )
            merchant.refresh_from_db()
            install_default_reasons(merchant=merchant)
        try:
            r = import_uci(
                merchant=merchant, path=options["file"], refresh=not options["no_refresh"]
            )
        except UciFileInvalid as exc:
            raise CommandError(str(exc), returncode=1) from None
        out = self.stdout.write
        out(f"read {r.lines_read:,} lines")
        out(
            f"orders {r.orders:,} with {r.order_lines:,} lines; products {r.products:,}; "
            f"customers {r.customers:,} ({r.guest_customers:,} guests, one per invoice)"
        )
        out(
            f"returns {r.returns:,} with {r.return_items:,} items ({r.units_linked:,} units "
            f"matched to a sale); unlinked lines {r.unlinked_lines:,} ({r.units_unlinked:,} units)"
        )
        if r.invoices_already_imported:
            out(f"skipped {r.invoices_already_imported:,} invoices already imported")
        for quirk, count in sorted(r.quirks.items()):
            out(f"quirk {quirk}: {count:,}")
        if r.non_product_codes:
            codes = ", ".join(f"{c} {n:,}" for c, n in r.non_product_codes.most_common())
            out(f"non-product codes skipped: {codes}")
        s = r.seconds
        rate = r.lines_read / s["total"] if s.get("total") else 0
        out(
            "time: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in s.items())
            + f"; {rate:,.0f} lines/s overall"
        )
