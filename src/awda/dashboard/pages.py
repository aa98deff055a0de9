"""What every staff page shares: the language, the store, the page context."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.urls import translate_url
from django.utils.translation import get_language

from awda.core.formatting import FormatOptions
from awda.merchants.branding import storefront
from awda.merchants.models import StaffRole

if TYPE_CHECKING:
    from awda.dashboard.access import Staff


def language() -> str:
    return "ar" if (get_language() or "en").startswith("ar") else "en"


def context(request: HttpRequest, staff: Staff | None = None, **extra: Any) -> dict[str, Any]:
    """The base template's values: language switch, the store and the signed-in person."""
    lang = language()
    links = [
        (code, name, translate_url(request.get_full_path(), code))
        for code, name in (("ar", "العربية"), ("en", "English"))
        if code != lang
    ]
    values: dict[str, Any] = {"lang": lang, "language_links": links, "staff": staff}
    if staff is not None:
        values["store"] = storefront(staff.merchant, lang)
        values["merchant_options"] = FormatOptions.of(staff.merchant)
        values["role_label"] = StaffRole(staff.role).label
    return {**values, **extra}
