"""Shipping use cases (the only code that writes shipping tables)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from django.db import transaction

from awda.merchants.models import Merchant
from awda.shipping.models import DropOffPoint


@dataclass(frozen=True)
class DropOffPointData:
    carrier: str
    code: str
    name_en: str
    address_en: str
    city_en: str
    country: str
    name_ar: str = ""
    address_ar: str = ""
    city_ar: str = ""
    hours_en: str = ""
    hours_ar: str = ""


def save_drop_off_points(*, merchant: Merchant, points: Sequence[DropOffPointData]) -> int:
    """Create or update points by (carrier, code); returns how many were new."""
    created = 0
    with transaction.atomic():
        for point in points:
            fields = asdict(point)
            carrier, code = fields.pop("carrier"), fields.pop("code")
            fields["country"] = fields["country"].upper()
            _row, new = DropOffPoint.objects.update_or_create(
                merchant=merchant, carrier=carrier, code=code, defaults={**fields, "active": True}
            )
            created += new
    return created
