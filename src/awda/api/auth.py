"""API-key authentication: ``Authorization: Bearer awda_<prefix>_<secret>``, one merchant."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from awda.merchants.models import Merchant
from awda.merchants.services import authenticate_api_key


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Merchant | None:
        return authenticate_api_key(token)


def merchant_of(request: HttpRequest) -> Merchant:
    """The merchant the request's API key belongs to (set by ``ApiKeyAuth``)."""
    merchant = request.auth  # type: ignore[attr-defined]
    assert isinstance(merchant, Merchant)
    return merchant
