"""``awda demo``: ``awda run`` with a realistic bilingual demo store seeded first."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from awda.demo import (
    CARD_REFUND,
    COD_TRANSFER,
    EXCHANGE_ON_DELIVERY,
    STORE_CREDIT,
    WalkthroughOrder,
    prepare_money_walkthroughs,
    seed_demo,
)
from awda.management.commands.run import serve


class Command(BaseCommand):
    help = "Seed the demo store (once), print how to use it, then run Awda."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--orders", type=int, default=2000)
        parser.add_argument(
            "--no-serve", action="store_true", help="seed and print, but don't start the server"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        info = seed_demo(orders=options["orders"])
        walkthroughs = prepare_money_walkthroughs(slug=info.merchant_slug)
        base = f"http://{options['host']}:{options['port']}"
        w = self.stdout.write
        w("")
        w(self.style.SUCCESS("Awda demo store is ready"))
        w(f"  API docs:        {base}/api/v1/docs")
        w(f"  OpenAPI:         {base}/api/v1/openapi.json")
        w(f"  Admin:           {base}/admin/  (user {info.staff_username}, "
          f"password {info.staff_password})")  # fmt: skip
        if info.staff_password:
            w(f"  Staff pages:     {base}/ar/staff/  (or /en/…): user {info.staff_username} "
              f"(owner: support, budgets, policy, analytics) or {info.warehouse_username} "
              f"(the receiving station), password {info.staff_password}")  # fmt: skip
        w(f"  API key:         {info.api_key}")
        w(f"  Try:             curl -H 'Authorization: Bearer {info.api_key}' "
          f"{base}/api/v1/orders/{info.example_order_number}/returnable-lines")  # fmt: skip
        w(f"  Shopper portal:  {base}/ar/r/{info.merchant_slug}/  (or /en/…): order "
          f"{info.example_order_number}, e-mail {info.example_order_email}")  # fmt: skip
        w("  Move a parcel:   awda sandbox advance <tracking number> --to first_scan "
          "(then delivered); the tracking number is on the return's status page")  # fmt: skip
        for line in money_walkthroughs(walkthroughs):
            w(line)
        if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
            w(f"  Mails:           {settings.EMAIL_FILE_PATH} (no AWDA_SMTP_URL set)")
        w(f"  Data directory:  {settings.DATA_DIR}")
        w("")
        if options["no_serve"]:
            return
        sys.exit(
            serve(
                host=options["host"],
                port=options["port"],
                web_workers=options["web_workers"],
                stdout=self.stdout,
            )
        )


def money_walkthroughs(orders: list[WalkthroughOrder]) -> list[str]:
    """The orders to walk docs/demo-money.md with, one per walk-through and language."""
    titles = {
        CARD_REFUND: _("Card refund at the first scan"),
        COD_TRANSFER: _("Cash on delivery, bank transfer"),
        STORE_CREDIT: _("Store credit with a bonus, spent"),
        EXCHANGE_ON_DELIVERY: _("Dearer exchange, paid on delivery"),
    }
    lines = [_("  Money back:      docs/demo-money.md, order and e-mail (Arabic / English):")]
    for kind, title in titles.items():
        ready = [
            o for lang in ("ar", "en") for o in orders if o.kind == kind and o.language == lang
        ]
        shown = " / ".join(f"{o.number} {o.email}" for o in ready)
        # Aligned in a column, and a longer (translated) title still gets a space after it.
        lines.append(f"    {title + ':':<34} {shown}")
    return lines
