"""Distances for "drop-off points near you": great-circle kilometres from the shopper.

A shopper's address rarely has coordinates, so the city stands in for it: the centres of
the region's larger cities (public geographic facts, rounded to about a kilometre) under
their English and Arabic names. A point's own coordinates come from its carrier or the
merchant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from awda.orders.rules import normalise_city

EARTH_RADIUS_KM = 6371.0088

# (English name, Arabic name, latitude, longitude)
_CITIES: tuple[tuple[str, str, float, float], ...] = (
    ("Riyadh", "الرياض", 24.713, 46.675),
    ("Jeddah", "جدة", 21.543, 39.173),
    ("Mecca", "مكة المكرمة", 21.389, 39.858),
    ("Medina", "المدينة المنورة", 24.470, 39.611),
    ("Dammam", "الدمام", 26.392, 49.978),
    ("Khobar", "الخبر", 26.217, 50.197),
    ("Dhahran", "الظهران", 26.288, 50.114),
    ("Taif", "الطائف", 21.270, 40.416),
    ("Tabuk", "تبوك", 28.383, 36.567),
    ("Abha", "أبها", 18.216, 42.505),
    ("Khamis Mushait", "خميس مشيط", 18.300, 42.729),
    ("Buraidah", "بريدة", 26.326, 43.975),
    ("Hail", "حائل", 27.512, 41.691),
    ("Jazan", "جازان", 16.889, 42.551),
    ("Najran", "نجران", 17.565, 44.228),
    ("Al Ahsa", "الأحساء", 25.383, 49.587),
    ("Jubail", "الجبيل", 27.011, 49.658),
    ("Yanbu", "ينبع", 24.089, 38.064),
    ("Dubai", "دبي", 25.205, 55.271),
    ("Abu Dhabi", "أبوظبي", 24.454, 54.377),
    ("Sharjah", "الشارقة", 25.346, 55.421),
    ("Ajman", "عجمان", 25.405, 55.513),
    ("Al Ain", "العين", 24.207, 55.745),
    ("Kuwait City", "مدينة الكويت", 29.376, 47.977),
    ("Salmiya", "السالمية", 29.334, 48.076),
    ("Hawalli", "حولي", 29.333, 48.029),
    ("Doha", "الدوحة", 25.285, 51.531),
    ("Manama", "المنامة", 26.228, 50.586),
    ("Muscat", "مسقط", 23.588, 58.383),
    ("Salalah", "صلالة", 17.019, 54.089),
    ("Amman", "عمّان", 31.954, 35.911),
    ("Irbid", "إربد", 32.556, 35.850),
    ("Cairo", "القاهرة", 30.044, 31.236),
    ("Giza", "الجيزة", 30.013, 31.209),
    ("Alexandria", "الإسكندرية", 31.200, 29.919),
)

CITY_CENTRES: Mapping[str, tuple[float, float]] = {
    normalise_city(name): (lat, lng) for en, ar, lat, lng in _CITIES for name in (en, ar)
}


def city_centre(city: str) -> tuple[float, float] | None:
    return CITY_CENTRES.get(normalise_city(city))


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine) between two (latitude, longitude) pairs."""
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))
