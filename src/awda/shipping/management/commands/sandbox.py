"""``awda sandbox advance TRACKING --to STATUS``: first_scan, in_transit, out_for_delivery,
delivered or exception.

Moves a parcel of the offline ``sandbox`` carrier on: the sandbox signs a tracking webhook
and it takes the same path in as a real carrier's (verified, stored, processed), so the
return, its status page and the shopper's e-mails follow as they would in production.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from awda.core.errors import NotFound
from awda.shipping.carriers.base import TrackingStatus
from awda.shipping.services import advance_sandbox_parcel

STEPS = [s.value for s in TrackingStatus if s is not TrackingStatus.LABEL_CREATED]


class Command(BaseCommand):
    help = "Move a sandbox parcel to its next tracking status (as the carrier's webhook would)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        advance = sub.add_parser("advance", help="send the parcel's next tracking event")
        advance.add_argument("tracking_number")
        advance.add_argument("--to", required=True, choices=STEPS, dest="status")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            receipt = advance_sandbox_parcel(
                tracking_number=options["tracking_number"], to=TrackingStatus(options["status"])
            )
        except NotFound:
            raise CommandError(
                f"no sandbox parcel with tracking number {options['tracking_number']!r}"
            ) from None
        if receipt.http_status >= 400:
            raise CommandError(f"the webhook was refused: {receipt.code} {receipt.detail}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{options['tracking_number']} → {options['status']} ({receipt.code})"
            )
        )
