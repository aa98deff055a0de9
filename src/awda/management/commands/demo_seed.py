"""``awda demo_seed``: build the bilingual demo store (once) and print how to use it."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from awda.demo import DemoInfo, seed_demo


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ArgumentTypeError(_("must be a whole number")) from None
    if value < 1:
        raise ArgumentTypeError(_("must be at least 1"))
    return value


class Command(BaseCommand):
    help = "Seed the demo store 'demo' (catalog, customers, orders, returns) unless it exists."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--orders", type=_positive, default=2000, help="orders to create")
        parser.add_argument(
            "--seed", type=int, default=7, help="random seed (same seed, same store)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handle(self, *args: Any, **options: Any) -> None:
        info = seed_demo(
            orders=options["orders"], seed=options["seed"], progress=not options["no_progress"]
        )
        for line in summary(info):
            self.stdout.write(line)


def summary(info: DemoInfo) -> list[str]:
    """The demo's facts as lines for a terminal."""
    if info.created:
        headline = _("Demo store “%(slug)s” created in %(seconds).1f s.") % {
            "slug": info.merchant_slug,
            "seconds": info.seconds,
        }
    else:
        headline = _("Demo store “%(slug)s” already exists; nothing was added.") % {
            "slug": info.merchant_slug
        }
    statuses = ", ".join(f"{status} {n}" for status, n in info.returns_by_status.items())
    lines = [
        headline,
        _(
            "  %(products)s products (%(variants)s variants), %(customers)s customers, "
            "%(orders)s orders, %(returns)s returns"
        )
        % {
            "products": info.products,
            "variants": info.variants,
            "customers": info.customers,
            "orders": info.orders,
            "returns": info.returns,
        }
        + (f" ({statuses})" if statuses else ""),
    ]
    if info.staff_password:
        lines.append(
            _("  Staff login:    %(user)s / %(password)s")
            % {"user": info.staff_username, "password": info.staff_password}
        )
        lines.append(
            _("  Warehouse:      %(user)s / %(password)s (/en/staff/%(store)s/warehouse/)")
            % {
                "user": info.warehouse_username,
                "password": info.staff_password,
                "store": info.merchant_slug,
            }
        )
    else:
        lines.append(
            _("  Staff login:    %(user)s (existing user; password unchanged)")
            % {"user": info.staff_username}
        )
    lines.append(_("  API key:        %(key)s  (shown once)") % {"key": info.api_key})
    if info.example_order_number:
        lines.append(
            _("  Try a return:   order %(number)s with %(email)s or %(phone)s")
            % {
                "number": info.example_order_number,
                "email": info.example_order_email,
                "phone": info.example_order_phone,
            }
        )
    return lines
