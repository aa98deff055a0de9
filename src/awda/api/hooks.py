"""Inbound webhooks from carriers and payment gateways: plain views, since each provider
posts its own format and needs only a status code back, fast (a provider retries, or
disables the hook, when slow)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from awda.integrations.services import receive_store_webhook
from awda.payments.services import receive_gateway_webhook
from awda.shipping.services import receive_carrier_webhook

# A tracking or payment event is a few KB; anything far larger is not one of ours.
MAX_BODY = 256 * 1024


def _headers(meta: Mapping[str, Any]) -> dict[str, str]:
    """The request's headers by lower-case name, which is how adapters read them.

    Straight from the WSGI environ: ``request.headers`` would first build a case-insensitive
    copy of all of it, to be copied and lower-cased again (12 µs against 3 per webhook,
    bench/README.md "Carrier webhooks").
    """
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in meta.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if key in meta:
            headers[key.replace("_", "-").lower()] = meta[key]
    return headers


def _answer(status: int, payload: dict[str, str]) -> HttpResponse:
    # Plain json.dumps: the payload is a few strings (JsonResponse sets up Django's encoder).
    return HttpResponse(json.dumps(payload), status=status, content_type="application/json")


def _body(request: HttpRequest, limit: int) -> bytes | HttpResponse:
    """The raw body, or the 413 for one over ``limit`` (told by its length when it says)."""
    length = request.META.get("CONTENT_LENGTH", "")
    if not (length.isdecimal() and int(length) > limit):
        body = request.body
        if len(body) <= limit:
            return body
    return _answer(413, {"code": "too_large", "detail": f"body over {limit // 1024} KB"})


def _receipt(receipt: Any) -> HttpResponse:
    payload = {"code": receipt.code}
    if receipt.detail:
        payload["detail"] = receipt.detail
    return _answer(receipt.http_status, payload)


@csrf_exempt  # signed by the carrier instead: verify_webhook checks every delivery
@require_POST
def carrier_webhook(request: HttpRequest, public_id: str) -> HttpResponse:
    body = _body(request, MAX_BODY)
    if isinstance(body, HttpResponse):
        return body
    return _receipt(
        receive_carrier_webhook(public_id=public_id, headers=_headers(request.META), body=body)
    )


@csrf_exempt  # signed by the gateway instead: verify_webhook checks every delivery
@require_POST
def payment_webhook(request: HttpRequest, public_id: str) -> HttpResponse:
    """A payment gateway's event (a paid payment link): 202 stored, 200 a repeat, 401 a bad
    signature, 400 an unreadable body, 404 an unknown account; nothing stored unless 202."""
    body = _body(request, MAX_BODY)
    if isinstance(body, HttpResponse):
        return body
    return _receipt(
        receive_gateway_webhook(public_id=public_id, headers=_headers(request.META), body=body)
    )


@csrf_exempt  # signed by the store instead: the connector checks every delivery
@require_POST
def store_webhook(request: HttpRequest, public_id: str) -> HttpResponse:
    """A store's order event (Shopify, WooCommerce, Zid, Salla; Magento from the store's own
    module): 202 stored, 200 a repeat, 401 a bad signature, 400 an unreadable body, 404 an
    unknown connection; nothing stored unless 202."""
    # An order with many lines is larger than a tracking event: 1 MB.
    body = _body(request, 4 * MAX_BODY)
    if isinstance(body, HttpResponse):
        return body
    return _receipt(
        receive_store_webhook(
            public_id=public_id,
            headers=_headers(request.META),
            body=body,
            query={key: request.GET.get(key, "") for key in ("token",)},
        )
    )
