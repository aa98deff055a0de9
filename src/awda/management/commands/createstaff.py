"""``awda createstaff``: give a person a role at a merchant."""

from __future__ import annotations

import getpass
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from awda.merchants.models import Merchant, StaffRole
from awda.merchants.services import add_staff


class Command(BaseCommand):
    help = "Create a staff user (or change their role) at a merchant."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--merchant", required=True, help="the merchant's slug")
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--role", choices=StaffRole.values, default=StaffRole.AGENT)
        parser.add_argument(
            "--password", help="read from the terminal when omitted (safer than argv)"
        )
        parser.add_argument("--superuser", action="store_true", help="also allow Django admin")

    def handle(self, *args: Any, **options: Any) -> None:
        merchant = Merchant.objects.filter(slug=options["merchant"]).first()
        if merchant is None:
            raise CommandError(f"no merchant with slug {options['merchant']!r}")
        password = options["password"] or getpass.getpass("Password: ")
        if len(password) < 8:
            raise CommandError("the password needs at least 8 characters")
        membership = add_staff(
            merchant=merchant,
            username=options["username"],
            email=options["email"],
            password=password,
            role=StaffRole(options["role"]),
            admin_access=options["superuser"],
        )
        self.stdout.write(
            self.style.SUCCESS(f"{options['username']} is now {membership.role} at {merchant.slug}")
        )
