"""Reads of shipping data, scoped to one merchant."""

from __future__ import annotations

from awda.merchants.models import Merchant
from awda.orders.rules import normalise_city
from awda.shipping.models import DropOffPoint


def nearby_drop_off_points(
    *, merchant: Merchant, country: str, city: str, limit: int = 5
) -> list[DropOffPoint]:
    """Active points in the shopper's city (its English or Arabic name), else in the
    country; the first ``limit`` by name."""
    points = list(
        DropOffPoint.objects.for_merchant(merchant)
        .filter(active=True, country=country.upper())
        .order_by("name_en", "pk")
    )
    wanted = normalise_city(city) or None  # no city: no point matches one
    in_city = [
        p
        for p in points
        if wanted and wanted in {normalise_city(p.city_en), normalise_city(p.city_ar)}
    ]
    return (in_city or points)[:limit]
