from __future__ import annotations

from collections.abc import Iterator

import pytest

from awda.payments.gateways import sandbox as sandbox_gateway


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:  # type: ignore[no-untyped-def]
    # Users are created in most tests here; the real hasher only costs time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_sandbox() -> Iterator[None]:
    sandbox_gateway.reset_sandbox()
    yield
    sandbox_gateway.reset_sandbox()
