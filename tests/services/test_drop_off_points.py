"""Drop-off points near the shopper: by city in either language, else the country."""

from __future__ import annotations

import pytest
from django.test import Client

from awda.orders.rules import normalise_city
from awda.shipping.models import DropOffPoint
from awda.shipping.selectors import nearby_drop_off_points
from awda.shipping.services import DropOffPointData, save_drop_off_points
from tests import factories

pytestmark = pytest.mark.django_db


def _points(merchant) -> None:
    save_drop_off_points(
        merchant=merchant,
        points=[
            DropOffPointData("sandbox", "RUH-1", "Olaya kiosk", "1 Olaya St", "Riyadh", "sa",
                             name_ar="كشك العليا", city_ar="الرياض"),
            DropOffPointData("sandbox", "JED-1", "Tahlia locker", "2 Tahlia St", "Jeddah", "SA",
                             city_ar="جدة"),
            DropOffPointData("sandbox", "KWI-1", "Salmiya shop", "3 Salem St", "Salmiya", "KW"),
        ],
    )  # fmt: skip


def test_city_names_compare_without_case_spaces_tashkeel_or_the_article() -> None:
    assert normalise_city(" Riyadh ") == normalise_city("riyadh")
    assert normalise_city("الرِّياض") == normalise_city("رياض") == normalise_city("الرياض")
    assert normalise_city("") == ""


def test_points_in_the_shoppers_city_come_first_in_either_language_else_the_country() -> None:
    m = factories.merchant()
    _points(m)
    by_ar = nearby_drop_off_points(merchant=m, country="SA", city="الرياض")
    by_en = nearby_drop_off_points(merchant=m, country="sa", city="riyadh")
    assert [p.code for p in by_ar] == [p.code for p in by_en] == ["RUH-1"]
    elsewhere = nearby_drop_off_points(merchant=m, country="SA", city="Abha")
    assert {p.code for p in elsewhere} == {"RUH-1", "JED-1"}
    assert nearby_drop_off_points(merchant=m, country="EG", city="Cairo") == []


def test_points_are_the_merchants_own_and_inactive_ones_are_hidden() -> None:
    m, other = factories.merchant(), factories.merchant()
    _points(m)
    assert nearby_drop_off_points(merchant=other, country="SA", city="Riyadh") == []
    DropOffPoint.objects.filter(merchant=m, code="RUH-1").update(active=False)
    assert [p.code for p in nearby_drop_off_points(merchant=m, country="SA", city="Riyadh")] == [
        "JED-1"
    ]
    # Saving again updates in place and switches the point back on.
    assert (
        save_drop_off_points(
            merchant=m,
            points=[DropOffPointData("sandbox", "RUH-1", "Olaya", "1 Olaya St", "Riyadh", "SA")],
        )
        == 0
    )
    assert DropOffPoint.objects.get(merchant=m, code="RUH-1").active


def test_the_portal_lists_the_points_near_the_order_for_a_qr_drop_off() -> None:
    m = factories.merchant()
    _points(m)
    o = factories.order(m)
    o.shipping_address = {"city": "الرياض"}
    o.save(update_fields=["shipping_address"])
    c = Client(HTTP_HOST="127.0.0.1")
    base = f"/ar/r/{m.slug}/"
    c.post(base, {"order_number": o.number, "contact": "shopper@example.com"})
    c.post(f"{base}orders/{o.number}/", {"sel-1": "on", "qty-1": "1", "reason-1": "too_small"})
    c.post(f"{base}orders/{o.number}/resolution/", {"resolution": "store_credit"})
    html = c.get(f"{base}orders/{o.number}/method/").content.decode()
    assert 'id="drop-off-points"' in html and "كشك العليا" in html
    assert "Tahlia" not in html


def test_points_are_ranked_by_distance_from_the_shoppers_city_or_coordinates() -> None:
    from decimal import Decimal

    from awda.shipping.geo import city_centre, distance_km

    m = factories.merchant()
    save_drop_off_points(
        merchant=m,
        points=[
            # Olaya (central Riyadh) and a point on the city's northern edge.
            DropOffPointData("sandbox", "OLAYA", "Olaya", "Olaya St", "Riyadh", "SA",
                             latitude=Decimal("24.6950"), longitude=Decimal("46.6850")),
            DropOffPointData("sandbox", "NORTH", "North", "King Salman Rd", "Riyadh", "SA",
                             latitude=Decimal("24.8600"), longitude=Decimal("46.6400")),
            DropOffPointData("sandbox", "NOLOC", "No coordinates", "Somewhere", "Riyadh", "SA"),
        ],
    )  # fmt: skip

    from_centre = nearby_drop_off_points(merchant=m, country="SA", city="الرياض")
    from_north = nearby_drop_off_points(
        merchant=m, country="SA", city="Riyadh", near=(24.87, 46.63)
    )

    assert [p.code for p in from_centre] == ["OLAYA", "NORTH", "NOLOC"]
    assert [p.code for p in from_north] == ["NORTH", "OLAYA", "NOLOC"]
    assert 1.5 < from_centre[0].distance_km < 3 and from_centre[2].distance_km is None
    # Riyadh to Jeddah is about 850 km as the crow flies.
    assert 840 < distance_km(city_centre("Riyadh"), city_centre("jeddah")) < 860
