"""HTTP for payment gateway adapters: the shared client (``awda.core.http``) raising
GatewayError, with each gateway's refusals read in the gateway's own words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from awda.core.http import DEFAULT_TIMEOUT, RETRY_STATUSES, RemoteHttp
from awda.payments.gateways.base import GatewayError

__all__ = ["DEFAULT_TIMEOUT", "REFUSAL_STATUSES", "RETRY_STATUSES", "GatewayHttp"]

# 4xx answers that are the gateway saying no (not "try again"): handed to the adapter's
# ``refusal`` reader so the error carries the gateway's own code (``charge_already_refunded``,
# ``amount_too_large``) rather than a bare ``http_400``.
REFUSAL_STATUSES = tuple(s for s in range(400, 500) if s not in RETRY_STATUSES)

Refusal = Callable[[httpx.Response], GatewayError]


class GatewayHttp(RemoteHttp):
    """Timeouts, retries with backoff and idempotency keys; failures are GatewayErrors."""

    def __init__(
        self,
        *,
        base_url: str,
        gateway: str,
        refusal: Refusal | None = None,
        **options: Any,
    ) -> None:
        super().__init__(base_url=base_url, carrier=gateway, error=GatewayError, **options)
        self._refusal = refusal

    def request(
        self,
        method: str,
        url: str,
        *,
        expect: tuple[int, ...] = (200, 201, 202, 204),
        **kwargs: Any,
    ) -> httpx.Response:
        if self._refusal is None:
            return super().request(method, url, expect=expect, **kwargs)
        # A refusal is final for this call either way, so it is taken as an answer (never
        # retried) and worded by the adapter; 429 and 5xx keep the shared retry handling.
        response = super().request(method, url, expect=(*expect, *REFUSAL_STATUSES), **kwargs)
        if response.status_code not in expect:
            raise self._refusal(response)
        return response
