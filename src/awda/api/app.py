"""The REST API v1: routers, authentication and the one place errors become responses."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema

from awda.api import (
    analytics,
    csv_io,
    integrations,
    orders,
    payouts,
    policy,
    returns,
    shipping,
    support,
    wallet,
    warehouse,
    webhooks,
)
from awda.api.auth import ApiKeyAuth, ScopedOpenAPISchema
from awda.api.parser import AwdaParser
from awda.core.errors import DomainError
from awda.core.validation import reason
from awda.merchants.scopes import Area
from awda.policies.document import PolicyInvalid
from awda.shipping.carriers.base import CarrierError

log = logging.getLogger(__name__)


class AwdaApi(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        # Ninja's document plus each operation's key scope and its 403 (api/auth.py).
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return ScopedOpenAPISchema(self, path_prefix)


api = AwdaApi(
    title="Awda API",
    version="1",
    description="Returns, policies and orders of one merchant (the API key's).",
    # Operations no area claims (CSV import and export) need a full-access key.
    auth=ApiKeyAuth(),
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
    parser=AwdaParser(),
)
# Each router is one area of the key scopes (merchants/scopes.py): GET and HEAD need
# `<area>:read`, every other method `<area>:write`.
api.add_router("/orders", orders.router, auth=ApiKeyAuth(Area.ORDERS))
api.add_router("/returns", returns.router, auth=ApiKeyAuth(Area.RETURNS))
api.add_router("/", policy.router, auth=ApiKeyAuth(Area.POLICY))
api.add_router("/", shipping.router, auth=ApiKeyAuth(Area.SHIPPING))
api.add_router("/", wallet.router, auth=ApiKeyAuth(Area.MONEY))
api.add_router("/", payouts.router, auth=ApiKeyAuth(Area.MONEY))
api.add_router("/", warehouse.router, auth=ApiKeyAuth(Area.WAREHOUSE))
api.add_router("/", integrations.router, auth=ApiKeyAuth(Area.INTEGRATIONS))
api.add_router("/", webhooks.router, auth=ApiKeyAuth(Area.WEBHOOKS))
api.add_router("/", support.router, auth=ApiKeyAuth(Area.SUPPORT))
api.add_router("/analytics", analytics.router, auth=ApiKeyAuth(Area.ANALYTICS))
api.add_router("/", csv_io.router)


def _error(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
    return api.create_response(request, body, status=status)


def _field(loc: Any) -> str:
    parts = [str(p) for p in (loc or [])]
    # Ninja prefixes the location with where the value came from and the parameter name.
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[2:] if len(parts) > 2 and parts[0] == "body" else parts[1:]
    return ".".join(parts) or "(body)"


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [{"field": _field(e.get("loc")), "reason": reason(e)} for e in exc.errors]
    return _error(
        request,
        422,
        {"code": "invalid_input", "message": _("Some fields are not valid."), "errors": errors},
    )


@api.exception_handler(PolicyInvalid)
def on_policy_invalid(request: HttpRequest, exc: PolicyInvalid) -> HttpResponse:
    errors = [{"field": e.field, "reason": e.reason} for e in exc.errors]
    return _error(
        request,
        422,
        {"code": "invalid_policy", "message": _("The policy is not valid."), "errors": errors},
    )


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, exc.status, exc.as_dict())


@api.exception_handler(CarrierError)
def on_carrier_error(request: HttpRequest, exc: CarrierError) -> HttpResponse:
    # The carrier's own words are for staff: they say what to fix (an address, an account).
    return _error(
        request,
        502,
        {
            "code": "carrier_error",
            "message": _("The carrier did not accept the request: %(reason)s")
            % {"reason": exc.message},
            "retryable": exc.retryable,
        },
    )


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(
        request,
        401,
        {"code": "unauthorized", "message": _("A valid API key is required (Bearer token).")},
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, ValidationError):
        # Ninja wraps whatever the body parser raised; ours names the field and the reason.
        return on_validation_error(request, exc.__cause__)
    return _error(request, exc.status_code, {"code": "http_error", "message": str(exc)})


@api.exception_handler(MultiPartParserError)
def on_unreadable_form(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    # A multipart body Django can't read (a broken boundary, oversized part headers): the
    # client's mistake, answered like Django's own views answer it, with a 400.
    return _error(
        request,
        400,
        {
            "code": "invalid_body",
            "message": _("The uploaded form could not be read: send it as multipart/form-data."),
            "field": "body",
        },
    )


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A bug, not a user error: logged with its traceback, answered without internals.
    log.exception("unhandled error in %s %s", request.method, request.path)
    return _error(
        request,
        500,
        {"code": "internal_error", "message": _("Something went wrong on our side.")},
    )
