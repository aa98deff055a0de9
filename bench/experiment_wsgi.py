"""WSGI entry point for ``bench/run`` experiments: the app plus in-process caches (bench only).

The caches stand in for changes proposed in bench/README.md; they are deliberately simple
(time-to-live, no invalidation) because they only exist to measure what such a change buys.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "experiment_settings")

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve


class WebhookShortcutMiddleware:
    """Experiment ``hooks_middleware``: a lean middleware stack for carrier webhooks.

    Defined before ``get_wsgi_application()`` below, which loads the middleware (and so
    imports this very module by name, half-initialised). Stands in for what the app could do
    with a path-dispatching WSGI entry point or a middleware of its own: a request under
    /hooks/carriers/ goes to its view at once, the rest of the stack only runs for others.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/hooks/carriers/"):
            try:
                match = resolve(request.path_info)
            except Resolver404:
                return self.get_response(request)
            response: HttpResponse = match.func(request, *match.args, **match.kwargs)
            return response
        return self.get_response(request)


application = get_wsgi_application()
EXPERIMENTS: set[str] = getattr(settings, "EXPERIMENTS", set())


def _ttl_cache(fn: Callable[..., Any], key: Callable[..., Any], ttl: float) -> Callable[..., Any]:
    cache: dict[Any, tuple[float, Any]] = {}

    def cached(*args: Any, **kwargs: Any) -> Any:
        k = key(*args, **kwargs)
        hit = cache.get(k)
        now = time.monotonic()
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        value = fn(*args, **kwargs)
        cache[k] = (now, value)
        return value

    return cached


if "cache_auth" in EXPERIMENTS:
    # API key -> merchant and scopes kept 60 s per process (a revoked key keeps working
    # that long).
    from awda.api import auth

    auth.api_key_access = _ttl_cache(  # type: ignore[assignment]
        auth.api_key_access, key=lambda token: token, ttl=60
    )

if "cache_policy" in EXPERIMENTS:
    # The active policy's (version, document, compiled) kept 5 s per merchant, instead of a
    # query per request (a new policy takes effect within 5 s).
    from awda.policies import selectors as policy_selectors

    policy_selectors._active = _ttl_cache(  # type: ignore[assignment]
        policy_selectors._active, key=lambda merchant: merchant.pk, ttl=5
    )

if "cache_explain" in EXPERIMENTS:
    # A line's sentences depend only on its explanations (code + params) and the language:
    # memoise them instead of formatting dates and amounts with Babel on every request.
    from awda.policies import explain as explain_module
    from awda.returns import selectors as returns_selectors

    class _Decision:
        __slots__ = ("reasons",)

        def __init__(self, reasons: tuple[Any, ...]) -> None:
            self.reasons = reasons

    _reasons_by_key: dict[Any, tuple[Any, ...]] = {}

    @lru_cache(maxsize=8192)
    def _sentences(key: Any, lang: str) -> tuple[str, ...]:
        return tuple(explain_module.explain(_Decision(_reasons_by_key[key]), lang))  # type: ignore[arg-type]

    def explain_both(decision: Any) -> dict[str, list[str]]:
        key = tuple(
            (e.code, tuple(sorted((k, repr(v)) for k, v in e.params.items())))
            for e in decision.reasons
        )
        _reasons_by_key.setdefault(key, decision.reasons)
        return {lang: list(_sentences(key, lang)) for lang in explain_module.LANGUAGES}

    returns_selectors.explain_both = explain_both  # type: ignore[assignment]
