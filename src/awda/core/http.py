"""HTTP to other companies' servers (carriers, payment gateways, stores): timeouts,
retries with backoff, idempotency keys, written once.

A call that may have reached the server is retried only when it is safe (a GET, or a write
that carries an idempotency key the server honours); 429 and 5xx answers and network errors
are retried with exponential backoff and jitter, honouring ``Retry-After``; what still fails
after the last attempt becomes the caller's error type (``error``), carrying the server's
own words, a code and whether a later retry may help.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class RemoteError(Protocol):
    def __call__(self, message: str, *, code: str, retryable: bool) -> Exception: ...


class RemoteHttp:
    """A small httpx wrapper one adapter instance owns (one connection pool)."""

    def __init__(
        self,
        *,
        base_url: str,
        carrier: str,
        error: RemoteError,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        attempts: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.carrier = carrier  # the server's name, for messages
        self.error = error
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self.client = httpx.Client(
            base_url=base_url,
            headers={"User-Agent": "Awda returns", **(headers or {})},
            auth=auth,
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        idempotency_key: str = "",
        idempotency_header: str = "Idempotency-Key",
        retry_writes: bool | None = None,
        expect: tuple[int, ...] = (200, 201, 202, 204),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send, retrying what is safe to retry; raise ``error`` on a final failure.

        Writes (anything but GET/HEAD) are retried only with an idempotency key, unless the
        adapter says the call is safe to repeat (``retry_writes``), e.g. a cancel.
        """
        headers = dict(kwargs.pop("headers", None) or {})
        if idempotency_key:
            headers[idempotency_header] = idempotency_key
        safe = method.upper() in {"GET", "HEAD"} or bool(idempotency_key)
        if retry_writes is not None:
            safe = retry_writes
        attempts = self.attempts if safe else 1
        last: Exception | None = None
        for attempt in range(attempts):
            if attempt:
                self._sleep(self._delay(attempt, last))
            try:
                response = self.client.request(method, url, headers=headers, **kwargs)
            except httpx.TimeoutException as exc:
                last = exc
                continue
            except httpx.TransportError as exc:
                last = exc
                continue
            if response.status_code in expect:
                return response
            if response.status_code in RETRY_STATUSES:
                last = _StatusError(response)
                continue
            raise self.error(
                _carrier_words(response), code=f"http_{response.status_code}", retryable=False
            )
        if isinstance(last, _StatusError):
            raise self.error(
                _carrier_words(last.response),
                code=f"http_{last.response.status_code}",
                retryable=True,
            )
        raise self.error(
            f"{self.carrier} did not answer: {type(last).__name__}: {last}",
            code="unreachable",
            retryable=True,
        )

    def _delay(self, attempt: int, last: Exception | None) -> float:
        if isinstance(last, _StatusError):
            retry_after = last.response.headers.get("retry-after", "")
            if retry_after.isdigit():
                return min(float(retry_after), self.max_backoff)
        base = min(self.backoff * (2 ** (attempt - 1)), self.max_backoff)
        return base / 2 + random.uniform(0, base / 2)  # noqa: S311 (jitter, not security)


class _StatusError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _carrier_words(response: httpx.Response, limit: int = 500) -> str:
    """The carrier's own message, for staff: JSON "message"/"error" fields or the text."""
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:limit]}".strip()
    if isinstance(data, dict):
        for key in ("message", "error", "detail", "Message", "errors"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value
            if value:
                return f"HTTP {response.status_code}: {str(value)[:limit]}"
    return f"HTTP {response.status_code}: {str(data)[:limit]}"
