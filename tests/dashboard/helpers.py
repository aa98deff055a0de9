"""Staff people and their pages, for the dashboard's tests."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from awda.merchants.models import Merchant, StaffRole
from awda.merchants.services import add_staff

PASSWORD = "station-pass-2026"
_n = iter(range(1, 10_000))


def staff(m: Merchant, role: str = StaffRole.WAREHOUSE, *, username: str = "") -> User:
    membership = add_staff(
        merchant=m,
        username=username or f"{role}-{next(_n)}",
        email="staff@example.com",
        password=PASSWORD,
        role=StaffRole(role),
    )
    return User.objects.get(pk=membership.user_id)


def signed_in(user: User, **options: object) -> Client:
    client = Client(**options)  # type: ignore[arg-type]
    client.force_login(user)
    return client


def scan_url(m: Merchant, lang: str = "en") -> str:
    return f"/{lang}/staff/{m.slug}/warehouse/"


def return_url(m: Merchant, number: str, lang: str = "en") -> str:
    return f"/{lang}/staff/{m.slug}/warehouse/returns/{number}/"


def prefilled(number_of_items: int = 1, **changes: str) -> dict[str, str]:
    """The return page's form as it comes, for items 1..n, with ``changes`` applied."""
    data: dict[str, str] = {"location": ""}
    for n in range(1, number_of_items + 1):
        data.update(
            {
                f"reception-{n}": "received",
                f"qty-{n}": "1",
                f"condition-{n}": "new",
                f"decision-{n}": "accepted",
                f"disposition-{n}": "restock",
                f"note-{n}": "",
            }
        )
    data.update(changes)
    return data
