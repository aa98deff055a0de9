"""The public policy page and the embeddable badge, generated from the active policy."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def policy_page(request: HttpRequest, store: str) -> HttpResponse:
    raise Http404("not built yet")


def badge_js(request: HttpRequest, store: str) -> HttpResponse:
    raise Http404("not built yet")
