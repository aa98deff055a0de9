"""Payment gateway adapters by code, each in its own module, imported when first used."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from awda.payments.gateways.base import Gateway

ADAPTERS: Mapping[str, str] = {
    "sandbox": "awda.payments.gateways.sandbox:SandboxGateway",
    "stripe": "awda.payments.gateways.stripe:StripeGateway",
    "tap": "awda.payments.gateways.tap:TapGateway",
    "moyasar": "awda.payments.gateways.moyasar:MoyasarGateway",
}


class UnknownGateway(LookupError):
    pass


def gateway_class(code: str) -> type[Any]:
    try:
        module, name = ADAPTERS[code].split(":")
    except KeyError:
        raise UnknownGateway(code) from None
    cls: type[Any] = getattr(importlib.import_module(module), name)
    return cls


def build_gateway(code: str, settings: Mapping[str, str], **options: Any) -> Gateway:
    """An adapter for ``code`` configured with an account's decrypted ``settings``."""
    gateway: Gateway = gateway_class(code)(settings, **options)
    return gateway
