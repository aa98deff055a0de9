"""What every portal page shares: the store from the URL, the language, the page context."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import translate_url
from django.utils.translation import get_language

from awda.core.formatting import FormatOptions
from awda.merchants.branding import storefront
from awda.merchants.models import Merchant
from awda.merchants.services import merchant_by_slug

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, Merchant, P], HttpResponse]


def language() -> str:
    return "ar" if (get_language() or "en").startswith("ar") else "en"


def context(request: HttpRequest, merchant: Merchant, **extra: Any) -> dict[str, Any]:
    lang = language()
    links = [
        (code, name, translate_url(request.get_full_path(), code))
        for code, name in (("ar", "العربية"), ("en", "English"))
        if code != lang
    ]
    return {
        "store": storefront(merchant, lang),
        "language_links": links,
        "lang": lang,
        "merchant_options": FormatOptions.of(merchant),
        **extra,
    }


def store_page(view: View[P]) -> Callable[Concatenate[HttpRequest, str, P], HttpResponse]:
    """Resolve ``<store>`` from the URL to its merchant, or a 404."""

    @wraps(view)
    def wrapper(
        request: HttpRequest, store: str, *args: P.args, **kwargs: P.kwargs
    ) -> HttpResponse:
        merchant = merchant_by_slug(store)
        if merchant is None:
            raise Http404("no such store")
        return view(request, merchant, *args, **kwargs)

    return wrapper


def too_many(request: HttpRequest, merchant: Merchant, retry_after: timedelta) -> HttpResponse:
    minutes = max(1, int(retry_after.total_seconds() // 60) + 1)
    response = render(
        request,
        "portal/too_many.html",
        context(request, merchant, minutes=minutes),
        status=429,
    )
    response["Retry-After"] = str(int(retry_after.total_seconds()) + 1)
    return response
