"""Refusing NUL characters in paths and query strings before any view or query sees them."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _


class RejectNulMiddleware:
    """PostgreSQL can't compare text with NUL in it; no real URL contains one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()
        ):
            return JsonResponse(
                {
                    "code": "invalid_input",
                    "message": _("The address contains a character that isn't allowed."),
                },
                status=400,
            )
        return self.get_response(request)
