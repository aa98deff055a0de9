"""HTTP for carrier adapters: the shared client (``awda.core.http``) raising CarrierError."""

from __future__ import annotations

from typing import Any

from awda.core.http import DEFAULT_TIMEOUT, RETRY_STATUSES, RemoteHttp
from awda.shipping.carriers.base import CarrierError

__all__ = ["DEFAULT_TIMEOUT", "RETRY_STATUSES", "CarrierHttp"]


class CarrierHttp(RemoteHttp):
    """Timeouts, retries with backoff and idempotency keys; failures are CarrierErrors."""

    def __init__(self, *, base_url: str, carrier: str, **options: Any) -> None:
        super().__init__(base_url=base_url, carrier=carrier, error=CarrierError, **options)
