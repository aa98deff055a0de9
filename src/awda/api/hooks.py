"""Inbound webhooks from carriers: a plain view, since a carrier posts its own format and
needs only a status code back, fast (a carrier retries, or disables the hook, when slow)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from awda.shipping.services import receive_carrier_webhook

# A tracking event is a few KB; anything far larger is not one of ours.
MAX_BODY = 256 * 1024


@csrf_exempt  # signed by the carrier instead: verify_webhook checks every delivery
@require_POST
def carrier_webhook(request: HttpRequest, public_id: str) -> JsonResponse:
    length = request.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        return JsonResponse({"code": "too_large", "detail": "body over 256 KB"}, status=413)
    body = request.body
    if len(body) > MAX_BODY:
        return JsonResponse({"code": "too_large", "detail": "body over 256 KB"}, status=413)
    receipt = receive_carrier_webhook(public_id=public_id, headers=dict(request.headers), body=body)
    payload = {"code": receipt.code}
    if receipt.detail:
        payload["detail"] = receipt.detail
    return JsonResponse(payload, status=receipt.http_status)
