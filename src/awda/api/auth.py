"""API-key authentication: ``Authorization: Bearer awda_<prefix>_<secret>``, one merchant,
and the key's scopes checked once here for every operation (``merchants/scopes.py``)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Schema
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation
from ninja.security import HttpBearer

from awda.merchants.models import Merchant
from awda.merchants.scopes import READ_METHODS, Area, ScopeMissing, allows, needed_scope
from awda.merchants.services import api_key_access


class ApiKeyAuth(HttpBearer):
    """A live key of the merchant; its scopes must cover ``area`` for the request's method
    (GET/HEAD read, anything else writes). Without an area only a full-access key passes."""

    def __init__(self, area: Area | str | None = None) -> None:
        super().__init__()
        self.area = Area(area) if area is not None else None  # a typo fails at import

    def authenticate(self, request: HttpRequest, token: str) -> Merchant | None:
        access = api_key_access(token)
        if access is None:
            return None  # Ninja answers 401
        needed = needed_scope(self.area, request.method or "GET")
        if not allows(access.scopes, needed):
            raise ScopeMissing(needed)  # mapped to 403 with the DomainErrors in app.py
        return access.merchant


def merchant_of(request: HttpRequest) -> Merchant:
    """The merchant the request's API key belongs to (set by ``ApiKeyAuth``)."""
    merchant = request.auth  # type: ignore[attr-defined]
    assert isinstance(merchant, Merchant)
    return merchant


def operation_scope(operation: Operation) -> str | None:
    """The scope an operation needs, or None when no API key guards it."""
    for auth in operation.auth_callbacks:
        if isinstance(auth, ApiKeyAuth):
            reads = all(m.upper() in READ_METHODS for m in operation.methods)
            return needed_scope(auth.area, "GET" if reads else "POST")
    return None


class ScopeMissingOut(Schema):
    """A valid key whose scopes don't cover the operation."""

    code: Literal["scope_missing"]
    message: str
    needed: str


class ScopedOpenAPISchema(OpenAPISchema):
    """Ninja's document, plus what every key-guarded operation needs: its scope in the
    security requirement (OpenAPI 3.1 allows role names for bearer schemes) and the 403."""

    def responses(self, operation: Operation) -> dict[int, Any]:
        result = super().responses(operation)
        scope = operation_scope(operation)
        if scope is not None and 403 not in result:
            self.schemas["ScopeMissingOut"] = ScopeMissingOut.model_json_schema(
                mode="serialization"
            )
            schema = {"$ref": "#/components/schemas/ScopeMissingOut"}
            result[403] = {
                "description": f"`scope_missing`: the API key lacks the scope `{scope}`.",
                "content": {self.api.renderer.media_type: {"schema": schema}},
            }
        return result

    def operation_security(self, operation: Operation) -> list[dict[str, Any]] | None:
        result = super().operation_security(operation)
        scope = operation_scope(operation)
        if result and scope is not None:
            result = [{name: [scope] for name in requirement} for requirement in result]
        return result
